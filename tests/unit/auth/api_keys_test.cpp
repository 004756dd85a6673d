// API keys against a real database (SQLite here, PostgreSQL too when
// CHATD_TEST_DATABASE_URL is set): the key format, ApiKeys' rules and ApiKeyAuthenticator's
// cache, revocation and once-a-minute last_used_at, with a clock the test moves.

#include "auth/api_keys.hpp"

#include "../run_awaitable.hpp"
#include "../store/store_fixture.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"
#include "store/migrations.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <exception>
#include <future>
#include <optional>
#include <set>

namespace chatd::auth {
namespace {

namespace asio = boost::asio;
using store::Dialect;
using store::testing::describe;

constexpr std::int64_t kT0 = 1'800'000'000'000;  // 2027-01-15, any fixed instant will do

class ManualClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = kT0;
};

using unit::run;

TEST(ApiKeyFormat, NewKeysHaveTheDocumentedShape) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string key = new_api_key();
    ASSERT_EQ(key.size(), 55u) << key;
    EXPECT_EQ(key.substr(0, 3), "ck_");
    EXPECT_EQ(key[11], '_');
    EXPECT_TRUE(looks_like_api_key(key)) << key;
    EXPECT_EQ(api_key_prefix(key), key.substr(0, 11));
    auto secret = crypto::base64url_decode(key.substr(12));
    ASSERT_TRUE(secret.has_value()) << key;
    EXPECT_EQ(secret->size(), 32u);  // 256 random bits
    seen.insert(key);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(ApiKeyFormat, RefusesOtherShapes) {
  std::string key = new_api_key();
  EXPECT_FALSE(looks_like_api_key(""));
  EXPECT_FALSE(looks_like_api_key(key.substr(0, 54)));
  EXPECT_FALSE(looks_like_api_key(key + "A"));
  EXPECT_FALSE(looks_like_api_key("sk_" + key.substr(3)));
  std::string bad_sep = key;
  bad_sep[11] = '-';
  EXPECT_FALSE(looks_like_api_key(bad_sep));
  std::string bad_visible = key;
  bad_visible[4] = 'A';  // the visible part is lowercase base32
  EXPECT_FALSE(looks_like_api_key(bad_visible));
  std::string bad_secret = key;
  bad_secret[30] = '.';
  EXPECT_FALSE(looks_like_api_key(bad_secret));
  EXPECT_FALSE(looks_like_api_key("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"));  // an access token
}

class ApiKeyTest : public store::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    add_user("u1", true);
    add_user("u2", false);
    // One thread: jobs run in submission order, so drain() is a barrier.
    pool_ = std::make_unique<WorkerPool>("db", 1, 1000);
    authenticator_ = make_authenticator(db());
    keys_ = std::make_unique<ApiKeys>(ApiKeysDeps{db(), *pool_, *authenticator_, clock_, log_});
    alice_.user_id = "u1";
    bob_.user_id = "u2";
  }

  void TearDown() override {
    keys_.reset();
    authenticator_.reset();
    pool_.reset();
    StoreTest::TearDown();
  }

  std::unique_ptr<ApiKeyAuthenticator> make_authenticator(store::Database& database) {
    return std::make_unique<ApiKeyAuthenticator>(database, *pool_, clock_, log_);
  }

  void add_user(const std::string& id, bool admin) {
    exec(
        "INSERT INTO users (id, email, username, password_hash, created_at, updated_at) "
        "VALUES ($1, $2, $3, 'x', 0, 0)",
        {id, id + "@example.com", id});
    exec("INSERT INTO user_roles (user_id, role) VALUES ($1, 'user')", {id});
    if (admin) exec("INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin')", {id});
  }

  // Waits until every job submitted so far (last_used_at writes) has run.
  void drain() {
    std::promise<void> done;
    ASSERT_TRUE(pool_->try_submit([&] { done.set_value(); }));
    done.get_future().wait();
  }

  NewApiKey create(const Principal& who, std::string name = "laptop",
                   std::optional<std::int64_t> expires_at = std::nullopt) {
    auto created = run(keys_->create(who, std::move(name), expires_at, RequestMeta{}));
    EXPECT_TRUE(created) << describe(created.error());
    return created ? std::move(created).value() : NewApiKey{};
  }

  Result<Principal> auth(const std::string& key) { return run(authenticator_->authenticate(key)); }
  Result<Principal> auth(ApiKeyAuthenticator& other, const std::string& key) { return run(other.authenticate(key)); }

  std::optional<std::int64_t> last_used(const std::string& id) {
    auto rows = select("SELECT last_used_at FROM api_keys WHERE id = $1", {id});
    return rows.empty() ? std::nullopt : rows.rows.front().opt_integer(0);
  }

  ManualClock clock_;
  Logger log_{LogLevel::error, LogFormat::json};
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<ApiKeyAuthenticator> authenticator_;
  std::unique_ptr<ApiKeys> keys_;
  Principal alice_;
  Principal bob_;
};

