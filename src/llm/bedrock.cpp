#include "llm/bedrock.hpp"

#include "config/url.hpp"
#include "core/time.hpp"
#include "crypto/encoding.hpp"
#include "llm/embeddings.hpp"
#include "llm/eventstream.hpp"
#include "llm/exchange.hpp"
#include "llm/provider_util.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <map>
#include <optional>
#include <utility>

namespace chatd::llm {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxEventBytes = 1 << 20;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// ConverseStream exceptions that say "try again" rather than "this request is wrong".
bool transient_exception(std::string_view type) {
  return type == "throttlingException" || type == "internalServerException" || type == "modelStreamErrorException" ||
         type == "serviceUnavailableException" || type == "modelNotReadyException";
}

// Converse's usage into a StreamProgress or WholeAnswer. inputTokens counts only the prompt
// tokens that were neither read from nor written to the cache: the prompt is the sum of the three.
template <class Counts>
void read_usage(const json& holder, Counts& counts) {
  const json* usage = json_member(holder, "usage");
  if (usage == nullptr) return;
  const auto cache_read = json_tokens(*usage, "cacheReadInputTokens");
  if (auto in = json_tokens(*usage, "inputTokens")) {
    counts.prompt_tokens =
        token_count(*in + cache_read.value_or(0) + json_tokens(*usage, "cacheWriteInputTokens").value_or(0));
  }
  if (auto out = json_int(*usage, "outputTokens")) counts.completion_tokens = *out;
  if (cache_read) counts.cached_tokens = *cache_read;
}

// A JSON-mode answer is the forced tool's call: it ended as a text answer would have.
std::string finish_reason(std::string_view stop_reason, bool json_answer) {
  if (json_answer && stop_reason == "tool_use") return "stop";
  return map_stop_reason(stop_reason);
}

class BedrockStreamDecoder final : public StreamDecoder {
 public:
  explicit BedrockStreamDecoder(bool json_answer) : json_answer_(json_answer) {}

  void feed(std::string_view chunk, StreamProgress& progress) override {
    messages_.clear();
    auto fed = decoder_.feed(chunk, messages_);
    for (const auto& message : messages_) {
      if (progress.failure) break;
      handle(message, progress);
    }
    if (!fed && !progress.failure) progress.failure = StreamFailure{fed.error().detail, false};
  }

  void finish(StreamProgress& progress) override {
    auto done = decoder_.finish();
    if (!done && !progress.failure) progress.failure = StreamFailure{done.error().detail, false};
  }

 private:
  // A toolUse content block of the answer.
  struct ToolBlock {
    std::size_t call = 0;    // the call's number in the answer: 0, 1, 2, ... in the order they start
    bool has_input = false;  // some of its input arrived
    bool stopped = false;    // its contentBlockStop arrived
  };

  static void fail(StreamProgress& progress, std::string what) {
    progress.failure = StreamFailure{std::move(what), false};
  }

