#include "llm/gateway.hpp"

#include "crypto/random.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

namespace chatd::llm {

namespace asio = boost::asio;

namespace {

ModelInfo info_of(const ModelSpec& m, const ProviderSpec& p) {
  ModelInfo info;
  info.id = m.id;
  info.provider = p.name;
  info.provider_type = p.type;
  info.upstream_id = m.upstream_id;
  info.context_window = m.context_window;
  info.max_output_tokens = m.max_output_tokens;
  info.price = m.price;
  info.fallbacks = m.fallbacks;
  info.demo = p.type == "demo";
  info.embedding = m.embedding;
  return info;
}

}  // namespace

Gateway::Gateway(Catalog catalog, const ProviderFactory& make_provider, Logger& log, obs::Metrics& metrics)
    : catalog_(std::move(catalog)), log_(log), metrics_(metrics) {
  for (const auto& spec : catalog_.providers) {
    auto b = std::make_unique<Backend>();
    b->spec = spec;
    b->provider = make_provider(spec);
    backends_.push_back(std::move(b));
  }
}

std::vector<ModelInfo> Gateway::models() const {
  std::vector<ModelInfo> out;
  std::lock_guard lock(mu_);
  for (const auto& b : backends_) {
    for (const auto& m : b->spec.models) out.push_back(info_of(m, b->spec));
    for (const auto& m : b->discovered_models) out.push_back(info_of(m, b->spec));
  }
  return out;
}

const ModelSpec* Gateway::find_locked(std::string_view model_id, const Backend** backend) const {
  for (const auto& b : backends_) {
    for (const auto* list : {&b->spec.models, &b->discovered_models})
      for (const auto& m : *list)
        if (m.id == model_id) {
          if (backend != nullptr) *backend = b.get();
          return &m;
        }
  }
  return nullptr;
}

const Gateway::Backend* Gateway::backend_of(std::string_view model_id, ModelSpec& out) const {
  std::lock_guard lock(mu_);
  const Backend* backend = nullptr;
  const ModelSpec* m = find_locked(model_id, &backend);
  if (m == nullptr) return nullptr;
  out = *m;
  return backend;
}

std::optional<ModelInfo> Gateway::find(std::string_view id) const {
  std::lock_guard lock(mu_);
  const Backend* b = nullptr;
  const ModelSpec* m = find_locked(id, &b);
  if (m == nullptr) return std::nullopt;
  return info_of(*m, b->spec);
}

std::string Gateway::default_model() const {
  if (!catalog_.default_model.empty()) return catalog_.default_model;
  for (const auto& m : models())
    if (!m.embedding) return m.id;
  return {};
}

bool Gateway::needs_discovery() const {
  std::lock_guard lock(mu_);
  for (const auto& b : backends_)
    if (b->spec.discover_models && !b->discovered) return true;
  return false;
}

asio::awaitable<void> Gateway::discover() {
  for (auto& b : backends_) {
    {
      std::lock_guard lock(mu_);
      if (!b->spec.discover_models || b->discovered) continue;
    }
    std::string error;
    std::vector<std::string> ids = co_await b->provider->list_models(error);
    if (!error.empty()) {
      log_.warn("llm.discovery_failed").str("provider", b->spec.name).str("error", error);
      continue;
    }
    std::vector<ModelSpec> found;
    for (const auto& id : ids) {
      ModelSpec m = b->spec.discovered_defaults;
      m.id = id;
      m.upstream_id = id;
      m.embedding = looks_like_embedding_model(id);
      ModelSpec existing;
      if (!backend_of(id, existing)) found.push_back(std::move(m));
    }
    log_.info("llm.models_discovered")
        .str("provider", b->spec.name)
        .num("models", static_cast<std::int64_t>(found.size()));
    std::lock_guard lock(mu_);
    b->discovered_models = std::move(found);
    b->discovered = true;
  }
}

std::int64_t Gateway::backoff_ms(const RetryPolicy& policy, int attempt) {
  std::int64_t cap = policy.backoff_ms;
  for (int i = 1; i < attempt && cap < policy.max_backoff_ms; ++i) cap *= 2;
  cap = std::min(cap, policy.max_backoff_ms);
  if (cap <= 0) return 0;
  std::uint64_t r = 0;
  crypto::random_bytes(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&r), sizeof r));
  return static_cast<std::int64_t>(r % static_cast<std::uint64_t>(cap + 1));  // full jitter
}