TEST_P(ApiKeyTest, CreateStoresOnlyTheHash) {
  NewApiKey k = create(alice_, "  ci runner  ", kT0 + 3'600'000);
  EXPECT_EQ(k.key.name, "ci runner");  // surrounding whitespace trimmed
  EXPECT_EQ(k.key.prefix, k.secret.substr(0, 11));
  EXPECT_EQ(k.key.created_at, kT0);
  EXPECT_EQ(k.key.expires_at, kT0 + 3'600'000);
  auto rows = select("SELECT key_hash, prefix, user_id FROM api_keys WHERE id = $1", {k.key.id});
  ASSERT_EQ(rows.rows.size(), 1u);
  EXPECT_EQ(rows.rows[0].text(0), crypto::sha256_hex(k.secret));
  EXPECT_EQ(rows.rows[0].text(1), k.key.prefix);
  EXPECT_EQ(rows.rows[0].text(2), "u1");
  auto audit = select("SELECT user_id, actor_id, detail FROM audit_log WHERE event = 'api_key.created'");
  ASSERT_EQ(audit.rows.size(), 1u);
  EXPECT_EQ(audit.rows[0].text(0), "u1");
  EXPECT_NE(audit.rows[0].text(2).find(k.key.id), std::string::npos);
  EXPECT_EQ(audit.rows[0].text(2).find(k.secret), std::string::npos);
}

TEST_P(ApiKeyTest, CreateValidatesNameAndExpiry) {
  auto field_of = [&](std::string name, std::optional<std::int64_t> expires) -> std::string {
    auto r = run(keys_->create(alice_, std::move(name), expires, RequestMeta{}));
    if (r) return "accepted";
    EXPECT_EQ(r.error().code, Code::invalid_argument);
    return r.error().fields.empty() ? "?" : r.error().fields.front().field;
  };
  EXPECT_EQ(field_of("", std::nullopt), "name");
  EXPECT_EQ(field_of(" \t ", std::nullopt), "name");
  EXPECT_EQ(field_of(std::string(101, 'x'), std::nullopt), "name");
  EXPECT_EQ(field_of("tab\there", std::nullopt), "name");
  EXPECT_EQ(field_of("c1\xc2\x85"
                     "control",
                     std::nullopt),
            "name");
  EXPECT_EQ(field_of("ok", kT0), "expires_at");  // not in the future
  EXPECT_EQ(field_of("ok", kT0 - 1), "expires_at");
  // 100 characters of 2-byte UTF-8 are 200 bytes and still fine.
  std::string umlauts;
  for (int i = 0; i < 100; ++i) umlauts += "\xc3\xa4";
  EXPECT_EQ(field_of(umlauts, std::nullopt), "accepted");
  EXPECT_EQ(field_of(std::string(100, 'x'), kT0 + 1), "accepted");
}

