#include "service_fixture.hpp"

#include "auth/store.hpp"
#include "crypto/password_hash.hpp"

#include <stdexcept>

namespace chatd::unit {

namespace {

config::Config test_config() {
  config::Config c = config::load(config::Sources{}).config;
  c.public_url = "http://chat.test";
  c.log_level = LogLevel::info;
  return c;
}

llm::Catalog test_catalog() {
  llm::RetryPolicy retries;
  retries.max_attempts = 2;
  retries.backoff_ms = 0;
  llm::ModelSpec main_model;
  main_model.id = kModel;
  main_model.upstream_id = "alpha-upstream-1";
  main_model.price = {1.0, 2.0};
  main_model.fallbacks = {kFallbackModel};
  llm::ModelSpec tiny;
  tiny.id = tiny.upstream_id = kTinyModel;
  tiny.context_window = 200;
  llm::ProviderSpec alpha;
  alpha.name = "alpha";
  alpha.type = "openai";
  alpha.retries = retries;
  alpha.models = {main_model, tiny};
  llm::ModelSpec fallback;
  fallback.id = fallback.upstream_id = kFallbackModel;
  llm::ProviderSpec beta;
  beta.name = "beta";
  beta.type = "openai";
  beta.retries = retries;
  beta.models = {fallback};
  llm::Catalog catalog;
  catalog.providers = {alpha, beta};
  return catalog;
}

std::vector<std::string> bucket_names(const config::Config& c) {
  std::vector<std::string> names;
  for (const auto& [name, rule] : c.rate_limits) names.push_back(name);
  return names;
}

}  // namespace

bool RecordingMailer::send(mail::Message m) {
  std::lock_guard lock(mu_);
  sent_.push_back(std::move(m));
  return true;
}

std::vector<mail::Message> RecordingMailer::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

std::vector<mail::Message> RecordingMailer::sent_to(const std::string& to) const {
  std::vector<mail::Message> out;
  for (auto& m : sent())
    if (m.to == to) out.push_back(std::move(m));
  return out;
}

std::string RecordingMailer::last_token(const std::string& to) const {
  auto messages = sent_to(to);
  if (messages.empty()) return {};
  const std::string& text = messages.back().text;
  auto at = text.find("token=");
  if (at == std::string::npos) return {};
  at += 6;
  // Tokens are base64url with a prefix: nothing in them needs percent-decoding.
  auto end = text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", at);
  return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

Stack::Stack(store::Database& db, int log_fd)
    : config(test_config()),
      log(LogLevel::info, LogFormat::json, log_fd),
      metrics(bucket_names(config), "test"),
      keys(db, data_key, clock, log, config.access_token_ttl * 1000),
      authenticator(keys, db, db_pool, clock, log, {config.public_url}),
      accounts({db, db_pool, hash_pool, keys, authenticator, mailer, limiter, config, clock, log, data_key}),
      api_key_authenticator(db, db_pool, clock, log),
      api_keys({db, db_pool, api_key_authenticator, clock, log}),
      invitations({db, db_pool, mailer, limiter, config, clock, log}),
      admin({db, db_pool, hash_pool, keys, authenticator, mailer, limiter, config, clock, log, data_key}, accounts),
      gateway(
          test_catalog(),
          [this](const llm::ProviderSpec& spec) {
            auto p = std::make_unique<ScriptedProvider>();
            providers[spec.name] = p.get();
            return p;
          },
          log, metrics),
      chat({db, db_pool, usage_pool, gateway, config, clock, log}),
      services{accounts,    keys, invitations, api_keys, admin, chat, metrics, {}, {false, config.refresh_token_ttl},
               std::nullopt} {
  if (auto st = keys.load(); !st) throw std::runtime_error("KeyRing::load: " + st.error().detail);
  admin.on_user_changed([this](const std::string& id) { api_key_authenticator.forget_user(id); });
}

// The database and hashing pools finish their jobs before the services those jobs use go
// away. The usage pool keeps running: the chat service's usage recorder writes what it still
// holds on it when it is destroyed.
Stack::~Stack() {
  db_pool.shutdown();
  hash_pool.shutdown();
}

void ServiceTest::SetUp() {
  MigratedStoreTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  stack_ = std::make_unique<Stack>(db(), log_file_.fd());
}

void ServiceTest::TearDown() {
  stack_.reset();  // writes what the usage recorder still holds, while the database is open
  MigratedStoreTest::TearDown();
}

auth::User ServiceTest::add_user(const std::string& username, Account kind) {
  auth::User u;
  const std::int64_t now = s().clock.now_ms();
  u.id = "user-" + username;
  u.email = username + "@example.com";
  u.username = username;
  auto hashed = crypto::password::hash(kPassword, {1, 8 * 1024});
  EXPECT_TRUE(hashed) << describe(hashed.error());
  if (hashed) u.password_hash = hashed.value();
  u.created_at = u.updated_at = now;
  if (kind != Account::unverified) u.email_verified_at = now;
  u.roles = {"user"};
  if (kind == Account::admin) u.roles.push_back("admin");
  if (kind == Account::disabled) u.disabled_at = now;
  auto st = store::transact(db(), [&](store::Connection& c) -> Status {
    if (auto r = auth::db::insert_user(c, u); !r) return r;
    if (u.disabled_at) return auth::db::set_disabled(c, u.id, now, now);
    return ok();
  });
  EXPECT_TRUE(st) << describe(st.error());
  return u;
}

auth::LoginResult ServiceTest::login(const std::string& login, const std::string& password) {
  auto r = run(s().accounts.login(login, password, std::nullopt, meta()));
  EXPECT_TRUE(r) << describe(r.error());
  return r ? std::move(r).value() : auth::LoginResult{};
}

Result<Principal> ServiceTest::authenticate(const std::string& access_token) {
  return run(s().authenticator.authenticate(access_token));
}

Principal ServiceTest::principal_for(const auth::User& user) {
  Principal p;
  p.user_id = user.id;
  p.session_id = "session-of-" + user.username;
  p.roles = user.roles;
  return p;
}

std::int64_t ServiceTest::audit_count(const std::string& user_id, const std::string& event) {
  auto rows = select("SELECT count(*) FROM audit_log WHERE user_id = $1 AND event = $2", {user_id, event});
  return rows.empty() ? -1 : rows.rows.at(0).integer(0);
}

}  // namespace chatd::unit
