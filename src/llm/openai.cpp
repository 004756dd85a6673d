#include "llm/openai.hpp"

#include "core/json_scan.hpp"
#include "core/json_writer.hpp"
#include "llm/exchange.hpp"
#include "llm/provider_util.hpp"
#include "llm/sse.hpp"

#include <nlohmann/json.hpp>

#include <exception>
#include <utility>

namespace chatd::llm {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxModelsBodyBytes = 4 << 20;

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
        break;
      case 4:
        if (at.is({"choices", 0, part, "content"})) assign(content, v);
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

  const char* part;
  bool object = false;
  bool has_error = false;
  bool has_part = false;  // choices[0].<part> exists
  std::optional<std::string> content, finish_reason, error_type, error_code;
  std::optional<std::int64_t> prompt_tokens, completion_tokens;
};

// Errors that a later attempt may not see again.
bool transient_error_type(std::string_view type) {
  return type.find("server_error") != std::string_view::npos || type.find("overloaded") != std::string_view::npos ||
         type.find("rate_limit") != std::string_view::npos;
}

class OpenAiStreamDecoder final : public SseStreamDecoder {
 private:
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
    if (chunk.finish_reason) progress.finish_reason = std::move(*chunk.finish_reason);
    if (chunk.prompt_tokens) progress.prompt_tokens = chunk.prompt_tokens;
    if (chunk.completion_tokens) progress.completion_tokens = chunk.completion_tokens;
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
  return answer;
}

std::unique_ptr<StreamDecoder> openai_stream_decoder() { return std::make_unique<OpenAiStreamDecoder>(); }

// JsonWriter replaces invalid UTF-8 instead of refusing it: one broken byte must not fail
// the request.
std::string openai_request_body(const ChatRequest& request) {
  std::size_t size = 128 + request.model.size();
  for (const auto& m : request.messages) size += m.content.size() + 40;
  std::string out;
  out.reserve(size);
  JsonWriter body(out);
  body.begin_object().key("model").string(request.model).key("messages").begin_array();
  for (const auto& m : request.messages)
    body.begin_object().key("role").string(m.role).key("content").string(m.content).end_object();
  body.end_array().key("stream").boolean(request.stream);
  if (request.stream) body.key("stream_options").begin_object().key("include_usage").boolean(true).end_object();
  if (request.max_tokens) body.key("max_tokens").number(*request.max_tokens);
  if (request.temperature) body.key("temperature").number(*request.temperature);
  if (request.top_p) body.key("top_p").number(*request.top_p);
  if (!request.stop.empty()) {
    body.key("stop").begin_array();
    for (const auto& s : request.stop) body.string(s);
    body.end_array();
  }
  body.end_object();
  return out;
}

OpenAiProvider::OpenAiProvider(OpenAiOptions options, Transport& transport)
    : options_(std::move(options)), transport_(transport) {}

void OpenAiProvider::add_auth(UpstreamRequest& request) const {
  if (options_.api_key.empty()) return;
  if (options_.auth == OpenAiOptions::Auth::api_key) {
    request.headers.emplace_back("api-key", options_.api_key);
  } else {
    request.headers.emplace_back("authorization", "Bearer " + options_.api_key);
  }
}

boost::asio::awaitable<Outcome> OpenAiProvider::complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                         Cancellation& cancel) {
  OpenAiStreamDecoder decoder;
  Exchange exchange;
  exchange.request.method = "POST";
  exchange.request.url = join_url(options_.base_url, "chat/completions", options_.query);
  exchange.request.headers.emplace_back("content-type", "application/json");
  if (request.stream) exchange.request.headers.emplace_back("accept", "text/event-stream");
  add_auth(exchange.request);
  exchange.request.body = openai_request_body(request);
  exchange.timeouts = options_.timeouts;
  if (request.stream) exchange.decoder = &decoder;
  exchange.parse_whole = &openai_parse_whole;
  exchange.secret = options_.api_key;
  exchange.messages = &request.messages;
  co_return co_await complete_guarded(transport_, exchange, on_delta, cancel);
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
