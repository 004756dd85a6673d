#pragma once
// The shared rate limiter (CHATD_REDIS_URL set): the GCRA of rate_limiter.hpp as one Lua
// script per decision, run atomically by Redis with Redis's clock, so that every instance
// counts against the same state and answers the same headers. Keys are "chatd:rl:" + the
// limiter key; each expires when it stops carrying information.
//
// When Redis cannot answer (down, too slow, too many commands waiting), the decision is taken
// by the in-process limiter instead: limits then hold per instance (a brute force stays
// bounded), and the shared state is used again as soon as Redis answers.

#include "core/log.hpp"
#include "limits/memory_rate_limiter.hpp"
#include "limits/rate_limiter.hpp"
#include "redis/client.hpp"

#include <atomic>
#include <string>

namespace chatd::limits {

class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(redis::Client& redis, MemoryRateLimiter& fallback, Logger& log);

  boost::asio::awaitable<Decision> hit(std::string key, config::RateLimit rule, std::int64_t now_ms) override;

  // The script's text and its SHA-1 (what EVALSHA names).
  static const std::string& script();
  static const std::string& script_sha();
  // Decisions taken by the in-process limiter because Redis could not answer.
  std::uint64_t fallbacks() const { return fallbacks_.load(std::memory_order_relaxed); }

 private:
  Decision fall_back(const std::string& key, const config::RateLimit& rule, std::int64_t now_ms,
                     const std::string& why);

  redis::Client& redis_;
  MemoryRateLimiter& fallback_;
  Logger& log_;
  std::atomic<bool> degraded_{false};
  std::atomic<std::uint64_t> fallbacks_{0};
};

// The Decision of the script's reply {allowed, remaining, reset_us, retry_after_us}; nullopt
// when the reply has another shape.
std::optional<Decision> decision_from_reply(const redis::Reply& reply, const config::RateLimit& rule);

}  // namespace chatd::limits
