#pragma once
// Anthropic's Messages API (POST {base}/v1/messages), streaming or not.

#include "core/result.hpp"
#include "llm/exchange.hpp"
#include "llm/provider.hpp"
#include "llm/transport.hpp"

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

// The JSON body of POST /v1/messages for `request`: system messages in the top-level `system`,
// the rest made to alternate as to_alternating() describes. Code::invalid_argument when no user
// message remains.
Result<std::string> anthropic_request_body(const ChatRequest& request, std::int64_t default_max_tokens);

// How run_exchange reads this provider's answers (exposed for tests and fuzzing): the decoder
// of a streamed body and the parser of a whole 2xx body. Neither throws.
std::unique_ptr<StreamDecoder> anthropic_stream_decoder();
Result<WholeAnswer> anthropic_parse_whole(std::string_view body);

class AnthropicProvider final : public Provider {
 public:
  // `transport` must outlive the provider.
  AnthropicProvider(AnthropicOptions options, Transport& transport);

  std::string_view kind() const override { return "anthropic"; }
  boost::asio::awaitable<Outcome> complete(const ChatRequest& request, const DeltaFn& on_delta,
                                           Cancellation& cancel) override;

 private:
  AnthropicOptions options_;
  Transport& transport_;
};

}  // namespace chatd::llm
