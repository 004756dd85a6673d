#include "llm/provider_factory.hpp"

#include "llm/anthropic.hpp"
#include "llm/bedrock.hpp"
#include "llm/demo.hpp"
#include "llm/openai.hpp"

namespace chatd::llm {

std::unique_ptr<Provider> ProviderFactory::make(const ProviderSpec& spec) {
  if (spec.type == "demo") return std::make_unique<DemoProvider>();
  HttpClientOptions client_options;
  client_options.max_connections = spec.max_connections;
  clients_.push_back(std::make_unique<HttpClient>(client_options));
  Transport& transport = *clients_.back();
  if (spec.type == "openai") {
    OpenAiOptions o;
    o.base_url = spec.base_url;
    o.api_key = spec.api_key;
    o.auth = spec.auth == "api-key" ? OpenAiOptions::Auth::api_key : OpenAiOptions::Auth::bearer;
    o.query = spec.query;
    o.timeouts = spec.timeouts;
    return std::make_unique<OpenAiProvider>(std::move(o), transport);
  }
  if (spec.type == "anthropic") {
    AnthropicOptions o;
    o.base_url = spec.base_url;
    o.api_key = spec.api_key;
    o.timeouts = spec.timeouts;
    return std::make_unique<AnthropicProvider>(std::move(o), transport);
  }
  BedrockOptions o;
  o.region = spec.region;
  o.endpoint = spec.base_url;
  o.credentials.access_key_id = spec.access_key_id;
  o.credentials.secret_access_key = spec.secret_access_key;
  o.credentials.session_token = spec.session_token;
  o.timeouts = spec.timeouts;
  return std::make_unique<BedrockProvider>(std::move(o), transport);
}

}  // namespace chatd::llm
