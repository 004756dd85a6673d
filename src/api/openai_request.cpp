// Reading a POST /v1/chat/completions body into an llm::ChatRequest: every OpenAI request
// feature chatd passes on or translates, checked as OpenAI checks it, each problem a field
// error named as OpenAI names the parameter.

#include "api/openai.hpp"
#include "crypto/encoding.hpp"
#include "llm/embeddings.hpp"
#include "llm/image_type.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace chatd::api {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxTools = 128;  // as OpenAI
constexpr std::size_t kMaxStop = 4;
constexpr std::array<std::string_view, 4> kImageTypes = {"image/png", "image/jpeg", "image/gif", "image/webp"};
constexpr std::array<std::string_view, 5> kReasoningEfforts = {"none", "minimal", "low", "medium", "high"};

// OpenAI's pattern for function and schema names: ^[a-zA-Z0-9_-]{1,64}$.
bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

class Reader {
 public:
  Reader(const json& body, const CompletionLimits& limits, CompletionCall& call)
      : body_(body), limits_(limits), call_(call), request_(call.request) {}

  std::vector<FieldError> read() {
    model();
    messages();
    scalars();
    tools();
    response_format();
    refused_features();
    return std::move(fields_);
  }

 private:
  void bad(std::string field, std::string message) { fields_.push_back({std::move(field), std::move(message)}); }

  // The member `name` when present and not null. Most bodies hold 3 or 4 of the ~30 names
  // the reader asks for: once every member of the body was found, the other lookups are
  // answered without searching the object.
  const json* member(std::string_view name) {
    if (found_count_ == body_.size()) return nullptr;
    auto it = body_.find(name);
    if (it == body_.end()) return nullptr;
    if (std::find(found_.begin(), found_.begin() + found_count_, name) == found_.begin() + found_count_ &&
        found_count_ < found_.size())
      found_[found_count_++] = name;
    return it->is_null() ? nullptr : &*it;
  }

  void model() {
    const json* m = member("model");
    if (m == nullptr || !m->is_string() || m->get_ref<const std::string&>().empty())
      bad("model", "is required (a string)");
    else
      call_.model.id = m->get<std::string>();
  }

  // ---- messages

  void messages() {
    const json* list = member("messages");
    if (list == nullptr || !list->is_array() || list->empty()) {
      bad("messages", "is required (a non-empty list)");
      return;
    }
    const std::size_t errors_before = fields_.size();
    request_.messages.reserve(list->size());
    for (std::size_t i = 0; i < list->size(); ++i) message((*list)[i], "messages[" + std::to_string(i) + "]");
    if (fields_.size() == errors_before) tool_answers();
    if (total_bytes_ > static_cast<std::size_t>(limits_.max_chars) * 4 * 8) bad("messages", "are too long");
  }

  // The member `name` of object `m` when present and not null (one search of `m`).
  static const json* field(const json& m, std::string_view name) {
    auto it = m.find(name);
    return it == m.end() || it->is_null() ? nullptr : &*it;
  }

  void message(const json& m, const std::string& where) {
    const json* role = m.is_object() ? field(m, "role") : nullptr;
    if (role == nullptr || !role->is_string()) {
      bad(where + ".role", "is required");
      return;
    }
    llm::ChatMessage out;
    const std::string& named = role->get_ref<const std::string&>();
    if (named == "developer" || named == "system") {
      out.role = "system";
    } else if (named == "user" || named == "assistant" || named == "tool") {
      out.role = named;
    } else {
      bad(where + ".role", "must be system, developer, user, assistant or tool");
      return;
    }
    const json* tool_calls = field(m, "tool_calls");
    if (const json* content = field(m, "content")) {
      if (!read_content(*content, out, where)) return;
    } else if (out.role != "assistant" || !m.contains("tool_calls")) {
      // Only an assistant calling tools may leave its content out.
      bad(where + ".content", "is required");
      return;
    }
    if (tool_calls != nullptr && out.role == "assistant") {
      if (!read_tool_calls(*tool_calls, out, where + ".tool_calls")) return;
    } else if (tool_calls != nullptr) {
      bad(where + ".tool_calls", "is only allowed in an assistant message");
      return;
    }
    if (out.role == "tool") {
      const json* id = field(m, "tool_call_id");
      if (id == nullptr || !id->is_string() || id->get_ref<const std::string&>().empty()) {
        bad(where + ".tool_call_id", "is required in a tool message (a string)");
        return;
      }
      out.tool_call_id = id->get<std::string>();
    }
    request_.messages.push_back(std::move(out));
  }

