#include "limits/memory_rate_limiter.hpp"

#include "../run_awaitable.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace chatd::limits {
namespace {

constexpr std::int64_t kT0 = 1795334400000;  // a fixed "now" in epoch ms; tests move it by hand

TEST(MemoryRateLimiter, AllowsExactlyNThenRefuses) {
  MemoryRateLimiter limiter;
  const config::RateLimit rule{5, 60};
  for (int i = 0; i < 5; ++i) {
    Decision d = limiter.take("login:ip:1.2.3.4", rule, kT0 + i);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 5);
    EXPECT_EQ(d.remaining, 4 - i);  // counts down
    EXPECT_EQ(d.retry_after_seconds, 0);
  }
  for (int i = 0; i < 3; ++i) {
    Decision d = limiter.take("login:ip:1.2.3.4", rule, kT0 + 10);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.remaining, 0);
    EXPECT_GE(d.retry_after_seconds, 1);
    EXPECT_LE(d.retry_after_seconds, 12);  // one interval (60 s / 5)
    EXPECT_GE(d.reset_seconds, 59);
    EXPECT_LE(d.reset_seconds, 60);
  }
}

// A request whose caller read the clock earlier than one already counted (it waited for a
// database lookup meanwhile) still gets a place of the burst: it is counted when it arrives.
TEST(MemoryRateLimiter, AReadingSlightlyOlderThanOneCountedStillGetsItsPlaceInTheBurst) {
  MemoryRateLimiter limiter;
  const config::RateLimit rule{3, 60};
  EXPECT_TRUE(limiter.take("login:user:u", rule, kT0 + 5).allowed);
  EXPECT_TRUE(limiter.take("login:user:u", rule, kT0).allowed);
  Decision third = limiter.take("login:user:u", rule, kT0);
  EXPECT_TRUE(third.allowed);
  EXPECT_EQ(third.remaining, 0);
  EXPECT_FALSE(limiter.take("login:user:u", rule, kT0 + 2).allowed);
  EXPECT_EQ(limiter.peek("login:user:u", rule, kT0).remaining, 0);
}

// A clock set back by more than a second is taken as it is: a key never waits for the clock
// to catch up with the reading before the step, only for what rate_limiter.hpp allows.
TEST(MemoryRateLimiter, AClockSetBackFarIsTakenAsItIs) {
  MemoryRateLimiter limiter(1);                                   // one shard, so both keys share its clock
  const config::RateLimit rule{2, 2};                             // a request back every second
  EXPECT_TRUE(limiter.take("a", rule, kT0 + 3'600'000).allowed);  // an hour ahead, then set back
  EXPECT_TRUE(limiter.take("b", rule, kT0).allowed);
  EXPECT_TRUE(limiter.take("b", rule, kT0).allowed);
  EXPECT_FALSE(limiter.take("b", rule, kT0).allowed);
  EXPECT_TRUE(limiter.take("b", rule, kT0 + 1000).allowed);  // one interval later by this clock
}

TEST(MemoryRateLimiter, RefillsOverTime) {
  MemoryRateLimiter limiter;
  const config::RateLimit rule{4, 60};  // one request back every 15 s
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(limiter.take("k", rule, kT0).allowed);
  Decision refused = limiter.take("k", rule, kT0 + 1000);
  ASSERT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 14);

  EXPECT_FALSE(limiter.take("k", rule, kT0 + 14999).allowed);
  Decision one = limiter.take("k", rule, kT0 + 15000);  // one interval later: exactly one more
  EXPECT_TRUE(one.allowed);
  EXPECT_EQ(one.remaining, 0);
  EXPECT_FALSE(limiter.take("k", rule, kT0 + 15001).allowed);

  // After a whole quiet window the full quota is back.
  Decision later = limiter.peek("k", rule, kT0 + 15000 + 60000);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.take("k", rule, kT0 + 75000).allowed) << i;
  EXPECT_FALSE(limiter.take("k", rule, kT0 + 75000).allowed);
}

