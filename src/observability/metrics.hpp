#pragma once
// chatd's metrics, exposed at GET /metrics in Prometheus text format 0.0.4.
//
// Counting is lock-free: every sample is a relaxed atomic that a request bumps, so the
// network threads never wait on each other for it. Labels are route patterns and fixed sets
// chosen at startup (buckets, pools, providers' models), never ids, e-mails or other
// unbounded strings. Values read at scrape time (pools, queues, the process) come from
// collectors registered once at startup, before the server runs.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::obs {

// Whether counting is compiled in (CMake option CHATD_METRICS; off only to measure its cost).
#ifdef CHATD_NO_METRICS
inline constexpr bool kCounting = false;
#else
inline constexpr bool kCounting = true;
#endif

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept {
    if constexpr (kCounting) v_.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) noexcept {
    if constexpr (kCounting) v_.fetch_add(n, std::memory_order_relaxed);
  }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Durations, observed in microseconds and exposed in seconds, over one fixed set of buckets
// from 1 ms to 2 minutes (requests, upstream calls and the first token all fit it).
class Histogram {
 public:
  static constexpr std::array<std::int64_t, 16> kBoundsUs = {
      1'000,   2'500,     5'000,     10'000,    25'000,     50'000,     100'000,    250'000,
      500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000, 120'000'000};
  void observe_us(std::int64_t us) noexcept;
  // Cumulative counts per bound, then +Inf; and the sum in microseconds.
  std::array<std::uint64_t, kBoundsUs.size() + 1> cumulative() const noexcept;
  std::uint64_t sum_us() const noexcept { return sum_us_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, kBoundsUs.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_us_{0};
};

// Writes the exposition: a family's HELP and TYPE lines, then its samples.
class TextWriter {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  void histogram(std::string_view name, const Labels& labels, const Histogram& h);
  std::string take() { return std::move(out_); }

 private:
  void head(std::string_view name, const Labels& labels, std::string_view extra_name = {},
            std::string_view extra_value = {});
  std::string out_;
};

// Escapes a label value (backslash, double quote, newline) as the format requires.
std::string escape_label(std::string_view value);

enum class AuthEvent : std::uint8_t {
  login_succeeded,
  login_failed,  // wrong password or unknown account
  login_locked,  // refused because the account is locked
  otp_failed,    // a wrong one-time or recovery code
  refresh_succeeded,
  refresh_reused,  // a rotated refresh token presented again: the session was revoked
  kCount
};

// One upstream model's figures (provider and model are the providers file's names).
struct LlmModelMetrics {
  std::string provider, model;
  std::array<Counter, 4> requests;  // by outcome: complete, error, timeout, cancelled
  Counter prompt_tokens, completion_tokens;
  Counter cost_micro_usd;  // millionths of a US dollar, from the models' prices
  Histogram latency, first_token;
};

class Metrics {
 public:
  // buckets: the rate-limit buckets that may reject (CHATD_RATE_LIMITS' names).
  explicit Metrics(std::vector<std::string> buckets, std::string version);

  void auth_event(AuthEvent e) noexcept { auth_[static_cast<std::size_t>(e)].inc(); }
  void rate_limited(std::string_view bucket) noexcept;
  Gauge& open_streams() noexcept { return open_streams_; }

  // An upstream request that ended: outcome is "complete", "error", "timeout" or "cancelled".
  // A model seen for the first time gets its series (at most kMaxModels; later ones count as
  // provider "other", model "other").
  void llm_request(std::string_view provider, std::string_view model, std::string_view outcome,
                   std::int64_t prompt_tokens, std::int64_t completion_tokens, double cost_usd, std::int64_t latency_us,
                   std::optional<std::int64_t> first_token_us);
  static constexpr std::size_t kMaxModels = 256;

  // Adds families computed at scrape time. Startup only: before the server runs.
  void add_collector(std::function<void(TextWriter&)> collector) { collectors_.push_back(std::move(collector)); }

  std::string render() const;

 private:
  LlmModelMetrics& model_slot(std::string_view provider, std::string_view model);

  std::string version_;
  std::array<Counter, static_cast<std::size_t>(AuthEvent::kCount)> auth_;
  std::vector<std::string> bucket_names_;
  std::unique_ptr<Counter[]> bucket_counts_;  // NOLINT(*-avoid-c-arrays): fixed at startup, atomics
  Gauge open_streams_;
  mutable std::mutex models_mu_;  // guards the list; each slot's counters are atomics
  std::vector<std::unique_ptr<LlmModelMetrics>> models_;
  std::vector<std::function<void(TextWriter&)>> collectors_;
};

// Requests by route pattern, method and status, and their durations until the response
// head. One slot per route of the router (in its order) plus "unmatched" requests; built
// once the route table is complete.
class HttpMetrics {
 public:
  struct RouteLabel {
    std::string method, pattern;
  };
  explicit HttpMetrics(std::vector<RouteLabel> routes);

  // slot: the route's index, or unmatched(). status: 100-599 (others are counted as 599).
  void request(std::size_t slot, unsigned status, std::int64_t duration_us) const noexcept;
  std::size_t unmatched() const noexcept { return routes_.size() - 1; }
  void write(TextWriter& out) const;

 private:
  struct Slot {
    std::array<Counter, 500> by_status;  // 100-599
    Histogram duration;
  };
  std::vector<RouteLabel> routes_;
  std::unique_ptr<Slot[]> slots_;  // NOLINT(*-avoid-c-arrays): atomics, sized once
};

// The process's own figures from /proc/self (RSS, CPU, open files, start time), written in
// the families every Prometheus client exposes (process_*).
void write_process_metrics(TextWriter& out);

}  // namespace chatd::obs
