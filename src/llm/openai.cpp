#include "llm/openai.hpp"

#include "core/json_scan.hpp"
#include "core/json_writer.hpp"
#include "crypto/encoding.hpp"
#include "llm/embeddings.hpp"
#include "llm/exchange.hpp"
#include "llm/provider_util.hpp"
#include "llm/sse.hpp"

#include <nlohmann/json.hpp>

#include <exception>
#include <optional>
#include <utility>
#include <vector>

namespace chatd::llm {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxModelsBodyBytes = 4 << 20;

// A tool call as one chunk or completion shows it (any member may be missing in a chunk).
struct RawToolCall {
  std::optional<std::int64_t> index;  // a chunk's "index"
  std::string id, name, arguments;
};

// What chatd reads of an OpenAI chat completion (`message`) or stream chunk (`delta`), taken
// from the scanned document without building it.
struct CompletionReader final : JsonVisitor {
  explicit CompletionReader(const char* part) : part(part) {}

  void value(const JsonPath& at, const JsonValue& v) override {
    const bool str = v.kind == JsonKind::string;
    switch (at.depth()) {
      case 0: object = v.kind == JsonKind::object; break;
      case 1: has_error = has_error || at.is({"error"}); break;
      case 2:
        if (at.is({"usage", "prompt_tokens"}) && v.kind == JsonKind::integer)
          prompt_tokens = v.integer;
        else if (at.is({"usage", "completion_tokens"}) && v.kind == JsonKind::integer)
          completion_tokens = v.integer;
        else if (at.is({"error", "type"}) && str)
          error_type = std::string(v.text);
        else if (at.is({"error", "code"}) && str)
          error_code = std::string(v.text);
        break;
      case 3:
        if (at.is({"choices", 0, part}))
          has_part = true;
        else if (at.is({"choices", 0, "finish_reason"}))
          assign(finish_reason, v);
        else if (at.is({"usage", "prompt_tokens_details", "cached_tokens"}) && v.kind == JsonKind::integer)
          cached_tokens = v.integer;
        else if (at.is({"usage", "completion_tokens_details", "reasoning_tokens"}) && v.kind == JsonKind::integer)
          reasoning_tokens = v.integer;
        break;
      case 4:
        if (at.is({"choices", 0, part, "content"})) assign(content, v);
        break;
      case 6:
        if (at.is({"choices", 0, part, "tool_calls", kAnyIndex, "index"}) && v.kind == JsonKind::integer)
          call(at).index = v.integer;
        else if (at.is({"choices", 0, part, "tool_calls", kAnyIndex, "id"}) && str)
          call(at).id = v.text;
        break;
      case 7:
        if (at.is({"choices", 0, part, "tool_calls", kAnyIndex, "function", "name"}) && str)
          call(at).name = v.text;
        else if (at.is({"choices", 0, part, "tool_calls", kAnyIndex, "function", "arguments"}) && str)
          call(at).arguments = v.text;
        break;
      default: break;
    }
  }
  // The last occurrence wins, and a value of another type clears it (as in a parsed object).
  static void assign(std::optional<std::string>& to, const JsonValue& v) {
    if (v.kind == JsonKind::string)
      to = std::string(v.text);
    else
      to.reset();
  }
  RawToolCall& call(const JsonPath& at) {
    const auto i = static_cast<std::size_t>(at.index(4));
    if (tool_calls.size() <= i) tool_calls.resize(i + 1);
    return tool_calls[i];
  }

  const char* part;
  bool object = false;
  bool has_error = false;
  bool has_part = false;  // choices[0].<part> exists
  std::optional<std::string> content, finish_reason, error_type, error_code;
  std::optional<std::int64_t> prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens;
  std::vector<RawToolCall> tool_calls;
};

// Errors that a later attempt may not see again.
bool transient_error_type(std::string_view type) {
  return type.find("server_error") != std::string_view::npos || type.find("overloaded") != std::string_view::npos ||
         type.find("rate_limit") != std::string_view::npos;
}

class OpenAiStreamDecoder final : public SseStreamDecoder {
 private:
  // A chunk's tool call pieces, numbered as chatd numbers calls. OpenAI numbers them with
  // "index" and sends the id and name once, first; some compatible servers send every call
  // whole with index 0, so a new id at a known index starts a new call.
  void take_tool_calls(std::vector<RawToolCall>& calls, StreamProgress& progress) {
    for (auto& raw : calls) {
      const std::int64_t upstream = raw.index.value_or(-1);
      std::size_t index = calls_.size();
      for (std::size_t i = calls_.size(); i-- > 0;) {
        if (calls_[i].upstream != upstream) continue;
        if (raw.id.empty() || raw.id == calls_[i].id) index = i;
        break;
      }
      if (index == calls_.size()) calls_.push_back({upstream, raw.id});
      progress.tool_calls.push_back({index, std::move(raw.id), std::move(raw.name), std::move(raw.arguments)});
    }
  }

