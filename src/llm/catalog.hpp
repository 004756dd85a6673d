#pragma once
// Which providers and models chatd serves: built once at startup from CHATD_PROVIDERS_FILE
// when it is set, else from the CHATD_OPENAI_* / CHATD_ANTHROPIC_* / AWS_* + CHATD_BEDROCK_*
// variables; with no provider configured, the built-in `demo` model alone. The file format
// is documented in docs/providers.md.

#include "config/config.hpp"
#include "core/result.hpp"
#include "llm/transport.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {

struct Price {
  double prompt_per_million = 0;      // USD per 1,000,000 prompt tokens
  double completion_per_million = 0;  // USD per 1,000,000 completion tokens
  double cost(std::int64_t prompt_tokens, std::int64_t completion_tokens) const {
    return (static_cast<double>(prompt_tokens) * prompt_per_million +
            static_cast<double>(completion_tokens) * completion_per_million) /
           1e6;
  }
};

struct RetryPolicy {
  int max_attempts = 2;           // per model, the first try included
  std::int64_t backoff_ms = 250;  // first delay; doubled each time, with full jitter
  std::int64_t max_backoff_ms = 4000;
  std::int64_t max_retry_after_ms = 10000;  // a longer Retry-After is not waited for: fall back instead
};

struct ModelSpec {
  std::string id;           // the public name (/models, conversations, /v1)
  std::string upstream_id;  // the name the provider knows (defaults to id)
  std::int64_t context_window = 8192;
  std::optional<std::int64_t> max_output_tokens;
  Price price;
  std::vector<std::string> fallbacks;  // other public model ids, tried in order
  bool embedding = false;              // an embedding model (POST /v1/embeddings only): "kind" in the
                                       // providers file, else an upstream id containing "embed"
};

// Whether an upstream model id names an embedding model ("text-embedding-3-small",
// "amazon.titan-embed-text-v2:0", "cohere.embed-english-v3", "nomic-embed-text", ...).
bool looks_like_embedding_model(std::string_view upstream_id);

struct ProviderSpec {
  std::string name;  // unique; recorded in usage events
  std::string type;  // "openai", "anthropic", "bedrock" or "demo"
  std::string base_url;
  std::string api_key;
  std::string auth = "bearer";  // openai only: "bearer" or "api-key" (Azure)
  std::string query;            // openai only: appended to every URL (Azure's api-version=...)
  std::string region;           // bedrock
  std::string access_key_id, secret_access_key, session_token;  // bedrock
  Timeouts timeouts;
  RetryPolicy retries;
  int max_connections = 64;
  std::vector<ModelSpec> models;
  bool discover_models = false;   // openai with no models listed: ask GET {base}/models
  ModelSpec discovered_defaults;  // context window and prices of discovered models
};

struct Catalog {
  std::vector<ProviderSpec> providers;
  std::string default_model;  // empty: the first model listed (or discovered)
  bool demo = false;          // no provider configured: the built-in demo model only
};

// From the configuration; `file_text` is the providers file's content when
// CHATD_PROVIDERS_FILE is set. Errors: Code::invalid_argument with one line per problem
// in `detail` (separated by '\n'), e.g. a malformed file, an unknown provider type, a model
// listed twice, a fallback or default model that does not exist.
Result<Catalog> build_catalog(const config::Config& config, const std::optional<std::string>& file_text);

}  // namespace chatd::llm
