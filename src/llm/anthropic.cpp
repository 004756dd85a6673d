#include "llm/anthropic.hpp"

#include "llm/exchange.hpp"
#include "llm/provider_util.hpp"
#include "llm/sse.hpp"

#include <nlohmann/json.hpp>

#include <utility>

namespace chatd::llm {
namespace {

using nlohmann::json;

// Prompt tokens as Anthropic splits them: uncached input plus cache writes and cache reads.
std::optional<std::int64_t> input_tokens(const json& usage) {
  auto input = json_tokens(usage, "input_tokens");
  if (!input) return std::nullopt;
  return token_count(*input + json_tokens(usage, "cache_creation_input_tokens").value_or(0) +
                     json_tokens(usage, "cache_read_input_tokens").value_or(0));
}

// Anthropic's error types that mean "try again later" rather than "this request is wrong".
bool transient_error_type(std::string_view type) {
  return type == "overloaded_error" || type == "api_error" || type == "rate_limit_error" || type == "timeout_error";
}

class AnthropicStreamDecoder final : public SseStreamDecoder {
 private:
  void handle(const SseEvent& event, StreamProgress& progress) override {
    if (event.data.empty()) return;
    const json data = json::parse(event.data, nullptr, /*allow_exceptions=*/false);
    if (data.is_discarded() || !data.is_object()) {
      progress.failure = StreamFailure{"malformed stream event: " + excerpt(event.data, 200), false};
      return;
    }
    // Every event repeats its name in "type"; the SSE event: line is the fallback.
    const std::string type = json_string(data, "type").value_or(event.event);
    if (type == "content_block_delta") {
      const json* delta = json_member(data, "delta");
      if (delta != nullptr && json_string(*delta, "type") == "text_delta") {
        if (auto text = json_string(*delta, "text")) progress.deltas.push_back(std::move(*text));
      }
    } else if (type == "message_start") {
      const json* message = json_member(data, "message");
      const json* usage = message != nullptr ? json_member(*message, "usage") : nullptr;
      if (usage != nullptr) {
        if (auto in = input_tokens(*usage)) progress.prompt_tokens = *in;
      }
    } else if (type == "message_delta") {
      if (const json* delta = json_member(data, "delta")) {
        if (auto reason = json_string(*delta, "stop_reason")) progress.finish_reason = map_stop_reason(*reason);
      }
      if (const json* usage = json_member(data, "usage")) {
        if (auto out = json_int(*usage, "output_tokens")) progress.completion_tokens = *out;  // cumulative
        if (auto in = input_tokens(*usage)) progress.prompt_tokens = *in;
      }
    } else if (type == "message_stop") {
      progress.finished = true;
    } else if (type == "error") {
      const json* err = json_member(data, "error");
      const std::string err_type = err != nullptr ? json_string(*err, "type").value_or("") : "";
      progress.failure =
          StreamFailure{"error event: " + upstream_error_message(event.data), transient_error_type(err_type)};
    }
    // ping, content_block_start, content_block_stop and event types added later: nothing to do.
  }
};

}  // namespace

Result<WholeAnswer> anthropic_parse_whole(std::string_view body) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* content = json_member(doc, "content");
  if (content == nullptr || !content->is_array()) {
    Error e = fail(Code::upstream, "message without content");
    e.internal = excerpt(body, 200);
    return e;
  }
  WholeAnswer answer;
  for (const auto& block : *content) {
    if (json_string(block, "type") != "text") continue;
    if (auto text = json_string(block, "text")) answer.text += *text;
  }
  if (auto reason = json_string(doc, "stop_reason")) answer.finish_reason = map_stop_reason(*reason);
  if (const json* usage = json_member(doc, "usage")) {
    answer.prompt_tokens = input_tokens(*usage);
    answer.completion_tokens = json_int(*usage, "output_tokens");
  }
  return answer;
}

std::unique_ptr<StreamDecoder> anthropic_stream_decoder() { return std::make_unique<AnthropicStreamDecoder>(); }

Result<std::string> anthropic_request_body(const ChatRequest& request, std::int64_t default_max_tokens) {
  AlternatingConversation conversation = to_alternating(request.messages);
  if (conversation.turns.empty()) {
    return fail(Code::invalid_argument, "the conversation has no user message");
  }
  json body = json::object();
  body["model"] = request.model;
  body["max_tokens"] = request.max_tokens.value_or(default_max_tokens);
  if (!conversation.system.empty()) body["system"] = conversation.system;
  json messages = json::array();
  for (auto& turn : conversation.turns) {
    json message = json::object();
    message["role"] = turn.role;
    if (const std::string* text = turn.only_text()) {
      message["content"] = *text;
    } else {
      json blocks = json::array();
      for (const auto& block : turn.blocks)
        if (block.kind == TurnBlock::Kind::text) blocks.push_back({{"type", "text"}, {"text", block.text}});
      message["content"] = std::move(blocks);
    }
    messages.push_back(std::move(message));
  }
  body["messages"] = std::move(messages);
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (!request.stop.empty()) body["stop_sequences"] = request.stop;
  body["stream"] = request.stream;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

AnthropicProvider::AnthropicProvider(AnthropicOptions options, Transport& transport)
    : options_(std::move(options)), transport_(transport) {}

boost::asio::awaitable<Outcome> AnthropicProvider::complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                            Cancellation& cancel) {
  auto body = anthropic_request_body(request, options_.default_max_tokens);
  if (!body) co_return invalid_request_outcome(body.error().detail);

  std::string_view base = options_.base_url;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  const bool has_version = base.size() >= 3 && base.substr(base.size() - 3) == "/v1";

  AnthropicStreamDecoder decoder;
  Exchange exchange;
  exchange.request.method = "POST";
  exchange.request.url = join_url(base, has_version ? "messages" : "v1/messages");
  exchange.request.headers.emplace_back("content-type", "application/json");
  if (request.stream) exchange.request.headers.emplace_back("accept", "text/event-stream");
  if (!options_.api_key.empty()) exchange.request.headers.emplace_back("x-api-key", options_.api_key);
  exchange.request.headers.emplace_back("anthropic-version", options_.version);
  exchange.request.body = std::move(body).value();
  exchange.timeouts = options_.timeouts;
  if (request.stream) exchange.decoder = &decoder;
  exchange.parse_whole = &anthropic_parse_whole;
  exchange.secret = options_.api_key;
  exchange.messages = &request.messages;
  co_return co_await complete_guarded(transport_, exchange, on_delta, cancel);
}

}  // namespace chatd::llm
