#pragma once
// The in-process rate limiter (used when CHATD_REDIS_URL is not set): GCRA state (one
// timestamp per key, see rate_limiter.hpp) in a sharded hash map.
//
// Memory is bounded because keys come from the network (client IPs, user ids): at most
// `max_keys` entries exist at any time. An entry whose timestamp has passed carries no
// information and is dropped lazily (when a shard inserts) or by sweep(). When a shard is
// full of live entries it evicts the one closest to expiry: that key has almost all of its
// quota back anyway, so forgetting it is the smallest possible leniency, and a flood of
// fresh keys can never make the map grow.
//
// Shards (each with its own mutex) keep several network threads from contending on one
// lock. After a key's first request, a hit allocates nothing: the map node is reused and
// its place in the per-shard expiry order is moved with node extraction.

#include "limits/rate_limiter.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace chatd::limits {

class MemoryRateLimiter final : public RateLimiter {
 public:
  static constexpr std::size_t kDefaultMaxKeys = 100000;

  // max_keys: the most keys remembered at once (a value of 0 is treated as 1).
  explicit MemoryRateLimiter(std::size_t max_keys = kDefaultMaxKeys);
  ~MemoryRateLimiter() override;
  MemoryRateLimiter(const MemoryRateLimiter&) = delete;
  MemoryRateLimiter& operator=(const MemoryRateLimiter&) = delete;

  boost::asio::awaitable<Decision> hit(std::string key, config::RateLimit rule, std::int64_t now_ms) override;
  std::optional<Decision> hit_now(std::string_view key, const config::RateLimit& rule, std::int64_t now_ms) override {
    return take(key, rule, now_ms);
  }

  // The same, synchronously (this limiter never waits): counts one request when allowed.
  Decision take(std::string_view key, const config::RateLimit& rule, std::int64_t now_ms);
  // What take() would answer, without counting anything; `remaining` is how many requests
  // are allowed now (not counting this one).
  Decision peek(std::string_view key, const config::RateLimit& rule, std::int64_t now_ms);
  // Forgets `key`: its next request sees the full quota. No-op for an unknown key.
  void reset(std::string_view key);

  // Drops every entry that has expired by `now_ms`; returns how many. Meant for a periodic
  // timer (e.g. once a minute) so idle keys do not wait for their shard's next insert.
  std::size_t sweep(std::int64_t now_ms);

  // Entries currently held (expired ones not yet purged included); never above max_keys().
  std::size_t size() const;
  std::size_t max_keys() const { return max_keys_; }

 private:
  struct Shard;
  Shard& shard_for(std::string_view key);

  std::size_t max_keys_;
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace chatd::limits