  // Events after messageStop are still read: the usage metadata comes last.
  void handle(const EventStreamMessage& message, StreamProgress& progress) {
    const std::string kind = message.header_string(":message-type").value_or("event");
    if (kind == "exception") {
      const std::string type = message.header_string(":exception-type").value_or("exception");
      const json payload = json::parse(message.payload, nullptr, /*allow_exceptions=*/false);
      std::string text = json_string(payload, "message").value_or(excerpt(message.payload, 200));
      progress.failure = StreamFailure{type + ": " + text, transient_exception(type)};
      return;
    }
    if (kind == "error") {
      progress.failure = StreamFailure{message.header_string(":error-code").value_or("error") + ": " +
                                           message.header_string(":error-message").value_or(""),
                                       false};
      return;
    }
    const std::string type = message.header_string(":event-type").value_or("");
    if (type != "contentBlockStart" && type != "contentBlockDelta" && type != "contentBlockStop" &&
        type != "messageStop" && type != "metadata") {
      return;
    }
    const json payload = json::parse(message.payload, nullptr, /*allow_exceptions=*/false);
    if (payload.is_discarded() || !payload.is_object()) {
      fail(progress, type + " event with a malformed payload: " + excerpt(message.payload, 200));
      return;
    }
    if (type == "contentBlockStart") {
      start_block(payload, progress);
    } else if (type == "contentBlockDelta") {
      add_delta(payload, progress);
    } else if (type == "contentBlockStop") {
      if (auto index = json_int(payload, "contentBlockIndex")) {
        if (auto it = tools_.find(*index); it != tools_.end()) stop_tool(it->second, progress);
      }
    } else if (type == "messageStop") {
      for (auto& entry : tools_) stop_tool(entry.second, progress);
      const std::string reason = json_string(payload, "stopReason").value_or("");
      // A model that wrote text instead of calling the forced tool: that text is all there is.
      if (json_answer_ && tools_.empty() && !held_text_.empty()) progress.deltas.push_back(std::move(held_text_));
      progress.finish_reason = finish_reason(reason, json_answer_);
      progress.finished = true;
    } else {
      read_usage(payload, progress);
    }
  }

  // contentBlockStart: only toolUse blocks start with one (text blocks begin with their first delta).
  void start_block(const json& payload, StreamProgress& progress) {
    const json* start = json_member(payload, "start");
    const json* use = start != nullptr ? json_member(*start, "toolUse") : nullptr;
    if (use == nullptr) return;  // another kind of block (an image, a server tool's result)
    const auto index = json_int(payload, "contentBlockIndex");
    auto id = json_string(*use, "toolUseId");
    auto name = json_string(*use, "name");
    if (!index || *index < 0 || !id || id->empty() || !name || name->empty()) {
      return fail(progress, "contentBlockStart toolUse without contentBlockIndex, toolUseId or name: " +
                                excerpt(dump(payload), 200));
    }
    if (tools_.contains(*index)) {
      return fail(progress, "a second contentBlockStart for block " + std::to_string(*index));
    }
    if (tools_.size() >= kMaxToolCalls) return fail(progress, "the answer starts too many toolUse blocks");
    const ToolBlock block{tools_.size()};
    tools_.emplace(*index, block);
    if (json_answer_) {
      held_text_.clear();
      return;
    }
    progress.tool_calls.push_back({block.call, std::move(*id), std::move(*name), ""});
  }

  void add_delta(const json& payload, StreamProgress& progress) {
    const json* delta = json_member(payload, "delta");
    if (delta == nullptr) return;
    if (auto text = json_string(*delta, "text")) return add_text(std::move(*text), progress);
    const json* use = json_member(*delta, "toolUse");
    if (use == nullptr) return;  // reasoning, citations, ...: not part of an OpenAI answer
    const auto index = json_int(payload, "contentBlockIndex");
    auto it = index ? tools_.find(*index) : tools_.end();
    auto input = json_string(*use, "input");
    if (it == tools_.end() || it->second.stopped || !input) {
      return fail(progress,
                  "toolUse delta for no started toolUse block, or without input: " + excerpt(dump(payload), 200));
    }
    if (input->empty()) return;
    it->second.has_input = true;
    add_input(it->second, std::move(*input), progress);
  }

  void add_text(std::string text, StreamProgress& progress) {
    if (!json_answer_) {
      progress.deltas.push_back(std::move(text));
      return;
    }
    // Text beside the JSON answer (a preamble) would spoil it: held until it is clear there is none.
    if (!tools_.empty()) return;
    if (held_text_.size() + text.size() > kMaxAnswerBytes) return fail(progress, "the answer's text is too long");
    held_text_ += text;
  }

  void add_input(const ToolBlock& block, std::string input, StreamProgress& progress) {
    if (!json_answer_) {
      progress.tool_calls.push_back({block.call, "", "", std::move(input)});
    } else if (block.call == 0) {  // later calls of the forced tool are not part of the answer
      progress.deltas.push_back(std::move(input));
    }
  }

