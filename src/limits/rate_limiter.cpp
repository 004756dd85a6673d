#include "limits/rate_limiter.hpp"

#include "core/header_line.hpp"

#include <algorithm>

namespace chatd::limits {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1000000;

// Rounds up, for positive and zero values only (what the algorithm produces).
std::int64_t ceil_div(std::int64_t value, std::int64_t divisor) {
  return value <= 0 ? 0 : (value + divisor - 1) / divisor;
}

}  // namespace

GcraParams gcra_params(const config::RateLimit& rule) {
  // Config validation already guarantees N >= 1 and W >= 1 s; clamping keeps a hand-built
  // rule from dividing by zero rather than trusting every caller.
  GcraParams p;
  p.limit = std::max<std::int64_t>(rule.requests, 1);
  std::int64_t window_us = std::max<std::int64_t>(rule.window_seconds, 1) * kMicrosPerSecond;
  p.interval_us = std::max<std::int64_t>(ceil_div(window_us, p.limit), 1);
  p.burst_us = p.interval_us * p.limit;
  return p;
}

GcraStep gcra_step(std::int64_t stored_tat_us, const config::RateLimit& rule, std::int64_t now_us, bool consume) {
  const GcraParams p = gcra_params(rule);
  GcraStep step;
  step.new_tat_us = stored_tat_us;
  Decision& d = step.decision;
  d.limit = p.limit;

  std::int64_t tat = std::max(stored_tat_us, now_us);
  tat = std::min(tat, now_us + p.burst_us);
  const std::int64_t new_tat = tat + p.interval_us;
  d.allowed = new_tat - now_us <= p.burst_us;
  if (!d.allowed) {
    d.remaining = 0;
    d.reset_seconds = ceil_div(tat - now_us, kMicrosPerSecond);
    d.retry_after_seconds = std::max<std::int64_t>(ceil_div(new_tat - p.burst_us - now_us, kMicrosPerSecond), 1);
    return step;
  }
  if (consume) {
    step.new_tat_us = new_tat;
    d.remaining = (p.burst_us - (new_tat - now_us)) / p.interval_us;
    d.reset_seconds = ceil_div(new_tat - now_us, kMicrosPerSecond);
  } else {
    d.remaining = (p.burst_us - (tat - now_us)) / p.interval_us;
    d.reset_seconds = ceil_div(tat - now_us, kMicrosPerSecond);
  }
  return step;
}

Decision most_restrictive(const Decision& a, const Decision& b) {
  if (a.allowed != b.allowed) return a.allowed ? b : a;
  if (!a.allowed) return a.retry_after_seconds >= b.retry_after_seconds ? a : b;
  if (a.remaining != b.remaining) return a.remaining < b.remaining ? a : b;
  return a.reset_seconds >= b.reset_seconds ? a : b;
}

void append_rate_limit_lines(const Decision& decision, std::string& lines) {
  append_header_line(lines, "RateLimit-Limit", decision.limit);
  append_header_line(lines, "RateLimit-Remaining", std::max<std::int64_t>(decision.remaining, 0));
  append_header_line(lines, "RateLimit-Reset", std::max<std::int64_t>(decision.reset_seconds, 0));
  if (!decision.allowed)
    append_header_line(lines, "Retry-After", std::max<std::int64_t>(decision.retry_after_seconds, 1));
}

}  // namespace chatd::limits