  struct Seen {
    std::int64_t upstream;  // the upstream's "index" (-1 when it sent none)
    std::string id;
  };
  std::vector<Seen> calls_;  // chatd's call i, as the upstream named it

  void handle(const SseEvent& event, StreamProgress& progress) override {
    if (event.data.empty()) return;
    if (event.data == "[DONE]") {
      progress.finished = true;
      return;
    }
    CompletionReader chunk("delta");
    if (!scan_json(event.data, chunk) || !chunk.object) {
      progress.failure = StreamFailure{"malformed stream chunk: " + excerpt(event.data, 200), false};
      return;
    }
    if (event.event == "error" || chunk.has_error) {
      const std::string type = chunk.error_type.value_or(chunk.error_code.value_or(""));
      progress.failure =
          StreamFailure{"error in stream: " + upstream_error_message(event.data), transient_error_type(type)};
      return;
    }
    if (chunk.content) progress.deltas.push_back(std::move(*chunk.content));
    if (!chunk.tool_calls.empty()) take_tool_calls(chunk.tool_calls, progress);
    if (chunk.finish_reason) progress.finish_reason = std::move(*chunk.finish_reason);
    if (chunk.prompt_tokens) progress.prompt_tokens = chunk.prompt_tokens;
    if (chunk.completion_tokens) progress.completion_tokens = chunk.completion_tokens;
    if (chunk.cached_tokens) progress.cached_tokens = chunk.cached_tokens;
    if (chunk.reasoning_tokens) progress.reasoning_tokens = chunk.reasoning_tokens;
  }
};

}  // namespace

Result<WholeAnswer> openai_parse_whole(std::string_view body) {
  CompletionReader doc("message");
  if (!scan_json(body, doc) || !doc.object) {
    Error e = fail(Code::upstream, "malformed completion");
    e.internal = excerpt(body, 200);
    return e;
  }
  if (!doc.has_part) {
    Error e = fail(Code::upstream, "completion without choices[0].message");
    e.internal = excerpt(body, 200);
    return e;
  }
  WholeAnswer answer;
  answer.text = std::move(doc.content).value_or("");  // null content: e.g. a refusal
  answer.finish_reason = std::move(doc.finish_reason).value_or("");
  answer.prompt_tokens = doc.prompt_tokens;
  answer.completion_tokens = doc.completion_tokens;
  answer.cached_tokens = doc.cached_tokens;
  answer.reasoning_tokens = doc.reasoning_tokens;
  for (auto& raw : doc.tool_calls) {
    if (raw.id.empty() || raw.name.empty()) {
      Error e = fail(Code::upstream, "tool call without id or name");
      e.internal = excerpt(body, 200);
      return e;
    }
    answer.tool_calls.push_back({std::move(raw.id), std::move(raw.name), std::move(raw.arguments)});
  }
  return answer;
}

std::unique_ptr<StreamDecoder> openai_stream_decoder() { return std::make_unique<OpenAiStreamDecoder>(); }

