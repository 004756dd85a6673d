#pragma once
// Rate limiting with GCRA, the generic cell rate algorithm. Every implementation (in
// process, Redis) must follow the algorithm below exactly, so that switching CHATD_REDIS_URL
// on or off changes where the state lives, never the answers.
//
// Why GCRA: it keeps one number per key (the "theoretical arrival time", TAT), so it is
// cheap in memory and a single atomic read-modify-write in Redis; unlike a fixed window it
// has no boundary burst (2N requests across a window edge), and unlike a sliding log it
// needs no list of timestamps. A rule "N requests per W seconds" allows a burst of N and
// then one more request every W/N seconds; a client that stays quiet for W seconds has its
// whole quota back.
//
// The algorithm, in integer microseconds (Redis TIME has microsecond resolution and a
// microsecond epoch still fits exactly in a Lua double):
//
//   interval = ceil(W * 1e6 / N)  (at least 1)    time one request "costs"
//   burst    = interval * N                        how far TAT may run ahead of now
//   tat      = max(stored TAT or 0, now)
//   tat      = min(tat, now + burst)               a clock that stepped back never locks out
//                                                  a key for longer than one window
//   new_tat  = tat + interval
//   refused  when new_tat - now > burst:
//     remaining = 0, reset = tat - now, retry_after = new_tat - burst - now (> 0)
//   allowed otherwise, store new_tat (expiring at new_tat):
//     remaining = (burst - (new_tat - now)) / interval   (integer division)
//     reset = new_tat - now
//   Seconds in a Decision are the microsecond values rounded up (ceil(us / 1e6)).
//
// Rounding the interval up means the limiter never allows more than the configured rate; a
// burst is still exactly N. Above 10^6 requests per second per key the rate is capped at
// 10^6/s, far beyond any sensible setting.
//
// A key whose TAT is not after now holds no information (it is the same as an absent key),
// so a stored TAT can be deleted at that moment: Redis uses PEXPIREAT new_tat / 1000
// (rounded up), the in-process limiter purges it. gcra_step() below is the reference; the
// Redis script, run atomically with EVALSHA, is expected to read:
//
//   -- KEYS[1] = key; ARGV = interval_us, burst_us; now from redis.call('TIME')
//   local t = redis.call('TIME'); local now = t[1] * 1000000 + t[2]
//   local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
//   local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
//   tat = math.min(tat, now + burst)
//   local new_tat = tat + interval
//   if new_tat - now > burst then return {0, tat - now, new_tat - burst - now} end
//   redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PXAT',
//              string.format('%.0f', math.ceil(new_tat / 1000)))   -- PEXPIREAT before Redis 6.2
//   return {1, new_tat - now, 0}
//
// (Taking now from Redis keeps instances with skewed clocks consistent; string.format
// avoids Lua printing large numbers in exponent form.)
//
// Keys name the bucket and the subject, e.g. "login:ip:1.2.3.4", "message:user:<id>".

#include "config/config.hpp"

// clang-format off
#include <utility>  // first: Boost 1.74's awaitable.hpp uses std::exchange without including it
#include <boost/asio/awaitable.hpp>
// clang-format on

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatd::limits {

struct Decision {
  bool allowed = true;
  std::int64_t limit = 0;                // the rule's N
  std::int64_t remaining = 0;            // further requests allowed right now (after this one)
  std::int64_t reset_seconds = 0;        // until the whole quota is available again
  std::int64_t retry_after_seconds = 0;  // >= 1 when !allowed, else 0
};

// What the server asks, so that the in-process and the Redis limiters are interchangeable.
// A coroutine because the Redis limiter waits for Redis (on the calling network thread's
// own connection; nothing blocks). Every call is safe from several threads at once. `now_ms`
// is Unix epoch milliseconds (the Redis limiter uses its server's clock instead, see above;
// the in-process one counts a reading up to a second older than the latest it has seen at
// that latest time, as Redis would count the request when it arrives).
// A rule with requests or window_seconds below 1 is treated as 1.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;

  // Counts one request for `key` under `rule` when it is allowed (a refused request costs
  // nothing, so a client that keeps retrying is not punished beyond the rule).
  virtual boost::asio::awaitable<Decision> hit(std::string key, config::RateLimit rule, std::int64_t now_ms) = 0;
  // hit() without a coroutine, from a limiter that answers without waiting (the in-process
  // one). One that cannot (the Redis one) answers nullopt and counts nothing: call hit().
  virtual std::optional<Decision> hit_now(std::string_view /*key*/, const config::RateLimit& /*rule*/,
                                          std::int64_t /*now_ms*/) {
    return std::nullopt;
  }
};

// The GCRA step shared by every implementation. `stored_tat_us` is 0 for an unknown key.
// With `consume` it answers like hit() and `new_tat_us` is what to store when allowed
// (unchanged from stored_tat_us when refused); without it it answers like peek().
struct GcraStep {
  Decision decision;
  std::int64_t new_tat_us = 0;
};
GcraStep gcra_step(std::int64_t stored_tat_us, const config::RateLimit& rule, std::int64_t now_us, bool consume);

// The rule's emission interval and burst in microseconds (see above); exposed so that a
// Redis implementation passes exactly these to its script.
struct GcraParams {
  std::int64_t interval_us = 1;
  std::int64_t burst_us = 1;
  std::int64_t limit = 1;
};
GcraParams gcra_params(const config::RateLimit& rule);

// The more restrictive of two decisions, for a request that counts against several rules
// (e.g. `global` and `login`): a refusal wins (the longer wait if both refuse); between two
// allowances the one with fewer requests remaining (later reset on a tie).
Decision most_restrictive(const Decision& a, const Decision& b);

// The response header lines for a decision, appended to `lines` in wire form ("Name:
// value\r\n" each; HTTP-free so that the api layer sends them): RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset always, and Retry-After (at least 1) when the
// request is refused. Values are decimal integers of requests / seconds.
void append_rate_limit_lines(const Decision& decision, std::string& lines);

}  // namespace chatd::limits