  // A string, or a list of parts: text parts anywhere, image_url parts in user messages.
  // `message_at` is the message's path ("messages[2]"): the content's path is built only
  // for a list or an error (most contents are strings, read here without it).
  bool read_content(const json& content, llm::ChatMessage& out, const std::string& message_at) {
    if (content.is_string()) {
      out.content = content.get<std::string>();
      total_bytes_ += out.content.size();
      return true;
    }
    const std::string where = message_at + ".content";
    if (!content.is_array()) {
      bad(where, "must be a string or a list of content parts");
      return false;
    }
    std::vector<llm::ContentPart> parts;
    bool images = false;
    for (std::size_t i = 0; i < content.size(); ++i) {
      const json& part = content[i];
      const std::string at = where + "[" + std::to_string(i) + "]";
      const std::string type = part.is_object() && part.contains("type") && part["type"].is_string()
                                   ? part["type"].get<std::string>()
                                   : std::string();
      if (type == "text" && part.contains("text") && part["text"].is_string()) {
        llm::ContentPart text;
        text.text = part["text"].get<std::string>();
        total_bytes_ += text.text.size();
        out.content += text.text;
        parts.push_back(std::move(text));
      } else if (type == "text") {
        bad(at + ".text", "is required (a string)");
        return false;
      } else if (type == "refusal" && out.role == "assistant" && part.contains("refusal") &&
                 part["refusal"].is_string()) {
        llm::ContentPart text;
        text.text = part["refusal"].get<std::string>();
        out.content += text.text;
        parts.push_back(std::move(text));
      } else if (type == "image_url") {
        if (out.role != "user") {
          bad(at, "image parts are only allowed in user messages");
          return false;
        }
        auto image = read_image(part, at + ".image_url");
        if (!image) return false;
        llm::ContentPart p;
        p.image = std::move(*image);
        parts.push_back(std::move(p));
        images = true;
      } else {
        bad(at + ".type",
            type.empty() ? "is required" : "'" + type + "' parts are not supported (text and image_url are)");
        return false;
      }
    }
    if (images) out.parts = std::move(parts);
    return true;
  }

