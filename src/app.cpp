#include "app.hpp"

#include "api/routes.hpp"
#include "auth/admin.hpp"
#include "auth/api_authenticator.hpp"
#include "auth/api_keys.hpp"
#include "auth/invitations.hpp"
#include "auth/keys.hpp"
#include "auth/password_policy.hpp"
#include "auth/service.hpp"
#include "auth/store.hpp"
#include "auth/token_authenticator.hpp"
#include "auth/validation.hpp"
#include "chat/service.hpp"
#include "core/async.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "crypto/aead.hpp"
#include "crypto/password_hash.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "limits/memory_rate_limiter.hpp"
#include "llm/anthropic.hpp"
#include "llm/bedrock.hpp"
#include "llm/catalog.hpp"
#include "llm/demo.hpp"
#include "llm/gateway.hpp"
#include "llm/http_client.hpp"
#include "llm/openai.hpp"
#include "mail/mailer.hpp"
#include "observability/collectors.hpp"
#include "observability/metrics.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"
#include "web/assets.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stop_token>
#include <system_error>
#include <thread>

namespace chatd {

namespace {

// Periodic upkeep off the network threads: forget expired rate-limit entries and re-read
// the signing keys (another instance may have rotated them).
class Maintenance {
 public:
  Maintenance(limits::MemoryRateLimiter& limiter, auth::KeyRing& keys, Logger& log)
      : thread_([this, &limiter, &keys, &log](const std::stop_token& stop) {
          std::mutex mu;
          std::unique_lock lock(mu);
          while (!stop.stop_requested()) {
            cv_.wait_for(lock, stop, std::chrono::seconds(30), [] { return false; });
            if (stop.stop_requested()) break;
            limiter.sweep(system_now_ms());
            if (auto st = keys.load(); !st)
              log.warn("auth.keys_reload_failed")
                  .str("error", st.error().internal.empty() ? st.error().detail : st.error().internal);
          }
        }) {}

 private:
  std::condition_variable_any cv_;
  std::jthread thread_;
};

// The providers of the catalog, each over its own pooled HTTP client.
class Providers {
 public:
  std::unique_ptr<llm::Provider> make(const llm::ProviderSpec& spec) {
    if (spec.type == "demo") return std::make_unique<llm::DemoProvider>();
    llm::HttpClientOptions client_options;
    client_options.max_connections = spec.max_connections;
    clients_.push_back(std::make_unique<llm::HttpClient>(client_options));
    llm::Transport& transport = *clients_.back();
    if (spec.type == "openai") {
      llm::OpenAiOptions o;
      o.base_url = spec.base_url;
      o.api_key = spec.api_key;
      o.auth = spec.auth == "api-key" ? llm::OpenAiOptions::Auth::api_key : llm::OpenAiOptions::Auth::bearer;
      o.query = spec.query;
      o.timeouts = spec.timeouts;
      return std::make_unique<llm::OpenAiProvider>(std::move(o), transport);
    }
    if (spec.type == "anthropic") {
      llm::AnthropicOptions o;
      o.base_url = spec.base_url;
      o.api_key = spec.api_key;
      o.timeouts = spec.timeouts;
      return std::make_unique<llm::AnthropicProvider>(std::move(o), transport);
    }
    llm::BedrockOptions o;
    o.region = spec.region;
    o.endpoint = spec.base_url;
    o.credentials.access_key_id = spec.access_key_id;
    o.credentials.secret_access_key = spec.secret_access_key;
    o.credentials.session_token = spec.session_token;
    o.timeouts = spec.timeouts;
    return std::make_unique<llm::BedrockProvider>(std::move(o), transport);
  }

