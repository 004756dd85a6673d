// TokenAuthenticator in both dialects (PostgreSQL when CHATD_TEST_DATABASE_URL is set): its
// token and session caches shared by network threads while the account service, on another
// thread, reports role changes and revocations. Under ThreadSanitizer this is the test of
// the caches' locking.

#include "auth/token_authenticator.hpp"

#include "../run_awaitable.hpp"
#include "../store/store_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace chatd::auth {
namespace {

using store::Dialect;
using store::testing::describe;

constexpr const char* kIssuer = "https://chat.example.test";

class TokenAuthenticatorTest : public store::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::int64_t now = clock_.now_ms();
    exec(
        "INSERT INTO users (id, email, username, password_hash, created_at, updated_at) "
        "VALUES ('u1', 'u1@example.com', 'u1', 'x', 0, 0)");
    exec("INSERT INTO user_roles (user_id, role) VALUES ('u1', 'user')");
    exec("INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) VALUES ('s1', 'u1', $1, $1, $2)",
         {now, now + 3'600'000});
    keys_ = std::make_unique<KeyRing>(db(), data_key_, clock_, log_, 600'000);
    auto loaded = keys_->load();
    ASSERT_TRUE(loaded) << describe(loaded.error());
    pool_ = std::make_unique<WorkerPool>("db", 2, 1000);
  }

  void TearDown() override {
    pool_.reset();
    keys_.reset();
    StoreTest::TearDown();
  }

  std::string token() const {
    const std::int64_t now = clock_.now_ms() / 1000;
    return keys_->sign({{"iss", kIssuer},
                        {"aud", "chatd"},
                        {"sub", "u1"},
                        {"sid", "s1"},
                        {"jti", "t1"},
                        {"roles", {"user"}},
                        {"iat", now},
                        {"exp", now + 600}});
  }

  SystemClock clock_;
  Logger log_{LogLevel::error, LogFormat::json};
  crypto::DataKey data_key_ = crypto::DataKey::generate();
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<WorkerPool> pool_;
};

TEST_P(TokenAuthenticatorTest, NetworkThreadsShareTheCachesWhileSessionsChange) {
  TokenAuthenticatorOptions options;
  options.issuer = kIssuer;
  options.session_check_ms = 0;  // every call re-reads the session: the most cache traffic
  TokenAuthenticator authenticator(*keys_, db(), *pool_, clock_, log_, options);
  const std::string bearer = token();

  std::atomic<bool> revoking{false};
  std::atomic<int> accepted{0};
  std::thread service([&] {
    // Role changes while the network threads authenticate, then the revocation.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (accepted.load() < 100 && std::chrono::steady_clock::now() < deadline) {
      authenticator.user_changed("u1");
      std::this_thread::yield();
    }
    revoking = true;  // before the revocation: a refusal seen after a call while this is false is wrong
    authenticator.sessions_revoked({"s1"});
  });
  std::vector<std::string> failures(2);
  std::vector<std::thread> network;
  for (int t = 0; t < 2; ++t) {
    network.emplace_back([&, t] {
      boost::asio::io_context ioc;  // this thread's network loop
      bool refused = false;
      for (int n = 0; n < 100000 && failures[t].empty(); ++n) {
        auto principal = unit::run(ioc, authenticator.authenticate(bearer));
        // A call may be refused once the revocation has begun, even one that started before.
        const bool revocation_begun = revoking.load();
        if (principal) {
          if (principal.value().user_id != "u1" || principal.value().roles != std::vector<std::string>{"user"})
            failures[t] = "a wrong principal";
          accepted.fetch_add(1);
        } else if (principal.error().code != Code::unauthenticated) {
          failures[t] = describe(principal.error());
        } else if (!revocation_begun) {
          failures[t] = "refused before the revocation: " + describe(principal.error());
        } else {
          refused = true;
          break;
        }
      }
      // Revocation is final: once refused, always refused.
      if (refused && unit::run(ioc, authenticator.authenticate(bearer))) failures[t] = "accepted after a refusal";
    });
  }
  service.join();
  for (auto& th : network) th.join();

  EXPECT_EQ(failures[0], "");
  EXPECT_EQ(failures[1], "");
  EXPECT_GE(accepted.load(), 100);
  auto after = unit::run(authenticator.authenticate(bearer));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Code::unauthenticated);
}

