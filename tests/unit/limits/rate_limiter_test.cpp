#include "limits/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace chatd::limits {
namespace {

constexpr std::int64_t kNowUs = 1795334400000LL * 1000;

// The header lines append_rate_limit_lines writes for `d`, by name; fails the test on a line
// not in wire form.
std::map<std::string, std::string> lines_of(const Decision& d) {
  std::string lines = "X: kept\r\n";
  append_rate_limit_lines(d, lines);
  std::map<std::string, std::string> out;
  for (std::size_t at = 0; at < lines.size();) {
    std::size_t eol = lines.find("\r\n", at);
    EXPECT_NE(eol, std::string::npos) << lines;
    if (eol == std::string::npos) break;
    std::string line = lines.substr(at, eol - at);
    std::size_t colon = line.find(": ");
    EXPECT_NE(colon, std::string::npos) << line;
    if (colon == std::string::npos) break;
    EXPECT_TRUE(out.emplace(line.substr(0, colon), line.substr(colon + 2)).second) << "twice: " << line;
    at = eol + 2;
  }
  EXPECT_EQ(out["X"], "kept");  // appended, not replaced
  out.erase("X");
  return out;
}

TEST(Gcra, ParamsSplitTheWindowIntoEqualIntervals) {
  GcraParams p = gcra_params({10, 60});
  EXPECT_EQ(p.limit, 10);
  EXPECT_EQ(p.interval_us, 6000000);
  EXPECT_EQ(p.burst_us, 60000000);
  // An interval that does not divide evenly is rounded up: never more than the rule allows.
  GcraParams odd = gcra_params({7, 60});
  EXPECT_EQ(odd.interval_us, 8571429);
  EXPECT_EQ(odd.burst_us, 7 * 8571429);
  // Degenerate rules are clamped rather than dividing by zero.
  GcraParams zero = gcra_params({0, 0});
  EXPECT_EQ(zero.limit, 1);
  EXPECT_EQ(zero.interval_us, 1000000);
}

TEST(Gcra, StepFollowsTheDocumentedAlgorithm) {
  const config::RateLimit rule{3, 60};  // one request per 20 s, burst 3
  std::int64_t tat = 0;
  for (int i = 0; i < 3; ++i) {
    GcraStep s = gcra_step(tat, rule, kNowUs, true);
    ASSERT_TRUE(s.decision.allowed) << i;
    EXPECT_EQ(s.decision.remaining, 2 - i);
    EXPECT_EQ(s.decision.reset_seconds, 20 * (i + 1));
    EXPECT_EQ(s.decision.retry_after_seconds, 0);
    EXPECT_EQ(s.new_tat_us, kNowUs + 20000000LL * (i + 1));
    tat = s.new_tat_us;
  }
  GcraStep refused = gcra_step(tat, rule, kNowUs, true);
  EXPECT_FALSE(refused.decision.allowed);
  EXPECT_EQ(refused.decision.remaining, 0);
  EXPECT_EQ(refused.decision.reset_seconds, 60);
  EXPECT_EQ(refused.decision.retry_after_seconds, 20);
  EXPECT_EQ(refused.new_tat_us, tat);  // a refused request costs nothing

  // 0.5 s before the next interval frees up: retry_after rounds up to a whole second.
  GcraStep almost = gcra_step(tat, rule, kNowUs + 19500000, true);
  EXPECT_FALSE(almost.decision.allowed);
  EXPECT_EQ(almost.decision.retry_after_seconds, 1);
  GcraStep then = gcra_step(tat, rule, kNowUs + 20000000, true);
  EXPECT_TRUE(then.decision.allowed);
  EXPECT_EQ(then.decision.remaining, 0);
}

TEST(Gcra, PeekDoesNotConsume) {
  const config::RateLimit rule{5, 10};
  GcraStep fresh = gcra_step(0, rule, kNowUs, false);
  EXPECT_TRUE(fresh.decision.allowed);
  EXPECT_EQ(fresh.decision.remaining, 5);
  EXPECT_EQ(fresh.decision.reset_seconds, 0);
  EXPECT_EQ(fresh.new_tat_us, 0);
  GcraStep used = gcra_step(kNowUs + 4000000, rule, kNowUs, false);  // two requests spent
  EXPECT_EQ(used.decision.remaining, 3);
  EXPECT_EQ(used.decision.reset_seconds, 4);
}

TEST(Gcra, ClockSteppingBackLocksOutForAtMostOneWindow) {
  const config::RateLimit rule{2, 60};
  // A TAT far in the future (the clock went back an hour after it was stored).
  GcraStep s = gcra_step(kNowUs + 3600LL * 1000000, rule, kNowUs, true);
  EXPECT_FALSE(s.decision.allowed);
  EXPECT_LE(s.decision.retry_after_seconds, 60);
  EXPECT_LE(s.decision.reset_seconds, 60);
}

TEST(RateLimitHeaders, AllowedResponseCarriesTheThreeHeaders) {
  Decision d{true, 10, 7, 18, 0};
  auto h = lines_of(d);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h["RateLimit-Limit"], "10");
  EXPECT_EQ(h["RateLimit-Remaining"], "7");
  EXPECT_EQ(h["RateLimit-Reset"], "18");
  EXPECT_EQ(h.count("Retry-After"), 0u);
}

TEST(RateLimitHeaders, RefusedResponseAddsRetryAfter) {
  Decision d{false, 10, 0, 60, 6};
  auto h = lines_of(d);
  EXPECT_EQ(h.size(), 4u);
  EXPECT_EQ(h["RateLimit-Remaining"], "0");
  EXPECT_EQ(h["RateLimit-Reset"], "60");
  EXPECT_EQ(h["Retry-After"], "6");
  // Retry-After is never 0 on a refusal, even from a hand-built decision.
  Decision odd{false, 1, 0, 0, 0};
  EXPECT_EQ(lines_of(odd)["Retry-After"], "1");
}

TEST(RateLimitHeaders, FromARealRefusal) {
  const config::RateLimit rule{1, 30};
  GcraStep first = gcra_step(0, rule, kNowUs, true);
  GcraStep second = gcra_step(first.new_tat_us, rule, kNowUs + 1000, true);
  auto h = lines_of(second.decision);
  EXPECT_EQ(h["RateLimit-Limit"], "1");
  EXPECT_EQ(h["RateLimit-Remaining"], "0");
  EXPECT_EQ(h["RateLimit-Reset"], "30");
  EXPECT_EQ(h["Retry-After"], "30");
}

TEST(MostRestrictive, RefusalWinsThenFewerRemaining) {
  Decision ok_many{true, 600, 500, 10, 0};
  Decision ok_few{true, 10, 2, 40, 0};
  Decision no_short{false, 10, 0, 30, 3};
  Decision no_long{false, 600, 0, 60, 9};
  EXPECT_EQ(most_restrictive(ok_many, ok_few).remaining, 2);
  EXPECT_EQ(most_restrictive(ok_few, ok_many).remaining, 2);
  EXPECT_FALSE(most_restrictive(ok_many, no_short).allowed);
  EXPECT_FALSE(most_restrictive(no_short, ok_many).allowed);
  EXPECT_EQ(most_restrictive(no_short, no_long).retry_after_seconds, 9);
  Decision tie_late{true, 10, 2, 50, 0};
  EXPECT_EQ(most_restrictive(ok_few, tie_late).reset_seconds, 50);
}

}  // namespace
}  // namespace chatd::limits