namespace {

void write_image(JsonWriter& w, const Image& image) {
  w.begin_object().key("type").string("image_url").key("image_url").begin_object().key("url");
  if (image.data.empty()) {
    w.string(image.url);
  } else {
    std::string url = "data:" + image.media_type + ";base64,";
    url += crypto::base64_encode(image.data);
    w.string(url);
  }
  if (!image.detail.empty()) w.key("detail").string(image.detail);
  w.end_object().end_object();
}

void write_message(JsonWriter& w, const ChatMessage& m) {
  w.begin_object().key("role").string(m.role);
  if (!m.parts.empty()) {
    w.key("content").begin_array();
    for (const auto& part : m.parts) {
      if (part.image) {
        write_image(w, *part.image);
      } else {
        w.begin_object().key("type").string("text").key("text").string(part.text).end_object();
      }
    }
    w.end_array();
  } else if (m.content.empty() && !m.tool_calls.empty()) {
    w.key("content").null();  // as OpenAI writes an assistant message that only calls tools
  } else {
    w.key("content").string(m.content);
  }
  if (!m.tool_calls.empty()) {
    w.key("tool_calls").begin_array();
    for (const auto& call : m.tool_calls) {
      w.begin_object().key("id").string(call.id).key("type").string("function");
      w.key("function").begin_object().key("name").string(call.name).key("arguments").string(call.arguments);
      w.end_object().end_object();
    }
    w.end_array();
  }
  if (!m.tool_call_id.empty()) w.key("tool_call_id").string(m.tool_call_id);
  w.end_object();
}

void write_tools(JsonWriter& w, const ChatRequest& request) {
  if (!request.tools.empty()) {
    w.key("tools").begin_array();
    for (const auto& tool : request.tools) {
      w.begin_object().key("type").string("function").key("function").begin_object().key("name").string(tool.name);
      if (!tool.description.empty()) w.key("description").string(tool.description);
      if (!tool.parameters.empty()) w.key("parameters").raw(tool.parameters);
      if (tool.strict) w.key("strict").boolean(*tool.strict);
      w.end_object().end_object();
    }
    w.end_array();
  }
  switch (request.tool_choice.mode) {
    case ToolChoice::Mode::unset: break;
    case ToolChoice::Mode::automatic: w.key("tool_choice").string("auto"); break;
    case ToolChoice::Mode::none: w.key("tool_choice").string("none"); break;
    case ToolChoice::Mode::required: w.key("tool_choice").string("required"); break;
    case ToolChoice::Mode::function:
      w.key("tool_choice").begin_object().key("type").string("function").key("function").begin_object();
      w.key("name").string(request.tool_choice.name).end_object().end_object();
      break;
  }
  if (request.parallel_tool_calls) w.key("parallel_tool_calls").boolean(*request.parallel_tool_calls);
}

void write_response_format(JsonWriter& w, const ResponseFormat& format) {
  switch (format.kind) {
    case ResponseFormat::Kind::unset: return;
    case ResponseFormat::Kind::text: w.key("response_format").begin_object().key("type").string("text"); break;
    case ResponseFormat::Kind::json_object:
      w.key("response_format").begin_object().key("type").string("json_object");
      break;
    case ResponseFormat::Kind::json_schema:
      w.key("response_format").begin_object().key("type").string("json_schema");
      w.key("json_schema").begin_object().key("name").string(format.name);
      if (!format.description.empty()) w.key("description").string(format.description);
      if (!format.schema.empty()) w.key("schema").raw(format.schema);
      if (format.strict) w.key("strict").boolean(*format.strict);
      w.end_object();
      break;
  }
  w.end_object();
}

}  // namespace

// JsonWriter replaces invalid UTF-8 instead of refusing it: one broken byte must not fail
// the request. Every OpenAI feature the request carries is passed on as OpenAI names it.
std::string openai_request_body(const ChatRequest& request) {
  std::size_t size = 128 + request.model.size();
  for (const auto& m : request.messages) {
    size += m.content.size() + 40;
    for (const auto& part : m.parts)
      if (part.image) size += part.image->data.size() * 4 / 3 + part.image->url.size() + 64;
  }
  for (const auto& tool : request.tools) size += tool.parameters.size() + tool.description.size() + 64;
  std::string out;
  out.reserve(size);
  JsonWriter body(out);
  body.begin_object().key("model").string(request.model).key("messages").begin_array();
  for (const auto& m : request.messages) write_message(body, m);
  body.end_array().key("stream").boolean(request.stream);
  if (request.stream) body.key("stream_options").begin_object().key("include_usage").boolean(true).end_object();
  if (request.max_tokens)
    body.key(request.max_tokens_named_completion ? "max_completion_tokens" : "max_tokens").number(*request.max_tokens);
  if (request.temperature) body.key("temperature").number(*request.temperature);
  if (request.top_p) body.key("top_p").number(*request.top_p);
  if (!request.stop.empty()) {
    body.key("stop").begin_array();
    for (const auto& s : request.stop) body.string(s);
    body.end_array();
  }
  write_tools(body, request);
  write_response_format(body, request.response_format);
  if (request.seed) body.key("seed").number(*request.seed);
  if (request.presence_penalty) body.key("presence_penalty").number(*request.presence_penalty);
  if (request.frequency_penalty) body.key("frequency_penalty").number(*request.frequency_penalty);
  if (!request.logit_bias.empty()) body.key("logit_bias").raw(request.logit_bias);
  if (!request.user.empty()) body.key("user").string(request.user);
  if (!request.reasoning_effort.empty()) body.key("reasoning_effort").string(request.reasoning_effort);
  body.end_object();
  return out;
}

