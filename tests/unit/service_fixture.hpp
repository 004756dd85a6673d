#pragma once
// The services without the server (userver's rule): every service of chatd over a real
// database (tests/unit/store/store_fixture.hpp: SQLite in a temporary directory, PostgreSQL
// when CHATD_TEST_DATABASE_URL is set), wired as src/app/serve.cpp wires them, with fakes
// where the outside world would be: a clock the test moves, a mailer that keeps what it is
// given, scripted LLM providers, a log in a temporary file. No network, no sleeps.

#include "api/routes.hpp"
#include "auth/admin.hpp"
#include "auth/api_keys.hpp"
#include "auth/invitations.hpp"
#include "auth/keys.hpp"
#include "auth/service.hpp"
#include "auth/token_authenticator.hpp"
#include "chat/service.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "crypto/aead.hpp"
#include "limits/memory_rate_limiter.hpp"
#include "llm/gateway.hpp"
#include "llm/scripted_provider.hpp"
#include "mail/mailer.hpp"
#include "mail/test_support.hpp"
#include "observability/metrics.hpp"
#include "run_awaitable.hpp"
#include "store/store_fixture.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::unit {

// Time stands still until the test moves it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t now_ms) : now_(now_ms) {}
  std::int64_t now_ms() const override { return now_.load(); }
  void advance_ms(std::int64_t ms) { now_ += ms; }
  void set_ms(std::int64_t ms) { now_ = ms; }

 private:
  std::atomic<std::int64_t> now_;
};

// Keeps every message it is given (and delivers none).
class RecordingMailer final : public mail::Mailer {
 public:
  bool send(mail::Message m) override;
  std::vector<mail::Message> sent() const;
  // The messages sent to `to`, oldest first.
  std::vector<mail::Message> sent_to(const std::string& to) const;
  // The `token` parameter of the link in the newest message to `to`; "" when there is none.
  std::string last_token(const std::string& to) const;

 private:
  mutable std::mutex mu_;
  std::vector<mail::Message> sent_;
};

// The public model ids of the test catalog. Provider "alpha" serves kModel (price 1 and 2
// USD per million prompt and completion tokens, falling back to kFallbackModel) and kTinyModel
// (a 200-token context window); provider "beta" serves kFallbackModel. Two attempts per model,
// no backoff.
inline constexpr const char* kModel = "alpha-1";
inline constexpr const char* kFallbackModel = "beta-1";
inline constexpr const char* kTinyModel = "tiny";

// 2026-03-10T12:00:00Z: a fixed start, far from midnight UTC.
inline constexpr std::int64_t kStartMs = 1'773'144'000'000;

// What src/app/serve.cpp builds and wires, minus the server and the real outside world.
struct Stack {
  Stack(store::Database& db, int log_fd);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  config::Config config;  // read by the services at every call: tests may change it
  ManualClock clock{kStartMs};
  Logger log;
  crypto::DataKey data_key = crypto::DataKey::generate();
  RecordingMailer mailer;
  limits::MemoryRateLimiter limiter;
  obs::Metrics metrics;
  WorkerPool db_pool{"db", 2, 1000};
  WorkerPool hash_pool{"hash", 2, 64};
  WorkerPool usage_pool{"usage", 1, 1};
  auth::KeyRing keys;
  auth::TokenAuthenticator authenticator;
  auth::Service accounts;
  auth::ApiKeyAuthenticator api_key_authenticator;
  auth::ApiKeys api_keys;
  auth::Invitations invitations;
  auth::AdminService admin;
  std::map<std::string, ScriptedProvider*> providers;  // by provider name: "alpha", "beta"
  llm::Gateway gateway;
  chat::Service chat;
  api::Services services;
};

// The kinds of account add_user makes: verified users (role user), an administrator (verified,
// roles user and admin), a user who has not verified the address, a disabled one.
enum class Account { verified, admin, unverified, disabled };

class ServiceTest : public store::testing::MigratedStoreTest {
 protected:
  // Strong enough for the password policy, unrelated to every test user's name.
  static constexpr const char* kPassword = "Quiet-Harbour-Lantern-42";
  static constexpr const char* kOtherPassword = "Velvet-Comet-Orchard-97";

  void SetUp() override;
  void TearDown() override;

  Stack& s() { return *stack_; }
  ScriptedProvider& provider(const std::string& name) { return *stack_->providers.at(name); }

  // Drives a service coroutine to its end (on one io_context kept for the whole test).
  template <class T>
  T run(boost::asio::awaitable<T> task) {
    return unit::run(ioc_, std::move(task));
  }

  // A user inserted straight into the database, with `username`@example.com, id
  // "user-<username>" and a cheap Argon2id hash of kPassword (hashes carry their own
  // parameters, so logins check it cheaply too); the service's own hashing is tested by the
  // tests that register or change passwords.
  auth::User add_user(const std::string& username, Account kind = Account::verified);
  // Logs in (failing the test on error).
  auth::LoginResult login(const std::string& login, const std::string& password = kPassword);
  // The principal an access token stands for, as the pipeline gets it.
  Result<Principal> authenticate(const std::string& access_token);
  // A principal for a user, without a session (chat tests).
  static Principal principal_for(const auth::User& user);

  static auth::RequestMeta meta() { return {"127.0.0.1", "unit-test", "req-1"}; }
  // How many audit rows about `user_id` name `event`.
  std::int64_t audit_count(const std::string& user_id, const std::string& event);

  mail::test::LogFile log_file_;
  boost::asio::io_context ioc_;
  std::unique_ptr<Stack> stack_;
};

// A fixture (ServiceTest or one derived from it) whose SetUp also adds two verified users,
// ann and bob, known to the tests by principals without a session.
template <class Base>
class WithTwoUsers : public Base {
 protected:
  void SetUp() override {
    Base::SetUp();
    if (this->IsSkipped() || this->HasFatalFailure()) return;
    ann_ = Base::principal_for(this->add_user("ann"));
    bob_ = Base::principal_for(this->add_user("bob"));
  }

  Principal ann_, bob_;
};

// "code 3: detail [internal]" for test output.
using store::testing::describe;

// Whether `r` failed with `code` and, when given, the contract's `reason` string.
template <class T>
::testing::AssertionResult fails(const Result<T>& r, Code code, std::string_view reason = {}) {
  if (r) return ::testing::AssertionFailure() << "it succeeded";
  if (r.error().code != code || (!reason.empty() && r.error().reason != reason))
    return ::testing::AssertionFailure() << "it failed with " << describe(r.error()) << " (reason \""
                                         << r.error().reason << "\")";
  return ::testing::AssertionSuccess();
}

}  // namespace chatd::unit
