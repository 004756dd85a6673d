#include "llm/openai.hpp"

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

void read_usage(const json& chunk, std::optional<std::int64_t>& prompt, std::optional<std::int64_t>& completion) {
  const json* usage = json_member(chunk, "usage");
  if (usage == nullptr || !usage->is_object()) return;
  if (auto p = json_int(*usage, "prompt_tokens")) prompt = *p;
  if (auto c = json_int(*usage, "completion_tokens")) completion = *c;
}

const json* first_choice(const json& chunk) {
  const json* choices = json_member(chunk, "choices");
  if (choices == nullptr || !choices->is_array() || choices->empty()) return nullptr;
  return &(*choices)[0];
}

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
    const json chunk = json::parse(event.data, nullptr, /*allow_exceptions=*/false);
    if (chunk.is_discarded() || !chunk.is_object()) {
      progress.failure = StreamFailure{"malformed stream chunk: " + excerpt(event.data, 200), false};
      return;
    }
    if (event.event == "error" || json_member(chunk, "error") != nullptr) {
      const json* err = json_member(chunk, "error");
      std::string type;
      if (err != nullptr) type = json_string(*err, "type").value_or(json_string(*err, "code").value_or(""));
      progress.failure = StreamFailure{"error in stream: " + upstream_error_message(event.data), transient_error_type(type)};
      return;
    }
    if (const json* choice = first_choice(chunk)) {
      if (const json* delta = json_member(*choice, "delta")) {
        if (auto text = json_string(*delta, "content")) progress.deltas.push_back(std::move(*text));
      }
      if (auto reason = json_string(*choice, "finish_reason")) progress.finish_reason = *reason;
    }
    read_usage(chunk, progress.prompt_tokens, progress.completion_tokens);
  }

};

Result<WholeAnswer> parse_whole(std::string_view body) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    Error e = fail(Code::upstream, "malformed completion");
    e.internal = excerpt(body, 200);
    return e;
  }
  WholeAnswer answer;
  const json* choice = first_choice(doc);
  const json* message = choice != nullptr ? json_member(*choice, "message") : nullptr;
  if (message == nullptr) {
    Error e = fail(Code::upstream, "completion without choices[0].message");
    e.internal = excerpt(body, 200);
    return e;
  }
  answer.text = json_string(*message, "content").value_or("");  // null content: e.g. a refusal
  answer.finish_reason = json_string(*choice, "finish_reason").value_or("");
  read_usage(doc, answer.prompt_tokens, answer.completion_tokens);
  return answer;
}

}  // namespace

std::string openai_request_body(const ChatRequest& request) {
  json body = json::object();
  body["model"] = request.model;
  json messages = json::array();
  for (const auto& m : request.messages) {
    json message = json::object();
    message["role"] = m.role;
    message["content"] = m.content;
    messages.push_back(std::move(message));
  }
  body["messages"] = std::move(messages);
  body["stream"] = request.stream;
  if (request.stream) {
    json stream_options = json::object();
    stream_options["include_usage"] = true;
    body["stream_options"] = std::move(stream_options);
  }
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (!request.stop.empty()) body["stop"] = request.stop;
  // Replace invalid UTF-8 instead of throwing: one broken byte must not fail the request.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
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
  exchange.parse_whole = &parse_whole;
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
