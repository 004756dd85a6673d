#pragma once
// Makes the catalog's providers (OpenAI-compatible, Anthropic, Bedrock, the demo model), each
// over its own pooled HTTP client, which the factory keeps: it outlives the gateway that uses
// them. A new provider type is one more branch of make().

#include "llm/catalog.hpp"
#include "llm/http_client.hpp"
#include "llm/provider.hpp"

#include <memory>
#include <vector>

namespace chatd::llm {

class ProviderFactory {
 public:
  std::unique_ptr<Provider> make(const ProviderSpec& spec);

 private:
  std::vector<std::unique_ptr<HttpClient>> clients_;
};

}  // namespace chatd::llm
