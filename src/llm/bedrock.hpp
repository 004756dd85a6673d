#pragma once
// AWS Bedrock Runtime: Converse (non-streaming) and ConverseStream, signed with SigV4.

#include "core/result.hpp"
#include "llm/exchange.hpp"
#include "llm/provider.hpp"
#include "llm/sigv4.hpp"
#include "llm/transport.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace chatd::llm {

struct BedrockOptions {
  std::string region;    // e.g. "us-east-1"
  std::string endpoint;  // empty: https://bedrock-runtime.{region}.amazonaws.com
  SigV4Credentials credentials;
  Timeouts timeouts;
  // The current time as Unix epoch milliseconds, for x-amz-date; empty: the system clock.
  std::function<std::int64_t()> now_ms;
};

// "YYYYMMDDTHHMMSSZ" (UTC) for x-amz-date.
std::string amz_date(std::int64_t epoch_ms);

// The JSON body of a Converse / ConverseStream call for `request` (messages alternate as
// to_alternating() describes; unset inference settings are omitted). OpenAI's tools become a
// toolConfig; response_format json_object / json_schema becomes one forced tool whose input is
// the answer (see bedrock_answers_in_json). Code::invalid_argument when no user message remains,
// or when the request asks for something Converse cannot honour: then Error::fields[0].field
// names the request field at fault as OpenAI names it ("seed", "tool_choice", "messages", ...).
Result<std::string> bedrock_request_body(const ChatRequest& request);

// Whether the answer to `request` is the input of the forced tool that stands for OpenAI's JSON
// mode (response_format json_object or json_schema). Its answers are then read by the *_json
// decoder and parser below, which deliver that input as the answer's text.
bool bedrock_answers_in_json(const ChatRequest& request);

// The request path as sent on the wire: /model/{model id, URI-encoded}/converse[-stream]
// (so "anthropic.claude-3-haiku-20240307-v1:0" appears as "...-v1%3A0").
std::string bedrock_path(std::string_view model_id, bool stream);

// How run_exchange reads this provider's answers (exposed for tests and fuzzing): the decoder
// of a ConverseStream body (AWS event stream) and the parser of a whole Converse answer. Neither throws.
// Text blocks are the answer's text, toolUse blocks its tool calls (numbered 0, 1, ... in the order
// they start, whatever contentBlockIndex they have; a call without input gets "{}").
std::unique_ptr<StreamDecoder> bedrock_stream_decoder();
Result<WholeAnswer> bedrock_parse_whole(std::string_view body);
// The same for a JSON-mode answer (bedrock_answers_in_json): the first toolUse's input is the
// answer's text and stopReason tool_use ends it as "stop"; text beside it is dropped, and is the
// answer only when no toolUse comes (a model that ignored the forced tool).
std::unique_ptr<StreamDecoder> bedrock_json_stream_decoder();
Result<WholeAnswer> bedrock_parse_whole_json(std::string_view body);

class BedrockProvider final : public Provider {
 public:
  // `transport` must outlive the provider.
  BedrockProvider(BedrockOptions options, Transport& transport);

  std::string_view kind() const override { return "bedrock"; }
  boost::asio::awaitable<void> complete(const ChatRequest& request, const DeltaFn& on_delta, Cancellation& cancel,
                                        Outcome& out) override;
  // InvokeModel on Amazon Titan Text Embeddings (one call per input) or Cohere Embed (up to 96
  // inputs per call) models, told apart by their id ("amazon.titan-embed..." / "cohere.embed...").
  boost::asio::awaitable<Outcome> embed(const EmbeddingRequest& request, Cancellation& cancel) override;

 private:
  // The signed request, or Code::invalid_argument for an unusable endpoint.
  Result<UpstreamRequest> signed_request(const std::string& model_path, std::string body) const;

  BedrockOptions options_;
  Transport& transport_;
};

}  // namespace chatd::llm
