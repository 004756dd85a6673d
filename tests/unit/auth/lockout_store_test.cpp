// The account lockout's atomic step against a real database, in both dialects
// (PostgreSQL when CHATD_TEST_DATABASE_URL is set): places taken before a password is
// checked, the lock set by the last place, and a success that never lifts another's lock.

#include "../store/store_fixture.hpp"
#include "auth/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace chatd::auth {
namespace {

using store::Dialect;
using store::testing::describe;

constexpr std::int64_t kT0 = 1'800'000'000'000;
constexpr std::int64_t kThreshold = 5;
constexpr std::int64_t kLockMs = 900'000;

class LockoutStoreTest : public store::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    User u;
    u.id = "ann";
    u.email = "ann@example.com";
    u.username = "ann";
    u.password_hash = "hash";
    u.created_at = u.updated_at = kT0;
    auto st = store::transact(db(), [&](store::Connection& c) { return db::insert_user(c, u); });
    ASSERT_TRUE(st) << describe(st.error());
  }

  db::LoginAttempt begin(std::int64_t now = kT0) {
    auto a = store::transact(
        db(), [&](store::Connection& c) { return db::begin_login_attempt(c, "ann", now, kThreshold, kLockMs); });
    EXPECT_TRUE(a) << describe(a.error());
    return a ? a.value() : db::LoginAttempt{};
  }
  bool succeed(const db::LoginAttempt& attempt, std::int64_t now = kT0) {
    auto r =
        store::transact(db(), [&](store::Connection& c) { return db::record_login_success(c, "ann", attempt, now); });
    EXPECT_TRUE(r) << describe(r.error());
    return r && r.value();
  }
  void release(const db::LoginAttempt& attempt, std::int64_t now = kT0) {
    auto r =
        store::transact(db(), [&](store::Connection& c) { return db::release_login_attempt(c, "ann", attempt, now); });
    EXPECT_TRUE(r) << describe(r.error());
  }
  std::int64_t failed_logins() { return select("SELECT failed_logins FROM users WHERE id = 'ann'").rows[0].integer(0); }
  std::optional<std::int64_t> locked_until() {
    return select("SELECT locked_until FROM users WHERE id = 'ann'").rows[0].opt_integer(0);
  }
};

TEST_P(LockoutStoreTest, TheAttemptThatTakesTheLastPlaceLocksTheAccountAtOnce) {
  for (std::int64_t n = 1; n < kThreshold; ++n) {
    auto a = begin();
    EXPECT_TRUE(a.allowed);
    EXPECT_EQ(a.number, n);
    EXPECT_FALSE(a.lock_set);
  }
  auto last = begin();
  EXPECT_TRUE(last.allowed);
  EXPECT_EQ(last.number, kThreshold);
  ASSERT_TRUE(last.lock_set);
  EXPECT_EQ(*last.lock_set, kT0 + kLockMs);
  EXPECT_EQ(locked_until(), kT0 + kLockMs);

  // Locked: no place, nothing counted.
  auto refused = begin(kT0 + 1);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(failed_logins(), kThreshold);
  // Once the lock has run out, counting starts again from one.
  auto later = begin(kT0 + kLockMs);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.number, 1);
  EXPECT_FALSE(later.lock_set);
  EXPECT_EQ(locked_until(), std::nullopt);
}

TEST_P(LockoutStoreTest, ParallelAttemptsNeverGetMorePlacesThanTheThreshold) {
  constexpr int kThreads = 16;
  std::atomic<int> allowed{0}, locks{0};
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (;;) {
        auto a = store::transact(
            db(), [&](store::Connection& c) { return db::begin_login_attempt(c, "ann", kT0, kThreshold, kLockMs); });
        if (!a && a.error().code == Code::unavailable) continue;  // a busy writer: try again
        ASSERT_TRUE(a) << describe(a.error());
        if (a.value().allowed) ++allowed;
        if (a.value().lock_set) ++locks;
        return;
      }
    });
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), kThreshold);
  EXPECT_EQ(locks.load(), 1);
  EXPECT_EQ(failed_logins(), kThreshold);
}

TEST_P(LockoutStoreTest, ASuccessDoesNotLiftALockSetMeanwhile) {
  auto right = begin();                                          // the right password, still being checked
  for (std::int64_t n = 2; n <= kThreshold; ++n) (void)begin();  // wrong ones in parallel lock it
  ASSERT_EQ(locked_until(), kT0 + kLockMs);
  EXPECT_FALSE(succeed(right, kT0 + 10));
  EXPECT_EQ(locked_until(), kT0 + kLockMs);
  EXPECT_EQ(failed_logins(), kThreshold);
}

TEST_P(LockoutStoreTest, ASuccessResetsTheCountAndLiftsOnlyItsOwnLock) {
  for (std::int64_t n = 1; n < kThreshold; ++n) (void)begin();
  auto last = begin();  // the last place, and the right password
  ASSERT_TRUE(last.lock_set);
  EXPECT_TRUE(succeed(last, kT0 + 10));
  EXPECT_EQ(locked_until(), std::nullopt);
  EXPECT_EQ(failed_logins(), 0);
  EXPECT_EQ(select("SELECT last_login_at FROM users WHERE id = 'ann'").rows[0].integer(0), kT0 + 10);
}

TEST_P(LockoutStoreTest, AReleasedAttemptGivesItsPlaceAndItsLockBack) {
  for (std::int64_t n = 1; n < kThreshold; ++n) (void)begin();
  auto last = begin();  // say, the right password with the one-time code still to come
  ASSERT_TRUE(last.lock_set);
  release(last);
  EXPECT_EQ(locked_until(), std::nullopt);
  EXPECT_EQ(failed_logins(), kThreshold - 1);
  EXPECT_TRUE(begin().allowed);
}

TEST_P(LockoutStoreTest, AReleaseLeavesAnotherAttemptsLockAlone) {
  auto early = begin();
  for (std::int64_t n = 2; n <= kThreshold; ++n) (void)begin();
  release(early);
  EXPECT_EQ(locked_until(), kT0 + kLockMs);
  EXPECT_FALSE(begin(kT0 + 1).allowed);
}

TEST_P(LockoutStoreTest, AnAccountOverALoweredThresholdLocksOnItsNextAttempt) {
  exec("UPDATE users SET failed_logins = 9 WHERE id = 'ann'");
  auto a = begin();
  EXPECT_TRUE(a.allowed);
  EXPECT_TRUE(a.lock_set);
  EXPECT_FALSE(begin(kT0 + 1).allowed);
}

INSTANTIATE_TEST_SUITE_P(Dialects, LockoutStoreTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::auth
