#include "limits/redis_rate_limiter.hpp"

#include <openssl/evp.h>

#include <array>

namespace chatd::limits {

namespace {

constexpr std::int64_t kMicrosPerSecond = 1000000;

std::int64_t ceil_seconds(std::int64_t us) { return us <= 0 ? 0 : (us + kMicrosPerSecond - 1) / kMicrosPerSecond; }

// rate_limiter.hpp's algorithm, line for line. GET answers false for a missing key.
// string.format keeps Lua from writing large numbers in exponent form.
const char* const kScript = R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0) or 0, now)
tat = math.min(tat, now + burst)
local new_tat = tat + interval
if new_tat - now > burst then
  return {0, 0, tat - now, new_tat - burst - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PXAT', string.format('%.0f', math.ceil(new_tat / 1000)))
return {1, math.floor((burst - (new_tat - now)) / interval), new_tat - now, 0}
)lua";

std::string sha1_hex(const std::string& text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace

const std::string& RedisRateLimiter::script() {
  static const std::string text = kScript;
  return text;
}

const std::string& RedisRateLimiter::script_sha() {
  static const std::string sha = sha1_hex(script());
  return sha;
}

std::optional<Decision> decision_from_reply(const redis::Reply& reply, const config::RateLimit& rule) {
  if (reply.type != redis::Reply::Type::array || reply.elements.size() != 4) return std::nullopt;
  for (const auto& e : reply.elements)
    if (e.type != redis::Reply::Type::integer) return std::nullopt;
  Decision d;
  d.limit = gcra_params(rule).limit;
  d.allowed = reply.elements[0].integer == 1;
  d.remaining = reply.elements[1].integer;
  d.reset_seconds = ceil_seconds(reply.elements[2].integer);
  d.retry_after_seconds = d.allowed ? 0 : std::max<std::int64_t>(ceil_seconds(reply.elements[3].integer), 1);
  return d;
}

RedisRateLimiter::RedisRateLimiter(redis::Client& redis, MemoryRateLimiter& fallback, Logger& log)
    : redis_(redis), fallback_(fallback), log_(log) {}

boost::asio::awaitable<Decision> RedisRateLimiter::hit(std::string key, config::RateLimit rule, std::int64_t now_ms) {
  const GcraParams p = gcra_params(rule);
  std::vector<std::string> args{
      "EVALSHA", script_sha(), "1", "chatd:rl:" + key, std::to_string(p.interval_us), std::to_string(p.burst_us)};
  auto reply = co_await redis_.command(args);
  // A Redis that restarted has forgotten the script: EVAL sends it again (and caches it).
  if (reply && reply.value().is_error() && reply.value().str.starts_with("NOSCRIPT")) {
    args[0] = "EVAL";
    args[1] = script();
    reply = co_await redis_.command(std::move(args));
  }
  if (!reply) co_return fall_back(key, rule, now_ms, reply.error().detail);
  auto decision = decision_from_reply(reply.value(), rule);
  if (!decision)
    co_return fall_back(key, rule, now_ms,
                        reply.value().is_error() ? reply.value().str : "an unexpected reply to the limit script");
  if (degraded_.exchange(false, std::memory_order_relaxed)) log_.info("limits.shared_again");
  co_return *decision;
}

Decision RedisRateLimiter::fall_back(const std::string& key, const config::RateLimit& rule, std::int64_t now_ms,
                                     const std::string& why) {
  fallbacks_.fetch_add(1, std::memory_order_relaxed);
  if (!degraded_.exchange(true, std::memory_order_relaxed))
    log_.warn("limits.in_process")
        .str("detail", "Redis cannot answer: rate limits hold per instance")
        .str("error", why);
  return fallback_.take(key, rule, now_ms);
}

}  // namespace chatd::limits