  // A call without arguments has "{}", as OpenAI writes it.
  void stop_tool(ToolBlock& block, StreamProgress& progress) {
    if (block.stopped) return;
    block.stopped = true;
    if (!block.has_input) add_input(block, "{}", progress);
  }

  bool json_answer_;
  std::map<std::int64_t, ToolBlock> tools_;  // by contentBlockIndex (text blocks take indices too)
  std::string held_text_;                    // json_answer_: text before any toolUse block
  EventStreamDecoder decoder_{kMaxEventBytes};
  std::vector<EventStreamMessage> messages_;
};

Result<WholeAnswer> parse_whole(std::string_view body, bool json_answer) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* output = json_member(doc, "output");
  const json* message = output != nullptr ? json_member(*output, "message") : nullptr;
  const json* content = message != nullptr ? json_member(*message, "content") : nullptr;
  if (content == nullptr || !content->is_array()) {
    Error e = fail(Code::upstream, "Converse answer without output.message.content");
    e.internal = excerpt(body, 200);
    return e;
  }
  WholeAnswer answer;
  std::string text;
  for (const auto& block : *content) {
    if (auto t = json_string(block, "text")) {
      text += *t;
      continue;
    }
    const json* use = json_member(block, "toolUse");
    if (use == nullptr) continue;  // reasoning, citations, ...: not part of an OpenAI answer
    auto id = json_string(*use, "toolUseId");
    auto name = json_string(*use, "name");
    if (!id || id->empty() || !name || name->empty()) {
      Error e = fail(Code::upstream, "Converse answer with a toolUse block without toolUseId or name");
      e.internal = excerpt(dump(*use), 200);
      return e;
    }
    const json* input = json_member(*use, "input");
    std::string arguments = input == nullptr || input->is_null() ? "{}" : dump(*input);
    answer.tool_calls.push_back({std::move(*id), std::move(*name), std::move(arguments)});
  }
  if (json_answer && !answer.tool_calls.empty()) {
    answer.text = std::move(answer.tool_calls.front().arguments);
    answer.tool_calls.clear();
  } else {
    answer.text = std::move(text);
  }
  answer.finish_reason = finish_reason(json_string(doc, "stopReason").value_or(""), json_answer);
  read_usage(doc, answer);
  return answer;
}

}  // namespace

Result<WholeAnswer> bedrock_parse_whole(std::string_view body) { return parse_whole(body, false); }
Result<WholeAnswer> bedrock_parse_whole_json(std::string_view body) { return parse_whole(body, true); }

std::unique_ptr<StreamDecoder> bedrock_stream_decoder() { return std::make_unique<BedrockStreamDecoder>(false); }
std::unique_ptr<StreamDecoder> bedrock_json_stream_decoder() { return std::make_unique<BedrockStreamDecoder>(true); }

namespace {

json text_content(std::string text) {
  json block = json::object();
  block["text"] = std::move(text);
  json content = json::array();
  content.push_back(std::move(block));
  return content;
}

// A request Converse cannot take as it stands, naming the OpenAI request field at fault.
Error refuse(std::string param, std::string detail) {
  Error e = fail(Code::invalid_argument, detail);
  e.fields.push_back({std::move(param), std::move(detail)});
  return e;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; });
}

bool is_ascii_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Converse's ToolName: [a-zA-Z0-9_-]{1,64} (OpenAI's function names follow the same rule).
bool valid_tool_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) { return is_ascii_alnum(c) || c == '_' || c == '-'; });
}

// Converse's RequestMetadataValueString: [a-zA-Z0-9\s:_@$#=/+,-.]{0,256}.
bool valid_metadata_value(std::string_view value) {
  constexpr std::string_view kAllowed = " \t\n\v\f\r:_@$#=/+,-.";
  return value.size() <= 256 && std::all_of(value.begin(), value.end(), [&](char c) {
           return is_ascii_alnum(c) || kAllowed.find(c) != std::string_view::npos;
         });
}

