#pragma once
// The one door to the models: looks a public model id up in the catalog, calls its
// provider, retries what may be retried (connect errors, 429, 5xx before the first byte;
// exponential backoff with full jitter, Retry-After honoured up to a bound) and then tries
// the model's fallbacks in order. Once a delta reached the caller nothing is retried: the
// caller already showed that text.

#include "core/log.hpp"
#include "llm/catalog.hpp"
#include "llm/image_fetch.hpp"
#include "llm/provider.hpp"
#include "observability/metrics.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace chatd::llm {

struct ModelInfo {
  std::string id;
  std::string provider;       // the provider's name
  std::string provider_type;  // "openai", "anthropic", "bedrock" or "demo"
  std::string upstream_id;
  std::int64_t context_window = 8192;
  std::optional<std::int64_t> max_output_tokens;
  Price price;
  std::vector<std::string> fallbacks;
  bool demo = false;
  bool embedding = false;  // an embedding model: /v1/embeddings only
};

// One upstream request and how it went: the unit of a usage event.
struct Attempt {
  std::string provider;
  std::string model;  // public id
  Outcome::Status status = Outcome::Status::error;
  Usage usage;
  double cost_usd = 0;
  std::int64_t latency_ms = 0;
};

struct GatewayResult {
  Outcome outcome;                // of the last attempt
  std::string provider, model;    // who produced `outcome`
  std::vector<Attempt> attempts;  // every upstream request, in order
};

class Gateway {
 public:
  using ProviderFactory = std::function<std::unique_ptr<Provider>(const ProviderSpec&)>;

  Gateway(Catalog catalog, const ProviderFactory& make_provider, Logger& log, obs::Metrics& metrics);

  // Every model known now (listed, or discovered so far), in catalog order.
  std::vector<ModelInfo> models() const;
  std::optional<ModelInfo> find(std::string_view id) const;
  // CHATD_DEFAULT_MODEL, else the first chat model known; "" when none is known yet.
  std::string default_model() const;
  bool demo() const { return catalog_.demo; }

  // Where the https images of a request are fetched when the chain reaches a Bedrock model
  // (Bedrock takes images only as bytes): once, before the first attempt on such a model,
  // whether it is the model asked for or a fallback; the other providers get the URL itself.
  // Without it, such images stay URLs and the Bedrock provider refuses them. Set it before
  // the first request; `transport` must outlive the gateway's calls.
  void fetch_images_with(Transport& transport, ImageFetchOptions options);

  // Runs an embeddings call on model `model_id` (its `model` is set here). Retried as
  // completions are; never falls back to another model, whose vectors would not compare.
  boost::asio::awaitable<GatewayResult> embed(const std::string& model_id, EmbeddingRequest request,
                                              Cancellation& cancel);

  // Asks the providers that list their models (OpenAI-compatible servers without
  // CHATD_OPENAI_MODELS) for them. Failures are logged; call again to retry.
  boost::asio::awaitable<void> discover();
  // Whether some provider still waits for a successful discovery.
  bool needs_discovery() const;

  // Runs `request` (its `model` and `max_tokens` are set per attempt) on model `model_id` and
  // its fallbacks, writing how it went into `result` (the caller's, passed in fresh). The
  // caller keeps both for the call: a stream keeps this coroutine's frame for as long as it
  // lasts, and copies of them there (or a returned result in the promise) would cost memory
  // per held stream.
  boost::asio::awaitable<void> complete(const std::string& model_id, ChatRequest& request, const DeltaFn& on_delta,
                                        Cancellation& cancel, GatewayResult& result);

 private:
  struct Backend {
    ProviderSpec spec;
    std::unique_ptr<Provider> provider;
    bool discovered = false;
    std::vector<ModelSpec> discovered_models;  // guarded by mu_
  };
  // The model called `model_id` and (when `backend` is not null) its backend; mu_ held.
  const ModelSpec* find_locked(std::string_view model_id, const Backend** backend) const;
  const Backend* backend_of(std::string_view model_id, ModelSpec& out) const;
  std::vector<std::string> candidates_for(const std::string& model_id) const;
  // Sets `request` up for model `model_id` (its upstream id, max_tokens capped by the model's
  // limit) and its price; the model's backend, or nullptr when the model is unknown. Not a
  // coroutine: a ModelSpec copied into Gateway::complete's frame would stay for a stream's length.
  const Backend* prepare_attempt(const std::string& model_id, std::optional<std::int64_t> asked_max_tokens,
                                 ChatRequest& request, Price& price) const;
  // Fetches the https images of `request` for a Bedrock attempt; false with `out` set to the
  // client's error (422 naming the image) when one cannot be fetched.
  boost::asio::awaitable<bool> fetch_images(ChatRequest& request, Cancellation& cancel, Outcome& out) const;
  // Adds the attempt whose outcome is in `result.outcome` to `result.attempts`.
  void record_attempt(GatewayResult& result, const Backend& backend, const std::string& model_id, const Price& price,
                      std::optional<std::chrono::steady_clock::time_point> first_text,
                      std::chrono::steady_clock::time_point started, int attempt);
  std::int64_t backoff_ms(const RetryPolicy& policy, int attempt);

  Catalog catalog_;
  Logger& log_;
  obs::Metrics& metrics_;
  std::vector<std::unique_ptr<Backend>> backends_;
  Transport* image_transport_ = nullptr;
  ImageFetchOptions image_options_;
  mutable std::mutex mu_;
};

}  // namespace chatd::llm