// Helpers of complete() that do not suspend: in a coroutine, every local lives in its frame,
// which a long stream keeps for its whole length; out here they live on the stack a moment.
std::vector<std::string> Gateway::candidates_for(const std::string& model_id) const {
  std::vector<std::string> candidates;
  candidates.push_back(model_id);
  std::lock_guard lock(mu_);
  if (const ModelSpec* first = find_locked(model_id, nullptr))
    for (const auto& f : first->fallbacks)
      if (std::find(candidates.begin(), candidates.end(), f) == candidates.end()) candidates.push_back(f);
  return candidates;
}

void Gateway::record_attempt(GatewayResult& result, const Backend& backend, const std::string& model_id,
                             const Price& price, std::optional<std::chrono::steady_clock::time_point> first_text,
                             std::chrono::steady_clock::time_point started, int attempt) {
  const Outcome& outcome = result.outcome;
  Attempt a;
  a.provider = backend.spec.name;
  a.model = model_id;
  a.status = outcome.status;
  a.usage = outcome.usage;
  a.cost_usd = price.cost(outcome.usage.prompt_tokens, outcome.usage.completion_tokens);
  auto ended = std::chrono::steady_clock::now();
  a.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ended - started).count();
  std::optional<std::int64_t> first_text_us;
  if (first_text) first_text_us = std::chrono::duration_cast<std::chrono::microseconds>(*first_text - started).count();
  metrics_.llm_request(a.provider, a.model, status_name(a.status), a.usage.prompt_tokens, a.usage.completion_tokens,
                       a.cost_usd, std::chrono::duration_cast<std::chrono::microseconds>(ended - started).count(),
                       first_text_us);
  if (outcome.status != Outcome::Status::complete) {
    log_.warn("llm.attempt_failed")
        .str("provider", a.provider)
        .str("model", a.model)
        .str("status", status_name(outcome.status))
        .num("upstream_status", outcome.upstream_status)
        .num("attempt", attempt)
        .str("error", outcome.internal.empty() ? outcome.detail : outcome.internal);
  }
  result.provider = a.provider;
  result.model = a.model;
  result.attempts.push_back(std::move(a));
}

const Gateway::Backend* Gateway::prepare_attempt(const std::string& model_id,
                                                 std::optional<std::int64_t> asked_max_tokens, ChatRequest& request,
                                                 Price& price) const {
  std::lock_guard lock(mu_);
  const Backend* backend = nullptr;
  const ModelSpec* m = find_locked(model_id, &backend);
  if (m == nullptr) return nullptr;
  request.model = m->upstream_id;
  request.max_tokens = asked_max_tokens;
  if (m->max_output_tokens && (!request.max_tokens || *request.max_tokens > *m->max_output_tokens))
    request.max_tokens = m->max_output_tokens;
  price = m->price;
  return backend;
}

namespace {

// The pause before a retry, cancelled with the request. A coroutine of its own, so that its
// timer is not in the frame of Gateway::complete, which a stream keeps for as long as it lasts.
asio::awaitable<void> wait_before_retry(std::int64_t wait_ms, Cancellation& cancel) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(wait_ms));
  cancel.on_cancel([&timer] { timer.cancel(); });
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  cancel.on_cancel({});
}

// What Gateway::complete learns from the deltas passing through, for the metrics and the
// retry decision.
struct DeltaWatch {
  const DeltaFn* on_delta = nullptr;
  bool delivered = false;
  std::optional<std::chrono::steady_clock::time_point> first_text;  // of the current attempt
};

}  // namespace