// OpenAI parameters Converse has no model-independent equivalent for. (additionalModelRequestFields
// reaches the model itself, but each model family spells such settings its own way, if at all.)
std::optional<Error> unsupported_parameter(const ChatRequest& request) {
  const auto refuse_named = [](const char* param) {
    return refuse(param, std::string("the Bedrock Converse API has no equivalent of ") + param);
  };
  if (request.seed) return refuse_named("seed");
  if (request.presence_penalty) return refuse_named("presence_penalty");
  if (request.frequency_penalty) return refuse_named("frequency_penalty");
  if (!request.logit_bias.empty()) return refuse_named("logit_bias");
  if (!request.reasoning_effort.empty()) return refuse_named("reasoning_effort");
  return std::nullopt;
}

// A JSON Schema given as text, parsed; nullopt unless it is a JSON object.
std::optional<json> schema_object(const std::string& text) {
  json schema = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded() || !schema.is_object()) return std::nullopt;
  return schema;
}

json tool_spec(const std::string& name, const std::string& description, json schema) {
  json spec = json::object();
  spec["name"] = name;
  if (!description.empty()) spec["description"] = description;  // Converse refuses an empty one
  spec["inputSchema"] = {{"json", std::move(schema)}};
  return {{"toolSpec", std::move(spec)}};
}

// OpenAI's tools and tool_choice as a toolConfig; a null json when none is to be sent.
// `history_has_tools`: the conversation holds toolUse or toolResult blocks, which Converse takes
// only beside a toolConfig.
Result<json> tool_config(const ChatRequest& request, bool history_has_tools) {
  const ToolChoice& choice = request.tool_choice;
  const bool json_mode = bedrock_answers_in_json(request);
  if (json_mode && !request.tools.empty()) {
    return refuse("response_format",
                  "Bedrock answers in JSON through a forced tool call, which cannot be combined with tools");
  }
  if (request.tools.empty() &&
      (choice.mode == ToolChoice::Mode::required || choice.mode == ToolChoice::Mode::function)) {
    return refuse("tool_choice", "tool_choice requires tools");
  }
  json config = json::object();
  json tools = json::array();
  if (json_mode) {
    const ResponseFormat& format = request.response_format;
    json schema = {{"type", "object"}};
    std::string name = "json_answer";
    std::string description = "The answer, as a JSON object.";
    if (format.kind == ResponseFormat::Kind::json_schema) {
      name = format.name;
      description = format.description;
      if (!format.schema.empty()) {
        auto parsed = schema_object(format.schema);
        if (!parsed) return refuse("response_format", "response_format.json_schema.schema is not a JSON object");
        schema = std::move(*parsed);
      }
      if (!valid_tool_name(name)) {
        return refuse("response_format",
                      "response_format.json_schema.name must be 1 to 64 letters, digits, '_' or '-' on Bedrock");
      }
    }
    tools.push_back(tool_spec(name, description, std::move(schema)));
    config["tools"] = std::move(tools);
    config["toolChoice"] = {{"tool", {{"name", name}}}};
    return config;
  }
  if (request.tools.empty()) {
    if (history_has_tools) {
      return refuse("tools", "Bedrock takes a conversation with tool calls only with the tools they used");
    }
    return json();
  }
  if (choice.mode == ToolChoice::Mode::none) {
    // Converse has no "none": a model given no tools calls none. But a conversation that already
    // holds tool calls is refused without a toolConfig.
    if (history_has_tools) {
      return refuse("tool_choice", "Bedrock cannot forbid tool calls in a conversation that already holds tool calls");
    }
    return json();
  }
  if (request.parallel_tool_calls == false) {
    return refuse("parallel_tool_calls", "Bedrock cannot limit an answer to one tool call");
  }
  bool chosen_found = false;
  for (const ToolDef& tool : request.tools) {
    if (!valid_tool_name(tool.name)) {
      return refuse("tools", "tool names must be 1 to 64 letters, digits, '_' or '-' on Bedrock");
    }
    json schema = {{"type", "object"}, {"properties", json::object()}};
    if (!tool.parameters.empty()) {
      auto parsed = schema_object(tool.parameters);
      if (!parsed) return refuse("tools", "the parameters of tool " + tool.name + " are not a JSON object");
      schema = std::move(*parsed);
    }
    // `strict` is not sent: Converse's toolSpec has no such flag.
    tools.push_back(tool_spec(tool.name, tool.description, std::move(schema)));
    chosen_found = chosen_found || tool.name == choice.name;
  }
  config["tools"] = std::move(tools);
  switch (choice.mode) {
    case ToolChoice::Mode::unset:  // Converse's default is auto
    case ToolChoice::Mode::none:   // handled above
      break;
    case ToolChoice::Mode::automatic: config["toolChoice"] = {{"auto", json::object()}}; break;
    case ToolChoice::Mode::required: config["toolChoice"] = {{"any", json::object()}}; break;
    case ToolChoice::Mode::function:
      if (!chosen_found) return refuse("tool_choice", "tool_choice names a function that is not among the tools");
      config["toolChoice"] = {{"tool", {{"name", choice.name}}}};
      break;
  }
  return config;
}