TEST(MemoryRateLimiter, KeysAreIndependent) {
  MemoryRateLimiter limiter;
  const config::RateLimit rule{2, 60};
  EXPECT_TRUE(limiter.take("login:ip:1.1.1.1", rule, kT0).allowed);
  EXPECT_TRUE(limiter.take("login:ip:1.1.1.1", rule, kT0).allowed);
  EXPECT_FALSE(limiter.take("login:ip:1.1.1.1", rule, kT0).allowed);
  Decision other = limiter.take("login:ip:2.2.2.2", rule, kT0);
  EXPECT_TRUE(other.allowed);
  EXPECT_EQ(other.remaining, 1);
  EXPECT_TRUE(limiter.take("register:ip:1.1.1.1", rule, kT0).allowed);
}

TEST(MemoryRateLimiter, PeekDoesNotCount) {
  MemoryRateLimiter limiter;
  const config::RateLimit rule{2, 60};
  for (int i = 0; i < 10; ++i) {
    Decision d = limiter.peek("k", rule, kT0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 2);
  }
  EXPECT_EQ(limiter.size(), 0u);
  limiter.take("k", rule, kT0);
  limiter.take("k", rule, kT0);
  Decision d = limiter.peek("k", rule, kT0 + 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_GE(d.retry_after_seconds, 1);
}

TEST(MemoryRateLimiter, ResetForgetsAKey) {
  MemoryRateLimiter limiter;
  const config::RateLimit rule{1, 3600};
  EXPECT_TRUE(limiter.take("a", rule, kT0).allowed);
  EXPECT_TRUE(limiter.take("b", rule, kT0).allowed);
  EXPECT_FALSE(limiter.take("a", rule, kT0).allowed);
  limiter.reset("a");
  limiter.reset("never-seen");
  EXPECT_EQ(limiter.size(), 1u);
  EXPECT_TRUE(limiter.take("a", rule, kT0).allowed);
  EXPECT_FALSE(limiter.take("b", rule, kT0).allowed);  // untouched
}

TEST(MemoryRateLimiter, ResetHeaderValuesFollowTheState) {
  MemoryRateLimiter limiter;
  const config::RateLimit rule{3, 30};  // one every 10 s
  Decision d = limiter.take("k", rule, kT0);
  std::string lines;
  append_rate_limit_lines(d, lines);
  EXPECT_EQ(lines, "RateLimit-Limit: 3\r\nRateLimit-Remaining: 2\r\nRateLimit-Reset: 10\r\n");
  limiter.take("k", rule, kT0);
  limiter.take("k", rule, kT0);
  Decision refused = limiter.take("k", rule, kT0 + 2500);
  lines.clear();
  append_rate_limit_lines(refused, lines);
  // 27.5 s until the quota is whole and 7.5 s until one request frees up, rounded up.
  EXPECT_EQ(lines, "RateLimit-Limit: 3\r\nRateLimit-Remaining: 0\r\nRateLimit-Reset: 28\r\nRetry-After: 8\r\n");
}

TEST(MemoryRateLimiter, ConcurrentHitsOnOneKeyAllowExactlyN) {
  MemoryRateLimiter limiter;
  const config::RateLimit rule{1000, 3600};
  std::atomic<int> allowed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 500; ++i) {
        if (limiter.take("message:user:42", rule, kT0).allowed) allowed.fetch_add(1);
        limiter.peek("message:user:42", rule, kT0);
        limiter.take("other:" + std::to_string(i % 7), rule, kT0);  // other shards stay busy too
      }
    });
  }
  go.store(true);
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1000);  // 4000 attempts at the same instant
}