asio::awaitable<void> Gateway::complete(const std::string& model_id, ChatRequest& request, const DeltaFn& on_delta,
                                        Cancellation& cancel, GatewayResult& result) {
  DeltaWatch watch;
  watch.on_delta = &on_delta;
  // Not a coroutine: hands on the caller's awaitable (no frame of its own per delta), and
  // captures one pointer (no allocation for the std::function).
  const DeltaFn counting = [w = &watch](const Delta& delta) {
    w->delivered = true;
    if (!w->first_text) w->first_text = std::chrono::steady_clock::now();
    return (*w->on_delta)(delta);
  };

  const std::vector<std::string> candidates = candidates_for(model_id);
  result.outcome.detail = "the model is not available";
  // What the caller asked for: each candidate caps it with its own limit, not the previous one's.
  const std::optional<std::int64_t> asked_max_tokens = request.max_tokens;
  for (const auto& candidate : candidates) {
    Price price;
    const Backend* backend = prepare_attempt(candidate, asked_max_tokens, request, price);
    if (!backend) continue;
    if (backend->spec.type == "bedrock" && image_transport_ != nullptr && has_url_images(request)) {
      const bool fetched = co_await fetch_images(request, cancel, result.outcome);
      if (!fetched) co_return;
    }
    const RetryPolicy& policy = backend->spec.retries;
    bool next_model = false;
    for (int attempt = 1; attempt <= policy.max_attempts && !next_model; ++attempt) {
      auto started = std::chrono::steady_clock::now();
      watch.first_text.reset();
      result.outcome = Outcome{};
      co_await backend->provider->complete(request, counting, cancel, result.outcome);
      record_attempt(result, *backend, candidate, price, watch.first_text, started, attempt);
      const Outcome& o = result.outcome;
      if (o.status == Outcome::Status::complete || o.status == Outcome::Status::cancelled || watch.delivered ||
          cancel.cancelled())
        co_return;
      // A timeout is not retried on the same model (a hung upstream would double the wait)
      // but may fall back; an error the upstream will repeat (400, 401, ...) ends here.
      if (o.status == Outcome::Status::timeout) {
        next_model = true;
        break;
      }
      if (!o.retryable) co_return;
      if (attempt == policy.max_attempts) break;
      std::int64_t wait_ms = o.retry_after_ms > 0 ? o.retry_after_ms : backoff_ms(policy, attempt);
      if (o.retry_after_ms > policy.max_retry_after_ms) break;  // not worth waiting: fall back
      co_await wait_before_retry(wait_ms, cancel);
      if (cancel.cancelled()) {
        result.outcome.status = Outcome::Status::cancelled;
        co_return;
      }
    }
  }
}

void Gateway::fetch_images_with(Transport& transport, ImageFetchOptions options) {
  image_transport_ = &transport;
  image_options_ = options;
}

asio::awaitable<bool> Gateway::fetch_images(ChatRequest& request, Cancellation& cancel, Outcome& out) const {
  auto fetched = co_await fetch_request_images(*image_transport_, request, image_options_, cancel);
  if (fetched) co_return true;
  // The client's to see (OpenAI answers 400 for an image it cannot download): a validation
  // error naming the image. Nothing was sent upstream, so no attempt is recorded.
  const Error& e = fetched.error();
  out = Outcome{};
  out.status = cancel.cancelled() ? Outcome::Status::cancelled : Outcome::Status::error;
  out.invalid_request = true;
  out.param = e.fields.empty() ? std::string("messages") : e.fields[0].field;
  out.detail = "the image could not be fetched: " + (e.fields.empty() ? e.detail : e.fields[0].message);
  co_return false;
}

asio::awaitable<GatewayResult> Gateway::embed(const std::string& model_id, EmbeddingRequest request,
                                              Cancellation& cancel) {
  GatewayResult result;
  result.outcome.detail = "the model is not available";
  ModelSpec model;
  const Backend* backend = backend_of(model_id, model);
  if (!backend) co_return result;
  request.model = model.upstream_id;
  const RetryPolicy& policy = backend->spec.retries;
  for (int attempt = 1; attempt <= policy.max_attempts; ++attempt) {
    auto started = std::chrono::steady_clock::now();
    result.outcome = co_await backend->provider->embed(request, cancel);
    record_attempt(result, *backend, model.id, model.price, std::nullopt, started, attempt);
    const Outcome& o = result.outcome;
    if (o.status != Outcome::Status::error || !o.retryable || cancel.cancelled() || attempt == policy.max_attempts ||
        o.retry_after_ms > policy.max_retry_after_ms)
      break;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(
        std::chrono::milliseconds(o.retry_after_ms > 0 ? o.retry_after_ms : backoff_ms(policy, attempt)));
    cancel.on_cancel([&timer] { timer.cancel(); });
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    cancel.on_cancel({});
  }
  co_return result;
}

}  // namespace chatd::llm