// "png", "jpeg", "gif" or "webp" for the image media types Converse takes; "" for others.
std::string_view image_format(std::string_view media_type) {
  for (const std::string_view format : {"png", "jpeg", "gif", "webp"}) {
    if (media_type.starts_with("image/") && media_type.substr(6) == format) return format;
  }
  return {};
}

// One content block of a turn in Converse's words.
Result<json> content_block(const TurnBlock& block) {
  switch (block.kind) {
    case TurnBlock::Kind::text: return json{{"text", block.text}};
    case TurnBlock::Kind::image: {
      const Image& image = *block.image;
      // chatd fetches https images for Bedrock before the call; one left as a URL is not sendable.
      if (image.data.empty()) return refuse("messages", "Bedrock takes images only as data, not as URLs");
      const std::string_view format = image_format(image.media_type);
      if (format.empty()) return refuse("messages", "Bedrock takes PNG, JPEG, GIF and WebP images only");
      return json{{"image", {{"format", format}, {"source", {{"bytes", crypto::base64_encode(image.data)}}}}}};
    }
    case TurnBlock::Kind::tool_use: {
      const ToolCall& call = *block.call;
      json input = json::object();
      if (!is_blank(call.arguments)) {
        input = json::parse(call.arguments, nullptr, /*allow_exceptions=*/false);
        if (input.is_discarded() || !input.is_object()) {
          return refuse("messages", "the arguments of tool call " + call.id + " are not a JSON object");
        }
      }
      return json{{"toolUse", {{"toolUseId", call.id}, {"name", call.name}, {"input", std::move(input)}}}};
    }
    case TurnBlock::Kind::tool_result: {
      // Converse refuses blank text; an empty JSON object is the documented content that says nothing.
      json content = is_blank(block.text) ? json{{"json", json::object()}} : json{{"text", block.text}};
      return json{{"toolResult", {{"toolUseId", block.tool_call_id}, {"content", json::array({std::move(content)})}}}};
    }
  }
  return refuse("messages", "unknown content block");
}

}  // namespace

bool bedrock_answers_in_json(const ChatRequest& request) {
  return request.response_format.kind == ResponseFormat::Kind::json_object ||
         request.response_format.kind == ResponseFormat::Kind::json_schema;
}

