#pragma once
// Anthropic's Messages API (POST {base}/v1/messages), streaming or not, with OpenAI's request
// features translated: tools and tool choice, images, tool calls and results, JSON answers
// (as one forced tool), the user id and reasoning effort (as extended thinking).

#include "core/result.hpp"
#include "llm/exchange.hpp"
#include "llm/provider.hpp"
#include "llm/transport.hpp"

#include <boost/outcome/result.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace chatd::llm {

struct AnthropicOptions {
  std::string base_url = "https://api.anthropic.com";  // a trailing "/" or "/v1" is tolerated
  std::string api_key;                                 // sent as x-api-key (omitted when empty)
  std::string version = "2023-06-01";                  // anthropic-version
  std::int64_t default_max_tokens = 4096;              // the API requires max_tokens
  Timeouts timeouts;
};

// How an answer's tool_use blocks are read.
enum class AnthropicAnswer {
  tool_calls,  // as tool calls (the request's tools)
  json_text,   // the request's response_format became one forced tool: the input of the answer's
               // first tool_use block is the answer's text (finish_reason "stop"), text blocks
               // and any further tool_use block are dropped
};

// A request as Anthropic takes it.
struct AnthropicRequest {
  std::string body;  // the JSON body of POST /v1/messages
  AnthropicAnswer answer = AnthropicAnswer::tool_calls;
};

// A translated request, or the Outcome to answer instead (invalid_request set, `param` naming
// the OpenAI request field Anthropic cannot honour).
using AnthropicTranslation =
    boost::outcome_v2::basic_result<AnthropicRequest, Outcome, boost::outcome_v2::policy::terminate>;

// The request for `request`: system messages in the top-level `system`, the rest made to
// alternate as to_alternating() describes, OpenAI's features translated. Refused (see
// AnthropicTranslation) when no user message remains (no param), and for what Anthropic has no
// equivalent of: seed, non-zero presence_penalty / frequency_penalty, a non-empty logit_bias,
// response_format json_* together with tools, an unknown reasoning_effort, reasoning_effort with
// a forced tool choice or with temperature other than 1 or top_p below 0.95, a tool's parameters
// or a json_schema that is not a JSON object, an assistant's tool call whose arguments are not
// a JSON object, an image Anthropic cannot take.
AnthropicTranslation anthropic_request_body(const ChatRequest& request, std::int64_t default_max_tokens);

// How run_exchange reads this provider's answers (exposed for tests and fuzzing): the decoder
// of a streamed body and the parser of a whole 2xx body, for answers read as `answer` says.
// Neither throws; a malformed answer (an unparsable event, a tool_use block without id or name,
// input for a block that is not a tool_use) is a stream failure, or Code::upstream.
std::unique_ptr<StreamDecoder> anthropic_stream_decoder(AnthropicAnswer answer = AnthropicAnswer::tool_calls);
Result<WholeAnswer> anthropic_parse_whole(std::string_view body, AnthropicAnswer answer = AnthropicAnswer::tool_calls);

class AnthropicProvider final : public Provider {
 public:
  // `transport` must outlive the provider.
  AnthropicProvider(AnthropicOptions options, Transport& transport);

  std::string_view kind() const override { return "anthropic"; }
  boost::asio::awaitable<void> complete(const ChatRequest& request, const DeltaFn& on_delta, Cancellation& cancel,
                                        Outcome& out) override;

 private:
  AnthropicOptions options_;
  Transport& transport_;
};

}  // namespace chatd::llm