OpenAiProvider::OpenAiProvider(OpenAiOptions options, Transport& transport)
    : options_(std::move(options)),
      transport_(transport),
      chat_url_(join_url(options_.base_url, "chat/completions", options_.query)) {
  if (options_.api_key.empty()) return;
  if (options_.auth == OpenAiOptions::Auth::api_key) {
    auth_name_ = "api-key";
    auth_value_ = options_.api_key;
  } else {
    auth_name_ = "authorization";
    auth_value_ = "Bearer " + options_.api_key;
  }
}

void OpenAiProvider::add_auth(UpstreamRequest& request) const {
  if (!auth_name_.empty()) request.headers.emplace_back(auth_name_, auth_value_);
}

boost::asio::awaitable<void> OpenAiProvider::complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                      Cancellation& cancel, Outcome& out) {
  OpenAiStreamDecoder decoder;
  Exchange exchange;
  exchange.request.method = "POST";
  exchange.request.url = chat_url_;
  exchange.request.headers.reserve(3);
  exchange.request.headers.emplace_back("content-type", "application/json");
  if (request.stream) exchange.request.headers.emplace_back("accept", "text/event-stream");
  add_auth(exchange.request);
  exchange.request.body = openai_request_body(request);
  exchange.timeouts = options_.timeouts;
  if (request.stream) exchange.decoder = &decoder;
  exchange.parse_whole = &openai_parse_whole;
  exchange.secret = options_.api_key;
  exchange.messages = &request.messages;
  co_await run_exchange(transport_, exchange, on_delta, cancel, out);
}

boost::asio::awaitable<Outcome> OpenAiProvider::embed(const EmbeddingRequest& request, Cancellation& cancel) {
  Outcome out;
  UpstreamRequest upstream;
  upstream.url = join_url(options_.base_url, "embeddings", options_.query);
  upstream.headers.emplace_back("content-type", "application/json");
  add_auth(upstream);
  upstream.body = openai_embedding_body(request);
  const std::size_t inputs = request.tokens.empty() ? request.texts.size() : request.tokens.size();
  const EmbeddingReader read = [inputs](std::string_view body, Outcome& o) {
    return read_openai_embeddings(body, inputs, o);
  };
  if (co_await run_embedding_call(transport_, std::move(upstream), options_.timeouts, options_.api_key, {}, read,
                                  cancel, out))
    out.status = Outcome::Status::complete;
  co_return out;
}

boost::asio::awaitable<std::vector<std::string>> OpenAiProvider::list_models(std::string& error) {
  error.clear();
  std::vector<std::string> ids;
  Cancellation cancel;
  UpstreamRequest request;
  request.method = "GET";
  request.url = join_url(options_.base_url, "models", options_.query);
  add_auth(request);
  try {
    auto sent = co_await transport_.send(std::move(request), options_.timeouts, cancel);
    if (!sent) {
      error = redact("the provider could not be reached: " + sent.error().detail, options_.api_key);
      co_return ids;
    }
    UpstreamResponse& response = *sent.value();
    const int status = response.status();
    auto body = co_await read_body(response, kMaxModelsBodyBytes, /*truncate=*/status < 200 || status > 299);
    if (!body) {
      error = redact("reading the model list failed: " + body.error().detail, options_.api_key);
      co_return ids;
    }
    if (status < 200 || status > 299) {
      error = redact("the provider answered " + std::to_string(status) + ": " + upstream_error_message(body.value()),
                     options_.api_key);
      co_return ids;
    }
    const json doc = json::parse(body.value(), nullptr, /*allow_exceptions=*/false);
    const json* data = json_member(doc, "data");
    if (data == nullptr || !data->is_array()) {
      error = "the model list is malformed: " + excerpt(body.value(), 200);
      co_return ids;
    }
    for (const auto& item : *data) {
      if (auto id = json_string(item, "id")) ids.push_back(std::move(*id));
    }
  } catch (const std::exception& e) {
    error = redact(std::string("listing models failed: ") + e.what(), options_.api_key);
    ids.clear();
  }
  co_return ids;
}

}  // namespace chatd::llm