std::string amz_date(std::int64_t epoch_ms) {
  std::string out;
  for (const char c : format_rfc3339(epoch_ms)) {  // "2026-11-22T10:00:00Z"
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

Result<std::string> bedrock_request_body(const ChatRequest& request) {
  if (auto refused = unsupported_parameter(request)) return std::move(*refused);
  AlternatingConversation conversation = to_alternating(request.messages);
  if (conversation.turns.empty()) {
    return fail(Code::invalid_argument, "the conversation has no user message");
  }
  json body = json::object();
  json messages = json::array();
  bool history_has_tools = false;
  for (auto& turn : conversation.turns) {
    json message = json::object();
    message["role"] = turn.role;
    json blocks = json::array();
    for (const auto& block : turn.blocks) {
      auto converted = content_block(block);
      if (!converted) return std::move(converted).error();
      blocks.push_back(std::move(converted).value());
      history_has_tools =
          history_has_tools || block.kind == TurnBlock::Kind::tool_use || block.kind == TurnBlock::Kind::tool_result;
    }
    message["content"] = std::move(blocks);
    messages.push_back(std::move(message));
  }
  body["messages"] = std::move(messages);
  if (!conversation.system.empty()) body["system"] = text_content(std::move(conversation.system));
  json config = json::object();
  if (request.max_tokens) config["maxTokens"] = *request.max_tokens;
  if (request.temperature) config["temperature"] = *request.temperature;
  if (request.top_p) config["topP"] = *request.top_p;
  if (!request.stop.empty()) config["stopSequences"] = request.stop;
  if (!config.empty()) body["inferenceConfig"] = std::move(config);
  auto tools = tool_config(request, history_has_tools);
  if (!tools) return std::move(tools).error();
  if (!tools.value().is_null()) body["toolConfig"] = std::move(tools).value();
  if (!request.user.empty()) {
    if (!valid_metadata_value(request.user)) {
      return refuse("user", "Bedrock takes a user of at most 256 letters, digits, spaces and :_@$#=/+,-. characters");
    }
    body["requestMetadata"] = {{"user", request.user}};
  }
  return dump(body);
}

std::string bedrock_path(std::string_view model_id, bool stream) {
  return "/model/" + sigv4_uri_encode(model_id) + (stream ? "/converse-stream" : "/converse");
}

BedrockProvider::BedrockProvider(BedrockOptions options, Transport& transport)
    : options_(std::move(options)), transport_(transport) {
  if (options_.endpoint.empty()) options_.endpoint = "https://bedrock-runtime." + options_.region + ".amazonaws.com";
  if (!options_.now_ms) options_.now_ms = [] { return system_now_ms(); };
}

Result<UpstreamRequest> BedrockProvider::signed_request(const std::string& model_path, std::string body) const {
  std::string error;
  auto url = config::parse_url(options_.endpoint, error);
  if (!url || (url->scheme != "http" && url->scheme != "https") || url->host.host.empty() || url->query ||
      url->has_userinfo) {
    Error e = fail(Code::invalid_argument, "the Bedrock endpoint is not a usable http(s) URL");
    e.internal = error;
    return e;
  }
  // The Host header the client will send: the port only when it is not the scheme's default.
  std::string host = url->host.ipv6 ? "[" + url->host.host + "]" : url->host.host;
  const long default_port = url->scheme == "https" ? 443 : 80;
  if (url->host.port && *url->host.port != default_port) host += ":" + std::to_string(*url->host.port);

  std::string_view prefix = url->path;  // an endpoint behind a proxy may carry a path
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  const std::string path = std::string(prefix) + model_path;
  const std::string date = amz_date(options_.now_ms());

  SigV4Request to_sign;
  to_sign.method = "POST";
  to_sign.path = path;
  to_sign.headers.emplace_back("host", host);
  to_sign.headers.emplace_back("content-type", "application/json");
  to_sign.headers.emplace_back("x-amz-date", date);
  if (!options_.credentials.session_token.empty()) {
    to_sign.headers.emplace_back("x-amz-security-token", options_.credentials.session_token);
  }
  to_sign.body = body;
  SigV4Result signature;
  try {
    signature = sigv4_sign(to_sign, options_.credentials, options_.region, "bedrock", date);
  } catch (const std::exception& e) {
    Error failure = fail(Code::invalid_argument, "the Bedrock request could not be signed");
    failure.internal = e.what();
    return failure;
  }

  UpstreamRequest out;
  out.method = "POST";
  out.url = url->scheme + "://" + url->authority + path;
  // Exactly the signed headers except host, which the client adds itself.
  for (auto& [name, value] : to_sign.headers) {
    if (name != "host") out.headers.emplace_back(name, value);
  }
  out.headers.emplace_back("authorization", std::move(signature.authorization));
  out.body = std::move(body);
  return out;
}

boost::asio::awaitable<void> BedrockProvider::complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                       Cancellation& cancel, Outcome& out) {
  auto body = bedrock_request_body(request);
  if (!body) {
    const Error& e = body.error();
    out = e.fields.empty() ? invalid_request_outcome(e.detail) : invalid_param_outcome(e.fields[0].field, e.detail);
    co_return;
  }
  auto upstream = signed_request(bedrock_path(request.model, request.stream), std::move(body).value());
  if (!upstream) {
    const Error& e = upstream.error();
    out =
        refused_outcome("the provider is misconfigured", e.internal.empty() ? e.detail : e.detail + ": " + e.internal);
    co_return;
  }

  const bool json_answer = bedrock_answers_in_json(request);
  BedrockStreamDecoder decoder(json_answer);
  Exchange exchange;
  exchange.request = std::move(upstream).value();
  exchange.timeouts = options_.timeouts;
  if (request.stream) exchange.decoder = &decoder;
  exchange.parse_whole = json_answer ? &bedrock_parse_whole_json : &bedrock_parse_whole;
  exchange.secret = options_.credentials.secret_access_key;
  exchange.error_type_header = "x-amzn-ErrorType";
  exchange.messages = &request.messages;
  co_await run_exchange(transport_, exchange, on_delta, cancel, out);
}

boost::asio::awaitable<Outcome> BedrockProvider::embed(const EmbeddingRequest& request, Cancellation& cancel) {
  Outcome out;
  const bool titan = request.model.find("titan-embed") != std::string::npos;
  const bool cohere = request.model.find("cohere.embed") != std::string::npos;
  if (!titan && !cohere) {
    out = invalid_param_outcome("model", "Bedrock embeddings are offered for Amazon Titan and Cohere Embed models");
    co_return out;
  }
  if (!request.tokens.empty()) {
    out = invalid_param_outcome("input", "Bedrock embedding models take text, not token ids");
    co_return out;
  }
  if (cohere && request.dimensions) {
    out = invalid_param_outcome("dimensions", "Cohere Embed models have a fixed number of dimensions");
    co_return out;
  }
  const std::string path = "/model/" + sigv4_uri_encode(request.model) + "/invoke";
  const std::size_t step = titan ? 1 : kCohereBatch;
  for (std::size_t first = 0; first < request.texts.size(); first += step) {
    const std::size_t count = std::min(step, request.texts.size() - first);
    std::string body = titan ? titan_embedding_body(request.texts[first], request.dimensions)
                             : cohere_embedding_body(request.texts, first, count);
    auto upstream = signed_request(path, std::move(body));
    if (!upstream) {
      const Error& e = upstream.error();
      co_return refused_outcome("the provider is misconfigured",
                                e.internal.empty() ? e.detail : e.detail + ": " + e.internal);
    }
    upstream.value().headers.emplace_back("accept", "application/json");
    const EmbeddingReader read = [titan, count](std::string_view answer, Outcome& o) {
      return titan ? read_titan_embedding(answer, o) : read_cohere_embeddings(answer, count, o);
    };
    if (!co_await run_embedding_call(transport_, std::move(upstream).value(), options_.timeouts,
                                     options_.credentials.secret_access_key, "x-amzn-ErrorType", read, cancel, out))
      co_return out;
  }
  if (cohere) {
    // Cohere on Bedrock reports no token count: estimated as for any unreported usage.
    for (const auto& t : request.texts) out.usage.prompt_tokens += estimate_tokens(t);
    out.usage_reported = false;
  }
  out.status = Outcome::Status::complete;
  co_return out;
}

}  // namespace chatd::llm
