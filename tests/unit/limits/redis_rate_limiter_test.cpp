// The shared limiter against a real redis-server: its Lua script answers exactly what the
// reference gcra_step() answers (fresh keys, stored TATs ahead of and behind Redis's clock, a
// TAT beyond the burst), two instances hammering one bucket let through exactly the limit,
// and while Redis is away the in-process limiter decides, until Redis is back.
#include "limits/redis_rate_limiter.hpp"

#include "../redis/redis_testing.hpp"
#include "core/time.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

namespace chatd::limits {
namespace {

namespace asio = boost::asio;

using unit::drive;

// One instance: a context, its Redis client and the limiters.
struct Instance {
  Instance(std::uint16_t port, Logger& log) : client(options(port), log), limiter(client, fallback, log) {
    client.attach({&ioc});
  }
  ~Instance() { client.stop(); }

  static redis::ConnectionOptions options(std::uint16_t port) { return unit::local_redis(port); }

  Decision hit(const std::string& key, config::RateLimit rule) {
    std::optional<Decision> out;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await limiter.hit(key, rule, system_now_ms())); },
        asio::detached);
    drive(ioc, [&] { return out.has_value(); });
    return *out;
  }

  redis::Reply call(std::vector<std::string> args) {
    std::optional<Result<redis::Reply>> out;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await client.command(std::move(args))); }, asio::detached);
    drive(ioc, [&] { return out.has_value(); });
    EXPECT_TRUE(*out);
    return *out ? out->value() : redis::Reply{};
  }

  void wait_connected() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::optional<Status> st;
      asio::co_spawn(
          ioc, [&]() -> asio::awaitable<void> { st.emplace(co_await client.ping()); }, asio::detached);
      drive(ioc, [&] { return st.has_value(); });
      if (*st) return;
      ioc.run_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "Redis never answered";
  }

  // Redis's clock in microseconds.
  std::int64_t redis_now_us() {
    auto t = call({"TIME"});
    return std::stoll(t.elements.at(0).str) * 1000000 + std::stoll(t.elements.at(1).str);
  }

  asio::io_context ioc;
  redis::Client client;
  MemoryRateLimiter fallback;
  RedisRateLimiter limiter;
};

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()) << "redis-server could not be started (scripts/install-deps)"; }

  unit::RedisServer server_;
  Logger log_{LogLevel::error, LogFormat::json, ::fileno(stderr)};
};

void expect_same(const Decision& got, const Decision& want, const std::string& what) {
  EXPECT_EQ(got.allowed, want.allowed) << what;
  EXPECT_EQ(got.limit, want.limit) << what;
  EXPECT_EQ(got.remaining, want.remaining) << what;
  EXPECT_EQ(got.reset_seconds, want.reset_seconds) << what;
  EXPECT_EQ(got.retry_after_seconds, want.retry_after_seconds) << what;
}

TEST_F(RedisRateLimiterTest, AnswersLikeTheInProcessLimiterHitForHit) {
  Instance one(server_.port(), log_);
  one.wait_connected();
  MemoryRateLimiter reference;
  const config::RateLimit rule{5, 60};
  for (int i = 0; i < 8; ++i) {
    Decision shared = one.hit("login:ip:10.0.0.1", rule);
    Decision local = reference.take("login:ip:10.0.0.1", rule, system_now_ms());
    expect_same(shared, local, "hit " + std::to_string(i));
  }
  EXPECT_EQ(one.limiter.fallbacks(), 0u);
  // The key carries the prefix and expires when its TAT passes (5 x 12 s from now).
  auto ttl = one.call({"PTTL", "chatd:rl:login:ip:10.0.0.1"});
  EXPECT_GT(ttl.integer, 59000);
  EXPECT_LE(ttl.integer, 60001);
}

TEST_F(RedisRateLimiterTest, TheScriptFollowsTheReferenceStepForStoredTats) {
  Instance one(server_.port(), log_);
  one.wait_connected();
  const config::RateLimit rule{5, 60};  // interval 12 s, burst 60 s
  struct Case {
    const char* what;
    std::int64_t ahead_us;  // the stored TAT relative to Redis's clock
  };
  // Values away from whole seconds and intervals, so that the microseconds between reading
  // Redis's clock and the script running cannot change a rounded figure.
  for (Case c : {Case{"behind now", -5'500'000}, Case{"a little ahead", 30'500'000},
                 Case{"nearly a burst ahead", 55'500'000}, Case{"far beyond the burst", 500'500'000}}) {
    std::string key = std::string("case:") + c.what;
    std::int64_t now = one.redis_now_us();
    std::int64_t stored = now + c.ahead_us;
    one.call({"SET", "chatd:rl:" + key, std::to_string(stored)});
    Decision got = one.hit(key, rule);
    expect_same(got, gcra_step(stored, rule, now, true).decision, c.what);
  }
}

TEST_F(RedisRateLimiterTest, TwoInstancesOnOneBucketLetThroughExactlyTheLimit) {
  Instance a(server_.port(), log_);
  Instance b(server_.port(), log_);
  a.wait_connected();
  b.wait_connected();
  const config::RateLimit rule{50, 3600};
  std::atomic<int> allowed{0};
  auto hammer = [&](Instance& in) {
    int pending = 0;
    for (int i = 0; i < 200; ++i) {
      ++pending;
      asio::co_spawn(
          in.ioc,
          [&]() -> asio::awaitable<void> {
            Decision d = co_await in.limiter.hit("message:user:42", rule, system_now_ms());
            if (d.allowed) ++allowed;
            --pending;
          },
          asio::detached);
    }
    drive(in.ioc, [&] { return pending == 0; });
  };
  std::thread ta([&] { hammer(a); });
  std::thread tb([&] { hammer(b); });
  ta.join();
  tb.join();
  EXPECT_EQ(allowed.load(), 50);
  EXPECT_EQ(a.limiter.fallbacks() + b.limiter.fallbacks(), 0u);
  // And both now answer the same headers.
  expect_same(a.hit("message:user:42", rule), b.hit("message:user:42", rule), "after the burst");
}

TEST_F(RedisRateLimiterTest, WithoutRedisTheInProcessLimiterDecidesUntilRedisIsBack) {
  Instance one(server_.port(), log_);
  one.wait_connected();
  const config::RateLimit rule{3, 60};
  ASSERT_TRUE(one.hit("login:ip:10.0.0.2", rule).allowed);  // counted in Redis
  server_.stop();
  // Still bounded while Redis is away: the in-process limiter has its own three.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(one.hit("login:ip:10.0.0.2", rule).allowed) << i;
  EXPECT_FALSE(one.hit("login:ip:10.0.0.2", rule).allowed);
  EXPECT_GE(one.limiter.fallbacks(), 4u);

  // A new, empty Redis: it knows neither the key nor the script (NOSCRIPT -> EVAL).
  ASSERT_TRUE(server_.start());
  one.wait_connected();
  std::uint64_t before = one.limiter.fallbacks();
  Decision back = one.hit("login:ip:10.0.0.2", rule);
  EXPECT_TRUE(back.allowed);
  EXPECT_EQ(back.remaining, 2);
  EXPECT_EQ(one.limiter.fallbacks(), before);
  // And after the scripts are flushed on a running server.
  one.call({"SCRIPT", "FLUSH"});
  EXPECT_EQ(one.hit("login:ip:10.0.0.2", rule).remaining, 1);
  EXPECT_EQ(one.limiter.fallbacks(), before);
}

}  // namespace
}  // namespace chatd::limits
