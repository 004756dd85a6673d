#include "llm/bedrock.hpp"

#include "config/url.hpp"
#include "core/time.hpp"
#include "llm/eventstream.hpp"
#include "llm/exchange.hpp"
#include "llm/provider_util.hpp"

#include <nlohmann/json.hpp>

#include <exception>
#include <utility>

namespace chatd::llm {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxEventBytes = 1 << 20;

// ConverseStream exceptions that say "try again" rather than "this request is wrong".
bool transient_exception(std::string_view type) {
  return type == "throttlingException" || type == "internalServerException" || type == "modelStreamErrorException" ||
         type == "serviceUnavailableException" || type == "modelNotReadyException";
}

void read_usage(const json& holder, std::optional<std::int64_t>& prompt, std::optional<std::int64_t>& completion) {
  const json* usage = json_member(holder, "usage");
  if (usage == nullptr) return;
  if (auto in = json_int(*usage, "inputTokens")) prompt = *in;
  if (auto out = json_int(*usage, "outputTokens")) completion = *out;
}

class BedrockStreamDecoder final : public StreamDecoder {
 public:
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
  // Events after messageStop are still read: the usage metadata comes last.
  static void handle(const EventStreamMessage& message, StreamProgress& progress) {
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
    if (type != "contentBlockDelta" && type != "messageStop" && type != "metadata") return;
    const json payload = json::parse(message.payload, nullptr, /*allow_exceptions=*/false);
    if (payload.is_discarded() || !payload.is_object()) {
      progress.failure =
          StreamFailure{type + " event with a malformed payload: " + excerpt(message.payload, 200), false};
      return;
    }
    if (type == "contentBlockDelta") {
      if (const json* delta = json_member(payload, "delta")) {
        if (auto text = json_string(*delta, "text")) progress.deltas.push_back(std::move(*text));
      }
    } else if (type == "messageStop") {
      progress.finish_reason = map_stop_reason(json_string(payload, "stopReason").value_or(""));
      progress.finished = true;
    } else {
      read_usage(payload, progress.prompt_tokens, progress.completion_tokens);
    }
  }

  EventStreamDecoder decoder_{kMaxEventBytes};
  std::vector<EventStreamMessage> messages_;
};

}  // namespace

Result<WholeAnswer> bedrock_parse_whole(std::string_view body) {
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
  for (const auto& block : *content) {
    if (auto text = json_string(block, "text")) answer.text += *text;
  }
  answer.finish_reason = map_stop_reason(json_string(doc, "stopReason").value_or(""));
  read_usage(doc, answer.prompt_tokens, answer.completion_tokens);
  return answer;
}

std::unique_ptr<StreamDecoder> bedrock_stream_decoder() { return std::make_unique<BedrockStreamDecoder>(); }

namespace {

json text_content(std::string text) {
  json block = json::object();
  block["text"] = std::move(text);
  json content = json::array();
  content.push_back(std::move(block));
  return content;
}

}  // namespace

std::string amz_date(std::int64_t epoch_ms) {
  std::string out;
  for (const char c : format_rfc3339(epoch_ms)) {  // "2026-11-22T10:00:00Z"
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

Result<std::string> bedrock_request_body(const ChatRequest& request) {
  AlternatingConversation conversation = to_alternating(request.messages);
  if (conversation.turns.empty()) {
    return fail(Code::invalid_argument, "the conversation has no user message");
  }
  json body = json::object();
  json messages = json::array();
  for (auto& turn : conversation.turns) {
    json message = json::object();
    message["role"] = turn.role;
    json blocks = json::array();
    for (const auto& block : turn.blocks)
      if (block.kind == TurnBlock::Kind::text) blocks.push_back({{"text", block.text}});
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
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string bedrock_path(std::string_view model_id, bool stream) {
  return "/model/" + sigv4_uri_encode(model_id) + (stream ? "/converse-stream" : "/converse");
}

BedrockProvider::BedrockProvider(BedrockOptions options, Transport& transport)
    : options_(std::move(options)), transport_(transport) {
  if (options_.endpoint.empty()) options_.endpoint = "https://bedrock-runtime." + options_.region + ".amazonaws.com";
  if (!options_.now_ms) options_.now_ms = [] { return system_now_ms(); };
}

Result<UpstreamRequest> BedrockProvider::signed_request(const ChatRequest& request, std::string body) const {
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
  const std::string path = std::string(prefix) + bedrock_path(request.model, request.stream);
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

boost::asio::awaitable<Outcome> BedrockProvider::complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                          Cancellation& cancel) {
  auto body = bedrock_request_body(request);
  if (!body) co_return invalid_request_outcome(body.error().detail);
  auto upstream = signed_request(request, std::move(body).value());
  if (!upstream) {
    const Error& e = upstream.error();
    co_return refused_outcome("the provider is misconfigured",
                              e.internal.empty() ? e.detail : e.detail + ": " + e.internal);
  }

  BedrockStreamDecoder decoder;
  Exchange exchange;
  exchange.request = std::move(upstream).value();
  exchange.timeouts = options_.timeouts;
  if (request.stream) exchange.decoder = &decoder;
  exchange.parse_whole = &bedrock_parse_whole;
  exchange.secret = options_.credentials.secret_access_key;
  exchange.error_type_header = "x-amzn-ErrorType";
  exchange.messages = &request.messages;
  co_return co_await complete_guarded(transport_, exchange, on_delta, cancel);
}

}  // namespace chatd::llm