  std::optional<llm::Image> read_image(const json& part, const std::string& where) {
    const json* spec = part.contains("image_url") ? &part["image_url"] : nullptr;
    std::string url;
    llm::Image image;
    if (spec != nullptr && spec->is_string()) {
      url = spec->get<std::string>();
    } else if (spec != nullptr && spec->is_object() && spec->contains("url") && (*spec)["url"].is_string()) {
      url = (*spec)["url"].get<std::string>();
      if (spec->contains("detail") && !(*spec)["detail"].is_null()) {
        const json& detail = (*spec)["detail"];
        if (!detail.is_string() || (detail != "auto" && detail != "low" && detail != "high")) {
          bad(where + ".detail", "must be auto, low or high");
          return std::nullopt;
        }
        image.detail = detail.get<std::string>();
      }
    } else {
      bad(where + ".url", "is required (a data: URL or an https URL)");
      return std::nullopt;
    }
    if (url.rfind("https://", 0) == 0) {
      if (url.size() > 8192) {
        bad(where + ".url", "is too long");
        return std::nullopt;
      }
      image.url = std::move(url);
      return image;
    }
    // data:<media type>;base64,<data>
    constexpr std::string_view kData = "data:";
    const std::size_t comma = url.find(',');
    const std::size_t marker = url.rfind(";base64", comma);
    if (url.rfind(kData, 0) != 0 || comma == std::string::npos || marker == std::string::npos || marker + 7 != comma) {
      bad(where + ".url", "must be a data: URL with base64 data or an https URL");
      return std::nullopt;
    }
    std::string media_type = url.substr(kData.size(), marker - kData.size());
    std::transform(media_type.begin(), media_type.end(), media_type.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    if (media_type == "image/jpg") media_type = "image/jpeg";
    if (std::find(kImageTypes.begin(), kImageTypes.end(), media_type) == kImageTypes.end()) {
      bad(where + ".url", "must be a PNG, JPEG, GIF or WebP image");
      return std::nullopt;
    }
    const std::string_view data = std::string_view(url).substr(comma + 1);
    if (data.size() / 4 * 3 > static_cast<std::size_t>(limits_.max_image_bytes) + 3) {
      bad(where + ".url",
          "is larger than CHATD_MAX_IMAGE_BYTES (" + std::to_string(limits_.max_image_bytes) + " bytes)");
      return std::nullopt;
    }
    auto bytes = crypto::base64_decode(data);
    if (!bytes || bytes->empty()) {
      bad(where + ".url", "holds no valid base64 data");
      return std::nullopt;
    }
    if (bytes->size() > static_cast<std::size_t>(limits_.max_image_bytes)) {
      bad(where + ".url",
          "is larger than CHATD_MAX_IMAGE_BYTES (" + std::to_string(limits_.max_image_bytes) + " bytes)");
      return std::nullopt;
    }
    image.data.assign(bytes->begin(), bytes->end());
    // The type the bytes show, whatever the URL said: a provider refuses an image whose type
    // does not match its bytes (or is none of the four), and the client should hear it here.
    const std::string_view shown = llm::image_type_of(image.data);
    if (shown.empty()) {
      bad(where + ".url", "must be a PNG, JPEG, GIF or WebP image (its bytes are none of these)");
      return std::nullopt;
    }
    image.media_type = std::string(shown);
    return image;
  }

  bool read_tool_calls(const json& calls, llm::ChatMessage& out, const std::string& where) {
    if (!calls.is_array()) {
      bad(where, "must be a list");
      return false;
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
      const json& c = calls[i];
      const std::string at = where + "[" + std::to_string(i) + "]";
      if (!c.is_object() || !c.contains("id") || !c["id"].is_string() ||
          c["id"].get_ref<const std::string&>().empty()) {
        bad(at + ".id", "is required (a string)");
        return false;
      }
      if (c.contains("type") && c["type"] != "function") {
        bad(at + ".type", "must be function");
        return false;
      }
      const json* f = c.contains("function") && c["function"].is_object() ? &c["function"] : nullptr;
      if (f == nullptr || !f->contains("name") || !(*f)["name"].is_string()) {
        bad(at + ".function.name", "is required (a string)");
        return false;
      }
      if (!f->contains("arguments") || !(*f)["arguments"].is_string()) {
        bad(at + ".function.arguments", "is required (a string of JSON)");
        return false;
      }
      llm::ToolCall call{c["id"].get<std::string>(), (*f)["name"].get<std::string>(),
                         (*f)["arguments"].get<std::string>()};
      total_bytes_ += call.arguments.size();
      out.tool_calls.push_back(std::move(call));
    }
    return true;
  }

  // As OpenAI requires: an assistant's tool calls are answered by tool messages right after
  // it, one per call id, before any other message; a tool message answers such a call.
  void tool_answers() {
    std::set<std::string> open;  // ids of the last assistant's calls not answered yet
    bool answering = false;      // inside the run of tool messages after an assistant's calls
    for (std::size_t i = 0; i < request_.messages.size(); ++i) {
      const llm::ChatMessage& m = request_.messages[i];
      const std::string where = "messages[" + std::to_string(i) + "]";
      if (m.role == "tool") {
        if (!answering || open.erase(m.tool_call_id) == 0) {
          bad(where + ".tool_call_id", "must answer a tool call of the assistant message before it");
          return;
        }
        continue;
      }
      if (!open.empty()) {
        bad(where, "an assistant message with tool_calls must be followed by a tool message for each call id (" +
                       *open.begin() + " has none)");
        return;
      }
      answering = m.role == "assistant" && !m.tool_calls.empty();
      for (const auto& call : m.tool_calls) open.insert(call.id);
    }
    if (!open.empty())
      bad("messages",
          "the last assistant message's tool calls need tool messages answering them (" + *open.begin() + " has none)");
  }

  // ---- sampling and limits

  void scalars() {
    if (const json* s = member("stream")) {
      if (!s->is_boolean())
        bad("stream", "must be a boolean");
      else
        request_.stream = s->get<bool>();
    } else {
      request_.stream = false;
    }
    if (const json* o = member("stream_options"); o != nullptr && o->is_object())
      call_.include_usage = o->value("include_usage", false);
    for (const char* name : {"max_tokens", "max_completion_tokens"}) {
      const json* v = member(name);
      if (v == nullptr) continue;
      if (!v->is_number_integer() || v->get<std::int64_t>() < 1 || v->get<std::int64_t>() > 10000000) {
        bad(name, "must be a positive integer");
      } else {
        request_.max_tokens = v->get<std::int64_t>();
        request_.max_tokens_named_completion = std::string_view(name) == "max_completion_tokens";
      }
    }
    number("temperature", 0, 2, request_.temperature);
    number("top_p", 0, 1, request_.top_p);
    number("presence_penalty", -2, 2, request_.presence_penalty);
    number("frequency_penalty", -2, 2, request_.frequency_penalty);
    if (const json* seed = member("seed")) {
      if (!seed->is_number_integer())
        bad("seed", "must be an integer");
      else
        request_.seed = seed->get<std::int64_t>();
    }
    if (const json* stop = member("stop")) {
      if (stop->is_string()) {
        request_.stop.push_back(stop->get<std::string>());
      } else if (stop->is_array() && stop->size() <= kMaxStop &&
                 std::all_of(stop->begin(), stop->end(), [](const json& s) { return s.is_string(); })) {
        for (const auto& s : *stop) request_.stop.push_back(s.get<std::string>());
      } else {
        bad("stop", "must be a string or a list of up to 4 strings");
      }
    }
    if (const json* bias = member("logit_bias")) {
      const bool valid = bias->is_object() && std::all_of(bias->begin(), bias->end(), [](const json& v) {
                           return v.is_number() && v.get<double>() >= -100 && v.get<double>() <= 100;
                         });
      if (!valid)
        bad("logit_bias", "must map token ids to numbers from -100 to 100");
      else if (!bias->empty())
        request_.logit_bias = compact(*bias);
    }
    if (const json* user = member("user")) {
      if (!user->is_string() || user->get_ref<const std::string&>().size() > 256)
        bad("user", "must be a string of at most 256 characters");
      else
        request_.user = user->get<std::string>();
    }
    if (const json* effort = member("reasoning_effort")) {
      if (!effort->is_string() || std::find(kReasoningEfforts.begin(), kReasoningEfforts.end(),
                                            effort->get_ref<const std::string&>()) == kReasoningEfforts.end())
        bad("reasoning_effort", "must be none, minimal, low, medium or high");
      else
        request_.reasoning_effort = effort->get<std::string>();
    }
    if (const json* n = member("n"); n != nullptr && !(n->is_number_integer() && n->get<std::int64_t>() == 1))
      bad("n", "only n=1 is supported");
  }

  void number(const char* name, double low, double high, std::optional<double>& to) {
    const json* v = member(name);
    if (v == nullptr) return;
    if (!v->is_number() || v->get<double>() < low || v->get<double>() > high) {
      std::string range = std::to_string(static_cast<int>(low)) + " to " + std::to_string(static_cast<int>(high));
      bad(name, "must be a number from " + range);
      return;
    }
    to = v->get<double>();
  }

  // ---- tools

  void tools() {
    if (const json* list = member("tools")) {
      if (!list->is_array() || list->size() > kMaxTools) {
        bad("tools", "must be a list of at most 128 function tools");
      } else {
        for (std::size_t i = 0; i < list->size(); ++i) tool((*list)[i], "tools[" + std::to_string(i) + "]");
      }
    }
    if (const json* choice = member("tool_choice")) tool_choice(*choice);
    if (const json* parallel = member("parallel_tool_calls")) {
      if (!parallel->is_boolean())
        bad("parallel_tool_calls", "must be a boolean");
      else
        request_.parallel_tool_calls = parallel->get<bool>();
    }
  }

  void tool(const json& t, const std::string& where) {
    if (!t.is_object() || !t.contains("type") || t["type"] != "function") {
      bad(where + ".type", "must be function");
      return;
    }
    const json* f = t.contains("function") && t["function"].is_object() ? &t["function"] : nullptr;
    if (f == nullptr || !f->contains("name") || !(*f)["name"].is_string() ||
        !valid_name((*f)["name"].get<std::string>())) {
      bad(where + ".function.name", "is required: 1 to 64 letters, digits, '_' or '-'");
      return;
    }
    llm::ToolDef def;
    def.name = (*f)["name"].get<std::string>();
    for (const auto& other : request_.tools) {
      if (other.name == def.name) {
        bad(where + ".function.name", "names another tool's function again");
        return;
      }
    }
    if (f->contains("description") && !(*f)["description"].is_null()) {
      if (!(*f)["description"].is_string()) {
        bad(where + ".function.description", "must be a string");
        return;
      }
      def.description = (*f)["description"].get<std::string>();
    }
    if (f->contains("parameters") && !(*f)["parameters"].is_null()) {
      if (!(*f)["parameters"].is_object()) {
        bad(where + ".function.parameters", "must be a JSON Schema object");
        return;
      }
      def.parameters = compact((*f)["parameters"]);
    }
    if (f->contains("strict") && !(*f)["strict"].is_null()) {
      if (!(*f)["strict"].is_boolean()) {
        bad(where + ".function.strict", "must be a boolean");
        return;
      }
      def.strict = (*f)["strict"].get<bool>();
    }
    total_bytes_ += def.parameters.size() + def.description.size();
    request_.tools.push_back(std::move(def));
  }

  void tool_choice(const json& choice) {
    using Mode = llm::ToolChoice::Mode;
    llm::ToolChoice& to = request_.tool_choice;
    if (choice == "auto") {
      to.mode = Mode::automatic;
    } else if (choice == "none") {
      to.mode = Mode::none;
    } else if (choice == "required") {
      to.mode = Mode::required;
    } else if (choice.is_object() && choice.value("type", "") == "function" && choice.contains("function") &&
               choice["function"].is_object() && choice["function"].contains("name") &&
               choice["function"]["name"].is_string()) {
      to.mode = Mode::function;
      to.name = choice["function"]["name"].get<std::string>();
      const bool known = std::any_of(request_.tools.begin(), request_.tools.end(),
                                     [&](const llm::ToolDef& t) { return t.name == to.name; });
      if (!known) bad("tool_choice", "names a function that is not among the tools");
    } else {
      bad("tool_choice", "must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}");
      return;
    }
    if ((to.mode == Mode::required || to.mode == Mode::function) && request_.tools.empty())
      bad("tool_choice", "is only allowed when tools are given");
  }

  // ---- response format

  void response_format() {
    const json* f = member("response_format");
    if (f == nullptr) return;
    using Kind = llm::ResponseFormat::Kind;
    llm::ResponseFormat& to = request_.response_format;
    const std::string type = f->is_object() && f->contains("type") && (*f)["type"].is_string()
                                 ? (*f)["type"].get<std::string>()
                                 : std::string();
    if (type == "text") {
      to.kind = Kind::text;
    } else if (type == "json_object") {
      to.kind = Kind::json_object;
    } else if (type == "json_schema") {
      to.kind = Kind::json_schema;
      const json* s = f->contains("json_schema") && (*f)["json_schema"].is_object() ? &(*f)["json_schema"] : nullptr;
      if (s == nullptr) {
        bad("response_format.json_schema", "is required with type json_schema");
        return;
      }
      if (!s->contains("name") || !(*s)["name"].is_string() || !valid_name((*s)["name"].get<std::string>())) {
        bad("response_format.json_schema.name", "is required: 1 to 64 letters, digits, '_' or '-'");
        return;
      }
      to.name = (*s)["name"].get<std::string>();
      if (s->contains("description") && (*s)["description"].is_string())
        to.description = (*s)["description"].get<std::string>();
      if (s->contains("schema") && !(*s)["schema"].is_null()) {
        if (!(*s)["schema"].is_object()) {
          bad("response_format.json_schema.schema", "must be a JSON Schema object");
          return;
        }
        to.schema = compact((*s)["schema"]);
      }
      if (s->contains("strict") && !(*s)["strict"].is_null()) {
        if (!(*s)["strict"].is_boolean()) {
          bad("response_format.json_schema.strict", "must be a boolean");
          return;
        }
        to.strict = (*s)["strict"].get<bool>();
      }
    } else {
      bad("response_format.type", "must be text, json_object or json_schema");
    }
  }

  // OpenAI features chatd does not offer: refused by name rather than dropped unseen.
  void refused_features() {
    if (const json* v = member("logprobs"); v != nullptr && *v != false) bad("logprobs", "is not supported");
    for (const char* name : {"top_logprobs", "audio", "prediction", "functions", "function_call", "web_search_options"})
      if (member(name) != nullptr) bad(name, "is not supported");
    if (const json* v = member("modalities"); v != nullptr && *v != json::array({"text"}))
      bad("modalities", "only [\"text\"] is supported");
  }

  const json& body_;
  const CompletionLimits& limits_;
  CompletionCall& call_;
  llm::ChatRequest& request_;
  std::vector<FieldError> fields_;
  std::size_t total_bytes_ = 0;
  std::array<std::string_view, 32> found_{};  // the names member() found, each once
  std::size_t found_count_ = 0;
};

}  // namespace