 private:
  std::vector<std::unique_ptr<llm::HttpClient>> clients_;
};

// Asks OpenAI-compatible servers without a configured model list for their models, in the
// background, every 30 s until it works: a server that is down at startup does not stop
// chatd, and its models appear in /models once it answers.
class Discovery {
 public:
  explicit Discovery(llm::Gateway& gateway) : gateway_(gateway) {
    if (!gateway.needs_discovery()) return;
    boost::asio::co_spawn(ioc_, loop(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Discovery() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

 private:
  boost::asio::awaitable<void> loop() {
    boost::asio::steady_timer timer(ioc_);
    while (gateway_.needs_discovery()) {
      co_await gateway_.discover();
      if (!gateway_.needs_discovery()) break;
      timer.expires_after(std::chrono::seconds(30));
      boost::system::error_code ec;
      co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
  }

  llm::Gateway& gateway_;
  boost::asio::io_context ioc_{1};
  std::thread thread_;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

store::DatabaseOptions database_options(const config::Config& config) {
  store::DatabaseOptions options;
  options.pool_size = config.db_pool_size;
  return options;
}

bool ensure_data_dir(const config::Config& config, Logger& log) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    log.error("startup.data_dir").str("path", config.data_dir).str("error", ec.message());
    return false;
  }
  std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  return true;
}

// Opens the database and applies pending migrations; logs and returns null on failure.
std::unique_ptr<store::Database> open_and_migrate(const config::Config& config, Logger& log) {
  auto db = store::open_database(config.database_url, database_options(config));
  if (!db) {
    log.error("startup.database").str("error", db.error().detail).str("cause", db.error().internal);
    return nullptr;
  }
  auto& database = *db.value();
  auto report = store::migrate(database, store::embedded_migrations(database.dialect()));
  if (!report) {
    log.error("startup.migrate").str("error", report.error().detail).str("cause", report.error().internal);
    return nullptr;
  }
  auto line = log.info("database.migrated");
  line.num("from_version", report.value().from_version).num("to_version", report.value().to_version);
  line.num("applied", static_cast<std::int64_t>(report.value().applied.size()));
  return std::move(db).value();
}

}  // namespace

int run_migrate(const config::Config& config) {
  Logger log(config.log_level, config.log_format);
  if (!ensure_data_dir(config, log)) return 1;
  return open_and_migrate(config, log) ? 0 : 1;
}

int run_create_admin(const config::Config& config, const std::string& email_in, const std::string& username,
                     const std::string& password) {
  Logger log(config.log_level, config.log_format);
  if (!ensure_data_dir(config, log)) return 1;
  auto db = open_and_migrate(config, log);
  if (!db) return 1;
  std::string email = auth::normalize_email(email_in);
  auto normalized = auth::normalize_password(password);
  if (!normalized) {
    std::fprintf(stderr, "chatd: the password is not valid UTF-8\n");
    return 2;
  }
  auth::PasswordPolicy policy;
  policy.min_length = config.password_min_length;
  std::vector<std::string_view> inputs{email, username};
  auto problems = auth::check_password(*normalized, policy, inputs);
  for (const auto& p : problems) std::fprintf(stderr, "chatd: password: %s\n", p.c_str());
  if (!problems.empty()) return 2;
  auto hashed = crypto::password::hash(*normalized);
  if (!hashed) return 1;

  std::int64_t now = system_now_ms();
  bool promoted = false;
  auth::RequestMeta meta{"", "chatd create-admin", ""};
  auto st = store::transact(*db, [&](store::Connection& c) -> Status {
    auto existing = auth::db::find_user_by_email(c, email);
    if (!existing) return existing.error();
    if (existing.value()) {
      const auto& user = *existing.value();
      promoted = true;
      if (auto r = auth::db::add_role(c, user.id, "admin"); !r) return r;
      if (!user.email_verified_at)
        if (auto r = auth::db::set_email_verified(c, user.id, now); !r) return r;
      nlohmann::json detail = {{"added", "admin"}, {"by", "create-admin"}};
      return auth::db::insert_audit(c, auth::AuditEvent("role.changed", user.id, std::nullopt, detail.dump()), meta,
                                    now);
    }
    auth::User user;
    user.id = new_uuid_v7(now);
    user.email = email;
    user.username = username;
    user.password_hash = hashed.value();
    user.email_verified_at = now;
    user.created_at = user.updated_at = now;
    user.roles = {"user", "admin"};
    if (auto r = auth::db::insert_user(c, user); !r) return r;
    return auth::db::insert_audit(
        c,
        auth::AuditEvent("user.registered", user.id, std::nullopt, R"({"by":"create-admin","roles":["user","admin"]})"),
        meta, now);
  });
  if (!st) {
    if (st.error().code == Code::conflict) {
      std::fprintf(stderr, "chatd: the username %s is taken by another account\n", username.c_str());
      return 2;
    }
    std::fprintf(stderr, "chatd: %s\n", st.error().detail.c_str());
    return 1;
  }
  std::printf("%s %s as an administrator\n", promoted ? "promoted" : "created", email.c_str());
  return 0;
}

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
  limits::MemoryRateLimiter limiter;
  auth::TokenAuthenticator authenticator(keys, *db, workers, clock, log, {config.public_url});
  auth::Service accounts(
      {*db, workers, hashing, keys, authenticator, *mailer, limiter, config, clock, log, data_key.value()});
  auth::ApiKeyAuthenticator api_key_authenticator(*db, workers, clock, log);
  auth::ApiKeys api_keys({*db, workers, api_key_authenticator, clock, log});
  auth::Invitations invitations({*db, workers, *mailer, limiter, config, clock, log});

  Maintenance maintenance(limiter, keys, log);

  auth::AdminService administration(
      {*db, workers, hashing, keys, authenticator, *mailer, limiter, config, clock, log, data_key.value()}, accounts);
  // A disabled user's API keys stop working at once, not when their cache entry expires.
  administration.on_user_changed(
      [&api_key_authenticator](const std::string& id) { api_key_authenticator.forget_user(id); });

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
  Providers providers;
  llm::Gateway gateway(
      std::move(catalog).value(), [&providers](const llm::ProviderSpec& spec) { return providers.make(spec); }, log,
      metrics);
  chat::Service chat({*db, workers, usage_writer, gateway, config, clock, log});
  auth::ApiAuthenticator api_authenticator(authenticator, api_key_authenticator);

  std::vector<api::ReadinessCheck> readiness;
  readiness.push_back({"database", [&db = *db, &workers]() { return run_blocking(workers, [&db] { return db.ping(); }); }});
  // Redis is not supported yet: configured, it is a failing check; not configured, "disabled".
  if (config.redis_url)
    readiness.push_back({"redis", []() -> boost::asio::awaitable<Status> {
                           co_return fail(Code::unavailable, "this build of chatd has no Redis support yet");
                         }});
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

  http::Pipeline pipeline(
      router, {config.cors_origins, config.trusted_proxies, config.max_body_bytes, config.rate_limits}, log, metrics);
  obs::add_collectors(metrics, pipeline, *db, {&workers, &hashing, &usage_writer}, *mailer);
  pipeline.set_fallback([&web_ui](const http::Context& ctx) { return web_ui.fallback(ctx); });
  pipeline.set_authenticator(&authenticator);
  pipeline.set_api_authenticator(&api_authenticator);
  pipeline.set_rate_limiter(&limiter);
  http::ServerOptions server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.threads = config.threads;
  server_options.header_timeout_ms = config.http_header_timeout_ms;
  server_options.body_timeout_ms = config.http_body_timeout_ms;
  server_options.idle_timeout_ms = config.http_idle_timeout_ms;
  server_options.max_header_bytes = config.max_header_bytes;
  server_options.max_body_bytes = config.max_body_bytes;
  server_options.max_connections = config.max_connections;
  server_options.shutdown_grace_ms = config.shutdown_grace_ms;
  http::Server server(server_options, pipeline, log);
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
  return clean ? 0 : 1;
}

}  // namespace chatd
