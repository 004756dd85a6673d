// `chatd serve`: the composition root. Builds every component from the Config, wires them
// together and serves; nothing else happens here.
#include "api/routes.hpp"
#include "app/app.hpp"
#include "app/cluster.hpp"
#include "app/jobs.hpp"
#include "app/startup.hpp"
#include "auth/admin.hpp"
#include "auth/api_authenticator.hpp"
#include "auth/api_keys.hpp"
#include "auth/invitations.hpp"
#include "auth/keys.hpp"
#include "auth/password_policy.hpp"
#include "auth/service.hpp"
#include "auth/token_authenticator.hpp"
#include "chat/service.hpp"
#include "core/async.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "crypto/aead.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "limits/memory_rate_limiter.hpp"
#include "limits/redis_rate_limiter.hpp"
#include "llm/catalog.hpp"
#include "llm/gateway.hpp"
#include "llm/http_client.hpp"
#include "llm/image_fetch.hpp"
#include "llm/provider_factory.hpp"
#include "mail/mailer.hpp"
#include "observability/collectors.hpp"
#include "observability/metrics.hpp"
#include "redis/client.hpp"
#include "redis/endpoint.hpp"
#include "store/database.hpp"
#include "web/assets.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace chatd::app {

int run_serve(const config::Config& config) {
  Logger log(config.log_level, config.log_format);
  if (!ensure_data_dir(config, log)) return 1;
  auto db = open_and_migrate(config, log);
  if (!db) return 1;

  std::optional<std::array<std::uint8_t, 32>> master_key;
  if (config.master_key) master_key = config::decode_master_key(*config.master_key);
  auto data_key = crypto::DataKey::resolve(master_key, config.data_dir);
  if (!data_key) {
    log.error("startup.data_key").str("error", data_key.error().detail).str("cause", data_key.error().internal);
    return 1;
  }
  SystemClock clock;
  auth::KeyRing keys(*db, data_key.value(), clock, log, config.access_token_ttl * 1000);
  if (auto st = keys.load(); !st) {
    auto line = log.error("startup.signing_keys");
    line.str("error", st.error().detail);
    if (!st.error().internal.empty()) line.str("cause", st.error().internal);
    return st.error().code == Code::invalid_argument ? 2 : 1;  // a setting to fix, or a failure
  }
  if (auto st = auth::check_password_dictionary(); !st)
    log.warn("startup.password_dictionary").str("error", st.error().detail);

  WorkerPool workers("worker", static_cast<std::size_t>(config.workers), static_cast<std::size_t>(config.worker_queue));
  // Argon2id is CPU- and memory-bound: one hash per core at a time, a bounded queue behind.
  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  WorkerPool hashing("hash", cores, 64 * cores, 10);
  // Usage events are written in batches by one job at a time (chat::UsageRecorder): a thread
  // of their own, niced like the hashing, so that a batch yields to the network threads.
  WorkerPool usage_writer("usage", 1, 1, 10);
  auto mailer = mail::make_mailer(config, log);
  std::vector<std::string> buckets;
  for (const auto& [name, rule] : config.rate_limits) buckets.push_back(name);
  obs::Metrics metrics(std::move(buckets), CHATD_VERSION);
  // Rate limits live in Redis when it is configured (shared by every instance), with the
  // in-process limiter as its fallback while Redis cannot answer.
  limits::MemoryRateLimiter local_limiter;
  std::optional<redis::Client> redis_client;
  std::optional<limits::RedisRateLimiter> shared_limiter;
  if (config.redis_url) {
    auto endpoint = redis::parse_endpoint(*config.redis_url);
    if (!endpoint) {
      log.error("startup.redis").str("error", endpoint.error().detail);
      return 2;
    }
    redis::ConnectionOptions redis_options;
    redis_options.endpoint = std::move(endpoint).value();
    redis_client.emplace(std::move(redis_options), log);
    shared_limiter.emplace(*redis_client, local_limiter, log);
  }
  limits::RateLimiter& limiter = shared_limiter ? static_cast<limits::RateLimiter&>(*shared_limiter) : local_limiter;
  auth::TokenAuthenticator authenticator(keys, *db, workers, clock, log, {config.public_url});
  auth::Service accounts(
      {*db, workers, hashing, keys, authenticator, *mailer, limiter, config, clock, log, data_key.value()});
  auth::ApiKeyAuthenticator api_key_authenticator(*db, workers, clock, log);
  auth::ApiKeys api_keys({*db, workers, api_key_authenticator, clock, log});
  auth::Invitations invitations({*db, workers, *mailer, limiter, config, clock, log});

  Maintenance maintenance(local_limiter, keys, log);

  auth::AdminService administration(
      {*db, workers, hashing, keys, authenticator, *mailer, limiter, config, clock, log, data_key.value()}, accounts);
  // A disabled user's API keys stop working at once, not when their cache entry expires.
  administration.on_user_changed(
      [&api_key_authenticator](const std::string& id) { api_key_authenticator.forget_user(id); });
  // Several instances: revocations, role changes and key rotations reach the others at once.
  std::optional<Cluster> cluster;
  if (redis_client) cluster.emplace(*redis_client, authenticator, api_key_authenticator, keys, workers, log);

  std::optional<std::string> providers_text;
  if (config.providers_file) {
    providers_text = read_file(*config.providers_file);
    if (!providers_text) {
      log.error("startup.providers_file").str("error", "CHATD_PROVIDERS_FILE cannot be read");
      return 2;
    }
  }
  auto catalog = llm::build_catalog(config, providers_text);
  if (!catalog) {
    std::fprintf(stderr, "%s\n", catalog.error().detail.c_str());
    log.error("startup.providers").str("error", catalog.error().detail);
    return 2;
  }
  if (catalog.value().demo)
    log.warn("startup.demo_model").str("detail", "no LLM provider is configured: serving the built-in demo model only");
  llm::ProviderFactory providers;
  // Images a provider needs as bytes (Bedrock) are fetched through a client of their own that
  // connects to public addresses only: a URL in a request must not reach the internal network.
  llm::HttpClientOptions image_client_options;
  image_client_options.max_connections = 16;
  if (!config.image_fetch_allow_private) image_client_options.allow_address = &llm::is_public_address;
  llm::HttpClient image_client(image_client_options);
  llm::Gateway gateway(
      std::move(catalog).value(), [&providers](const llm::ProviderSpec& spec) { return providers.make(spec); }, log,
      metrics);
  llm::ImageFetchOptions image_fetch_options;
  image_fetch_options.max_bytes = config.max_image_bytes;
  gateway.fetch_images_with(image_client, image_fetch_options);
  chat::Service chat({*db, workers, usage_writer, gateway, config, clock, log});
  auth::ApiAuthenticator api_authenticator(authenticator, api_key_authenticator);

  std::vector<api::ReadinessCheck> readiness;
  readiness.push_back(
      {"database", [&db = *db, &workers]() { return run_blocking(workers, [&db] { return db.ping(); }); }});
  // Not configured, Redis is "disabled"; configured, a PING on the answering thread's connection.
  if (redis_client)
    readiness.push_back({"redis", [&client = *redis_client]() { return client.ping(); }});
  else
    readiness.push_back({"redis", {}});
  api::Services services{accounts,
                         keys,
                         invitations,
                         api_keys,
                         administration,
                         chat,
                         metrics,
                         std::move(readiness),
                         {config.public_url.starts_with("https://"), config.refresh_token_ttl},
                         config.metrics_token};
  http::Router router;
  api::add_api_routes(router, services);

  // The web UI's files (not part of the API's route table above).
  web::StaticFiles web_ui(web::embedded_assets());
  web_ui.add_routes(router);

  http::Pipeline pipeline(router,
                          {config.cors_origins, config.trusted_proxies, config.max_body_bytes, config.rate_limits},
                          {authenticator, api_authenticator, limiter}, log, metrics);
  obs::add_collectors(metrics, pipeline.http_metrics(), *db, {&workers, &hashing, &usage_writer}, *mailer);
  // Always exposed (zero without Redis), so that dashboards and alerts need no special case.
  metrics.add_collector([&redis_client, &shared_limiter](obs::TextWriter& out) {
    redis::Client::Stats stats = redis_client ? redis_client->stats() : redis::Client::Stats{};
    out.family("chatd_redis_connections", "gauge",
               "Redis connections of this instance (one per network thread and a subscriber), and how many are ready");
    out.sample("chatd_redis_connections", {{"state", "configured"}}, static_cast<double>(stats.connections));
    out.sample("chatd_redis_connections", {{"state", "ready"}}, static_cast<double>(stats.ready));
    out.family("chatd_rate_limit_fallbacks_total", "counter",
               "Rate-limit decisions taken by this instance alone because Redis could not answer");
    out.sample("chatd_rate_limit_fallbacks_total", {}, shared_limiter ? shared_limiter->fallbacks() : std::uint64_t{0});
  });
  pipeline.set_fallback([&web_ui](const http::Context& ctx) { return web_ui.fallback(ctx); });
  http::ServerOptions server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.threads = config.threads;
  server_options.header_timeout_ms = config.http_header_timeout_ms;
  server_options.body_timeout_ms = config.http_body_timeout_ms;
  server_options.idle_timeout_ms = config.http_idle_timeout_ms;
  server_options.max_header_bytes = config.max_header_bytes;
  server_options.max_body_bytes = config.max_body_bytes;
  server_options.large_body_prefix = "/v1/";
  server_options.large_body_bytes = config.max_v1_body_bytes;
  server_options.max_connections = config.max_connections;
  server_options.shutdown_grace_ms = config.shutdown_grace_ms;
  http::Server server(server_options, pipeline, log);
  if (redis_client) redis_client->attach(server.contexts());
  if (auto st = server.listen(); !st) {
    log.error("startup.listen").str("error", st.error().detail);
    return 1;
  }
  log.info("chatd.started")
      .str("version", CHATD_VERSION)
      .str("env", config.production ? "production" : "development")
      .str("database", db->dialect() == store::Dialect::sqlite ? "sqlite" : "postgresql");
  Discovery discovery(gateway);
  bool clean = server.run();
  // The network threads have stopped; a request that missed the drain deadline may still
  // have a job on a pool, which uses the services and posts its result to an io_context of
  // the server. Finish those jobs now, while all of that still exists.
  workers.shutdown();
  hashing.shutdown();
  if (redis_client) redis_client->stop();  // before the server's contexts go
  return clean ? 0 : 1;
}

}  // namespace chatd::app