Result<EmbeddingCall> read_embedding_request(const json& body, const CompletionLimits& limits) {
  if (!body.is_object()) return Error::validation({{"body", "must be a JSON object"}});
  EmbeddingCall call;
  std::vector<FieldError> fields;
  auto member = [&](const char* name) -> const json* {
    auto it = body.find(name);
    return it == body.end() || it->is_null() ? nullptr : &*it;
  };
  const json* model = member("model");
  if (model == nullptr || !model->is_string() || model->get_ref<const std::string&>().empty())
    fields.push_back({"model", "is required (a string)"});
  else
    call.request.model = model->get<std::string>();
  const json* input = member("input");
  const auto is_token = [](const json& t) { return t.is_number_integer() && t.get<std::int64_t>() >= 0; };
  const auto token_list = [&](const json& l) {
    return l.is_array() && !l.empty() && std::all_of(l.begin(), l.end(), is_token);
  };
  std::size_t bytes = 0;
  if (input != nullptr && input->is_string()) {
    call.request.texts.push_back(input->get<std::string>());
  } else if (input != nullptr && input->is_array() && !input->empty() && input->size() <= llm::kMaxEmbeddingInputs) {
    if (std::all_of(input->begin(), input->end(), [](const json& t) { return t.is_string(); })) {
      for (const auto& t : *input) call.request.texts.push_back(t.get<std::string>());
    } else if (token_list(*input)) {
      call.request.tokens.push_back(input->get<std::vector<std::int64_t>>());
    } else if (std::all_of(input->begin(), input->end(), token_list)) {
      for (const auto& l : *input) call.request.tokens.push_back(l.get<std::vector<std::int64_t>>());
    }
  }
  for (const auto& t : call.request.texts) bytes += t.size();
  for (const auto& l : call.request.tokens) bytes += l.size() * 4;
  const bool blank =
      std::any_of(call.request.texts.begin(), call.request.texts.end(), [](const std::string& t) { return t.empty(); });
  if (call.request.texts.empty() && call.request.tokens.empty())
    fields.push_back({"input", "is required: a string, a list of up to 2048 strings, or token ids"});
  else if (blank)
    fields.push_back({"input", "must not hold an empty string"});
  else if (bytes > static_cast<std::size_t>(limits.max_chars) * 4 * 8)
    fields.push_back({"input", "is too long"});
  if (const json* d = member("dimensions")) {
    if (!d->is_number_integer() || d->get<std::int64_t>() < 1 || d->get<std::int64_t>() > 65536)
      fields.push_back({"dimensions", "must be a positive integer"});
    else
      call.request.dimensions = d->get<std::int64_t>();
  }
  if (const json* f = member("encoding_format")) {
    if (*f == "base64")
      call.base64 = true;
    else if (*f != "float")
      fields.push_back({"encoding_format", "must be float or base64"});
  }
  if (const json* user = member("user")) {
    if (!user->is_string() || user->get_ref<const std::string&>().size() > 256)
      fields.push_back({"user", "must be a string of at most 256 characters"});
    else
      call.request.user = user->get<std::string>();
  }
  if (!fields.empty()) return Error::validation(std::move(fields));
  return call;
}

Result<CompletionCall> read_completion_request(const json& body, const CompletionLimits& limits) {
  CompletionCall call;
  if (!body.is_object()) return Error::validation({{"body", "must be a JSON object"}});
  std::vector<FieldError> fields = Reader(body, limits, call).read();
  if (!fields.empty()) return Error::validation(std::move(fields));
  return call;
}

}  // namespace chatd::api
