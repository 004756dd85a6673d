#pragma once
// Any OpenAI-compatible Chat Completions server: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp.

#include "core/result.hpp"
#include "llm/exchange.hpp"
#include "llm/provider.hpp"
#include "llm/transport.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace chatd::llm {

struct OpenAiOptions {
  // Up to and including the API version segment, e.g. "https://api.openai.com/v1" or, for
  // Azure, "https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT". A trailing '/' is fine.
  std::string base_url = "https://api.openai.com/v1";
  std::string api_key;  // empty: no authorisation header (local servers)
  enum class Auth {
    bearer,   // Authorization: Bearer KEY
    api_key,  // api-key: KEY (Azure OpenAI)
  };
  Auth auth = Auth::bearer;
  std::string query;  // appended to every URL, e.g. "api-version=2024-10-21" for Azure
  Timeouts timeouts;
};

// The JSON body of POST {base}/chat/completions for `request`.
std::string openai_request_body(const ChatRequest& request);

// How run_exchange reads this provider's answers (exposed for tests and fuzzing): the decoder
// of a streamed body and the parser of a whole 2xx body. Neither throws.
std::unique_ptr<StreamDecoder> openai_stream_decoder();
Result<WholeAnswer> openai_parse_whole(std::string_view body);

class OpenAiProvider final : public Provider {
 public:
  // `transport` must outlive the provider.
  OpenAiProvider(OpenAiOptions options, Transport& transport);

  std::string_view kind() const override { return "openai"; }
  boost::asio::awaitable<void> complete(const ChatRequest& request, const DeltaFn& on_delta, Cancellation& cancel,
                                        Outcome& out) override;
  // POST {base}/embeddings.
  boost::asio::awaitable<Outcome> embed(const EmbeddingRequest& request, Cancellation& cancel) override;
  // GET {base}/models -> data[].id.
  boost::asio::awaitable<std::vector<std::string>> list_models(std::string& error) override;

 private:
  void add_auth(UpstreamRequest& request) const;

  OpenAiOptions options_;
  Transport& transport_;
  // Built once: what every chat completion sends.
  std::string chat_url_;
  std::string auth_name_;   // "authorization" or "api-key"; empty without a key
  std::string auth_value_;  // "Bearer <key>" or the key
};

}  // namespace chatd::llm