TEST_P(ApiKeyTest, CapsKeysPerUser) {
  for (std::int64_t i = 0; i < ApiKeys::kMaxKeysPerUser; ++i) create(alice_, "k" + std::to_string(i));
  auto refused = run(keys_->create(alice_, "one too many", std::nullopt, RequestMeta{}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::conflict);
  // Deleting one makes room again; other users are not affected.
  auto list = run(keys_->list(alice_));
  ASSERT_TRUE(list);
  ASSERT_TRUE(run(keys_->remove(alice_, list.value().front().id, RequestMeta{})));
  create(alice_, "fits again");
  create(bob_, "bob's");
}

TEST_P(ApiKeyTest, ListsOwnLiveKeysNewestFirst) {
  NewApiKey a = create(alice_, "first");
  clock_.now += 1000;
  NewApiKey b = create(alice_, "second");
  clock_.now += 1000;
  NewApiKey c = create(alice_, "third");
  create(bob_, "not alice's");
  ASSERT_TRUE(run(keys_->remove(alice_, b.key.id, RequestMeta{})));
  auto list = run(keys_->list(alice_));
  ASSERT_TRUE(list) << describe(list.error());
  ASSERT_EQ(list.value().size(), 2u);
  EXPECT_EQ(list.value()[0].id, c.key.id);
  EXPECT_EQ(list.value()[1].id, a.key.id);
  EXPECT_EQ(list.value()[1].name, "first");
  EXPECT_FALSE(list.value()[1].last_used_at.has_value());
}

TEST_P(ApiKeyTest, RemoveAnswersNotFoundForOthersAndTwice) {
  NewApiKey k = create(alice_);
  auto by_bob = run(keys_->remove(bob_, k.key.id, RequestMeta{}));
  ASSERT_FALSE(by_bob);
  EXPECT_EQ(by_bob.error().code, Code::not_found);
  auto unknown = run(keys_->remove(alice_, "not-an-id", RequestMeta{}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Code::not_found);
  EXPECT_TRUE(auth(k.secret));  // bob's attempt changed nothing
  ASSERT_TRUE(run(keys_->remove(alice_, k.key.id, RequestMeta{})));
  auto again = run(keys_->remove(alice_, k.key.id, RequestMeta{}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::not_found);
  auto rows = select("SELECT revoked_at FROM api_keys WHERE id = $1", {k.key.id});
  EXPECT_EQ(rows.rows.at(0).opt_integer(0), kT0);
  EXPECT_EQ(select("SELECT count(*) FROM audit_log WHERE event = 'api_key.deleted'").rows.at(0).integer(0), 1);
}

TEST_P(ApiKeyTest, AuthenticatesIntoAPrincipal) {
  NewApiKey k = create(alice_);
  auto p = auth(k.secret);
  ASSERT_TRUE(p) << describe(p.error());
  EXPECT_EQ(p.value().user_id, "u1");
  EXPECT_EQ(p.value().api_key_id, k.key.id);
  EXPECT_TRUE(p.value().session_id.empty());
  EXPECT_TRUE(p.value().has_role("admin"));
  EXPECT_TRUE(p.value().has_role("user"));
  // From the cache, the same answer.
  auto again = auth(k.secret);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value().api_key_id, k.key.id);
}

TEST_P(ApiKeyTest, AnswersAtOnceOnlyFromTheCache) {
  NewApiKey k = create(alice_);
  EXPECT_FALSE(authenticator_->authenticate_now(k.secret).has_value());  // not checked yet: ask the database
  ASSERT_TRUE(auth(k.secret));
  auto now = authenticator_->authenticate_now(k.secret);
  ASSERT_TRUE(now.has_value());
  ASSERT_TRUE(*now) << describe(now->error());
  EXPECT_EQ(now->value().api_key_id, k.key.id);
  EXPECT_TRUE(now->value().has_role("admin"));
  // A malformed key is refused at once; an unknown one needs the database.
  auto malformed = authenticator_->authenticate_now("ck_short");
  ASSERT_TRUE(malformed.has_value());
  EXPECT_EQ(malformed->error().code, Code::unauthenticated);
  EXPECT_FALSE(authenticator_->authenticate_now(new_api_key()).has_value());
  // Past the cache window the database is asked again.
  clock_.now += 5000;
  EXPECT_FALSE(authenticator_->authenticate_now(k.secret).has_value());
  ASSERT_TRUE(auth(k.secret));
  // A key deleted here is refused at once, without the database.
  ASSERT_TRUE(run(keys_->remove(alice_, k.key.id, RequestMeta{})));
  auto deleted = authenticator_->authenticate_now(k.secret);
  ASSERT_TRUE(deleted.has_value());
  ASSERT_FALSE(*deleted);
  EXPECT_EQ(deleted->error().code, Code::unauthenticated);
}

TEST_P(ApiKeyTest, RefusesUnknownAndMalformedKeys) {
  create(alice_);
  for (std::string key : {new_api_key(), std::string("ck_short"), std::string(""), std::string("Bearer x")}) {
    auto p = auth(key);
    ASSERT_FALSE(p) << key;
    EXPECT_EQ(p.error().code, Code::unauthenticated);
  }
}

TEST_P(ApiKeyTest, DeletedHereIsRefusedAtOnce) {
  NewApiKey k = create(alice_);
  ASSERT_TRUE(auth(k.secret));  // now cached
  ASSERT_TRUE(run(keys_->remove(alice_, k.key.id, RequestMeta{})));
  auto p = auth(k.secret);  // the clock has not moved: the cache would still say yes
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Code::unauthenticated);
}

TEST_P(ApiKeyTest, RevokedElsewhereIsRefusedAfterTheCacheWindow) {
  NewApiKey k = create(alice_);
  ASSERT_TRUE(auth(k.secret));
  // Another instance deleted it (straight into the database, behind this one's back).
  exec("UPDATE api_keys SET revoked_at = $2 WHERE id = $1", {k.key.id, kT0});
  clock_.now += 4999;
  EXPECT_TRUE(auth(k.secret));  // still within the 5 s this instance trusts its cache
  clock_.now += 1;
  EXPECT_FALSE(auth(k.secret));
}

TEST_P(ApiKeyTest, RefusesExpiredKeysEvenFromTheCache) {
  NewApiKey k = create(alice_, "short-lived", kT0 + 2000);
  ASSERT_TRUE(auth(k.secret));
  clock_.now = kT0 + 1999;
  EXPECT_TRUE(auth(k.secret));
  clock_.now = kT0 + 2000;
  EXPECT_FALSE(auth(k.secret));
  // And from the database, with a cold cache.
  auto cold = make_authenticator(db());
  EXPECT_FALSE(auth(*cold, k.secret));
}

TEST_P(ApiKeyTest, RefusesKeysOfDisabledUsers) {
  NewApiKey k = create(alice_);
  ASSERT_TRUE(auth(k.secret));
  exec("UPDATE users SET disabled_at = $2 WHERE id = $1", {std::string("u1"), kT0});
  authenticator_->forget_user("u1");  // what disabling on this instance does
  EXPECT_FALSE(auth(k.secret));
  auto cold = make_authenticator(db());
  EXPECT_FALSE(auth(*cold, k.secret));
}

TEST_P(ApiKeyTest, WritesLastUsedAtAtMostOnceAMinute) {
  NewApiKey k = create(alice_);
  ASSERT_TRUE(auth(k.secret));
  drain();
  EXPECT_EQ(last_used(k.key.id), kT0);

  // Cleared behind the authenticator's back, so that any write it attempts would show
  // (the UPDATE's own condition would hide a write of the same minute otherwise).
  exec("UPDATE api_keys SET last_used_at = NULL WHERE id = $1", {k.key.id});
  clock_.now = kT0 + 1000;  // cached
  ASSERT_TRUE(auth(k.secret));
  clock_.now = kT0 + 30'000;  // reloaded from the database
  ASSERT_TRUE(auth(k.secret));
  clock_.now = kT0 + 59'999;
  ASSERT_TRUE(auth(k.secret));
  drain();
  EXPECT_EQ(last_used(k.key.id), std::nullopt);

  clock_.now = kT0 + 60'000;
  ASSERT_TRUE(auth(k.secret));
  drain();
  EXPECT_EQ(last_used(k.key.id), kT0 + 60'000);

  // A second instance sharing the database: its cached view of the key is a few seconds
  // old when this one writes, so it believes a write is due; the UPDATE's own condition
  // keeps the column at one write a minute anyway.
  auto other = make_authenticator(db());
  clock_.now = kT0 + 118'000;
  ASSERT_TRUE(auth(*other, k.secret));  // loads last_used_at = +60 s: nothing due
  clock_.now = kT0 + 120'000;
  ASSERT_TRUE(auth(k.secret));
  drain();
  EXPECT_EQ(last_used(k.key.id), kT0 + 120'000);
  clock_.now = kT0 + 122'000;
  ASSERT_TRUE(auth(*other, k.secret));  // cached: still thinks +60 s, tries to write
  drain();
  EXPECT_EQ(last_used(k.key.id), kT0 + 120'000);

  auto list = run(keys_->list(alice_));
  ASSERT_TRUE(list);
  EXPECT_EQ(list.value().at(0).last_used_at, kT0 + 120'000);
}

TEST_P(ApiKeyTest, LastUsedAtIsNotWrittenForRefusedKeys) {
  NewApiKey k = create(alice_, "expiring", kT0 + 10);
  clock_.now = kT0 + 10;
  ASSERT_FALSE(auth(k.secret));
  drain();
  EXPECT_FALSE(last_used(k.key.id).has_value());
}

INSTANTIATE_TEST_SUITE_P(Dialects, ApiKeyTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::auth