// What other instances must hear is announced; what they announce is applied without being
// announced again (tests/integration/test_topology.py checks the same over Redis).
TEST_P(TokenAuthenticatorTest, AnnouncesRevocationsRoleChangesAndKeyRotations) {
  TokenAuthenticatorOptions options;
  options.issuer = kIssuer;
  TokenAuthenticator authenticator(*keys_, db(), *pool_, clock_, log_, options);
  std::vector<std::string> announced;
  authenticator.announce_with([&](const ClusterEvent& e) { announced.push_back(encode_event(e)); });
  authenticator.sessions_revoked({"s1", "s2"});
  authenticator.user_changed("u1");
  authenticator.signing_keys_changed();
  authenticator.sessions_revoked({});  // nothing to say
  authenticator.revoked_elsewhere({"s3"});
  authenticator.user_changed_elsewhere("u2");
  EXPECT_EQ(announced, (std::vector<std::string>{"revoked s1 s2", "user u1", "keys"}));
}

TEST_P(TokenAuthenticatorTest, ASessionRevokedElsewhereIsRefusedAtOnceDespiteTheCache) {
  TokenAuthenticatorOptions options;
  options.issuer = kIssuer;
  options.session_check_ms = 3'600'000;  // the cache alone would accept it for an hour
  TokenAuthenticator authenticator(*keys_, db(), *pool_, clock_, log_, options);
  const std::string bearer = token();
  ASSERT_TRUE(unit::run(authenticator.authenticate(bearer)));
  authenticator.revoked_elsewhere({"s1"});
  auto refused = unit::run(authenticator.authenticate(bearer));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::unauthenticated);
}

TEST_P(TokenAuthenticatorTest, AfterMissedAnnouncementsEverySessionIsCheckedAgain) {
  TokenAuthenticatorOptions options;
  options.issuer = kIssuer;
  options.session_check_ms = 3'600'000;
  TokenAuthenticator authenticator(*keys_, db(), *pool_, clock_, log_, options);
  const std::string bearer = token();
  ASSERT_TRUE(unit::run(authenticator.authenticate(bearer)));
  // Revoked by another instance while the announcement channel was down.
  exec("UPDATE sessions SET revoked_at = 1 WHERE id = 's1'");
  EXPECT_TRUE(unit::run(authenticator.authenticate(bearer)));  // still cached
  authenticator.recheck_sessions();
  EXPECT_FALSE(unit::run(authenticator.authenticate(bearer)));
}

TEST_P(TokenAuthenticatorTest, ATokenSignedWithAKeyRotatedOnAnotherInstanceIsAccepted) {
  TokenAuthenticatorOptions options;
  options.issuer = kIssuer;
  TokenAuthenticator authenticator(*keys_, db(), *pool_, clock_, log_, options);
  // Another instance on the same database rotates and signs with its new key.
  KeyRing other(db(), data_key_, clock_, log_, 600'000);
  ASSERT_TRUE(other.load());
  auto kid = other.rotate();
  ASSERT_TRUE(kid);
  ASSERT_FALSE(keys_->public_key(kid.value()));  // this instance has not seen it yet
  const std::int64_t now = clock_.now_ms() / 1000;
  std::string bearer = other.sign({{"iss", kIssuer},
                                   {"aud", "chatd"},
                                   {"sub", "u1"},
                                   {"sid", "s1"},
                                   {"jti", "t2"},
                                   {"roles", {"user"}},
                                   {"iat", now},
                                   {"exp", now + 600}});
  auto accepted = unit::run(authenticator.authenticate(bearer));
  ASSERT_TRUE(accepted) << describe(accepted.error());
  EXPECT_TRUE(keys_->public_key(kid.value()));
  // A key nobody has is still refused (and reloads at most once a second).
  std::string forged = bearer;
  forged.replace(forged.find('.') - 4, 4, "AAAA");
  EXPECT_FALSE(unit::run(authenticator.authenticate(forged)));
}

INSTANTIATE_TEST_SUITE_P(Dialects, TokenAuthenticatorTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::auth