TEST(MemoryRateLimiter, MemoryStaysBounded) {
  const std::size_t cap = 1000;
  MemoryRateLimiter limiter(cap);
  EXPECT_EQ(limiter.max_keys(), cap);
  const config::RateLimit rule{5, 3600};  // entries stay live for the whole test
  std::size_t peak = 0;
  for (std::size_t i = 0; i < cap * 10; ++i) {
    limiter.take("register:ip:10.0." + std::to_string(i), rule, kT0 + static_cast<std::int64_t>(i));
    peak = std::max(peak, limiter.size());
  }
  EXPECT_LE(peak, cap);
  EXPECT_GE(limiter.size(), cap * 9 / 10);  // the cap is used, not just respected
  // The newest keys survived the evictions (those closest to expiry went first).
  Decision newest = limiter.peek("register:ip:10.0." + std::to_string(cap * 10 - 1), rule, kT0 + 20000);
  EXPECT_EQ(newest.remaining, 4);
}

TEST(MemoryRateLimiter, TinyCapsAreExact) {
  for (std::size_t cap : {1u, 3u, 17u}) {
    MemoryRateLimiter limiter(cap);
    for (int i = 0; i < 200; ++i) {
      limiter.take("k" + std::to_string(i), {2, 60}, kT0);
      ASSERT_LE(limiter.size(), cap) << cap;
    }
  }
  MemoryRateLimiter zero(0);
  EXPECT_EQ(zero.max_keys(), 1u);
  EXPECT_TRUE(zero.take("a", {1, 60}, kT0).allowed);
  EXPECT_FALSE(zero.take("a", {1, 60}, kT0).allowed);
}

TEST(MemoryRateLimiter, SweepRemovesExpiredEntries) {
  MemoryRateLimiter limiter;
  for (int i = 0; i < 50; ++i) limiter.take("short:" + std::to_string(i), {10, 10}, kT0);  // expire after 1 s
  for (int i = 0; i < 20; ++i) limiter.take("long:" + std::to_string(i), {1, 3600}, kT0);  // after 1 h
  EXPECT_EQ(limiter.size(), 70u);
  EXPECT_EQ(limiter.sweep(kT0 + 999), 0u);
  EXPECT_EQ(limiter.sweep(kT0 + 1000), 50u);
  EXPECT_EQ(limiter.size(), 20u);
  EXPECT_FALSE(limiter.take("long:3", {1, 3600}, kT0 + 1000).allowed);  // live entries kept
  EXPECT_EQ(limiter.sweep(kT0 + 3600 * 1000), 20u);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(MemoryRateLimiter, ExpiredEntriesArePurgedLazilyOnInsert) {
  MemoryRateLimiter limiter(16);  // one entry per shard
  for (int i = 0; i < 16; ++i) limiter.take("old:" + std::to_string(i), {10, 10}, kT0);
  for (int i = 0; i < 100; ++i) limiter.take("new:" + std::to_string(i), {10, 10}, kT0 + 5000);
  EXPECT_LE(limiter.size(), 16u);
  // An expired entry that is hit again is reused, and behaves like a fresh key.
  MemoryRateLimiter reuse;
  reuse.take("k", {1, 10}, kT0);
  EXPECT_FALSE(reuse.take("k", {1, 10}, kT0 + 9999).allowed);
  Decision d = reuse.take("k", {1, 10}, kT0 + 10000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(reuse.size(), 1u);
}

TEST(MemoryRateLimiter, UsableThroughTheInterface) {
  MemoryRateLimiter memory;
  RateLimiter& limiter = memory;
  EXPECT_TRUE(unit::run(limiter.hit("k", {1, 1}, kT0)).allowed);
  EXPECT_FALSE(unit::run(limiter.hit("k", {1, 1}, kT0)).allowed);
  memory.reset("k");
  EXPECT_TRUE(memory.peek("k", {1, 1}, kT0).allowed);
  EXPECT_TRUE(unit::run(limiter.hit("k", {1, 1}, kT0)).allowed);
}

}  // namespace
}  // namespace chatd::limits
