#include "observability/metrics.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/resource.h>

namespace chatd::obs {

namespace {

constexpr std::array<std::string_view, 4> kOutcomes = {"complete", "error", "timeout", "cancelled"};
constexpr std::array<std::string_view, static_cast<std::size_t>(AuthEvent::kCount)> kAuthEvents = {
    "login_succeeded", "login_failed", "login_locked", "otp_failed", "refresh_succeeded", "refresh_reused"};

std::string format_number(double v) {
  // Integers print as such; other values with enough digits to read back the same double.
  if (v == static_cast<double>(static_cast<std::int64_t>(v)) && v < 9e15 && v > -9e15)
    return std::to_string(static_cast<std::int64_t>(v));
  std::array<char, 32> buf{};
  auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), res.ptr);
}

std::string seconds_of(std::int64_t us) { return format_number(static_cast<double>(us) / 1e6); }

}  // namespace

void Histogram::observe_us(std::int64_t us) noexcept {
  if constexpr (!kCounting) return;
  if (us < 0) us = 0;
  auto it = std::lower_bound(kBoundsUs.begin(), kBoundsUs.end(), us);
  buckets_[static_cast<std::size_t>(it - kBoundsUs.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
}

std::array<std::uint64_t, Histogram::kBoundsUs.size() + 1> Histogram::cumulative() const noexcept {
  std::array<std::uint64_t, kBoundsUs.size() + 1> out{};
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void TextWriter::head(std::string_view name, const Labels& labels, std::string_view extra_name,
                      std::string_view extra_value) {
  out_.append(name);
  if (labels.empty() && extra_name.empty()) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_.append(k).append("=\"").append(escape_label(v)).append("\"");
  }
  if (!extra_name.empty()) {
    if (!first) out_ += ',';
    out_.append(extra_name).append("=\"").append(extra_value).append("\"");
  }
  out_.append("} ");
}

void TextWriter::sample(std::string_view name, const Labels& labels, double value) {
  head(name, labels);
  out_.append(format_number(value)).append("\n");
}

void TextWriter::sample(std::string_view name, const Labels& labels, std::uint64_t value) {
  head(name, labels);
  out_.append(std::to_string(value)).append("\n");
}

void TextWriter::histogram(std::string_view name, const Labels& labels, const Histogram& h) {
  auto counts = h.cumulative();
  std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < Histogram::kBoundsUs.size(); ++i) {
    head(bucket, labels, "le", seconds_of(Histogram::kBoundsUs[i]));
    out_.append(std::to_string(counts[i])).append("\n");
  }
  head(bucket, labels, "le", "+Inf");
  out_.append(std::to_string(counts.back())).append("\n");
  head(std::string(name) + "_sum", labels);
  out_.append(seconds_of(static_cast<std::int64_t>(h.sum_us()))).append("\n");
  head(std::string(name) + "_count", labels);
  out_.append(std::to_string(counts.back())).append("\n");
}

Metrics::Metrics(std::vector<std::string> buckets, std::string version)
    : version_(std::move(version)),
      bucket_names_(std::move(buckets)),
      bucket_counts_(std::make_unique<Counter[]>(bucket_names_.size())) {}  // NOLINT(*-avoid-c-arrays)

void Metrics::rate_limited(std::string_view bucket) noexcept {
  for (std::size_t i = 0; i < bucket_names_.size(); ++i) {
    if (bucket_names_[i] == bucket) {
      bucket_counts_[i].inc();
      return;
    }
  }
}

LlmModelMetrics& Metrics::model_slot(std::string_view provider, std::string_view model) {
  std::lock_guard lock(models_mu_);
  for (auto& m : models_)
    if (m->provider == provider && m->model == model) return *m;
  if (models_.size() >= kMaxModels) {
    for (auto& m : models_)
      if (m->provider == "other" && m->model == "other") return *m;
    provider = "other";
    model = "other";
  }
  auto slot = std::make_unique<LlmModelMetrics>();
  slot->provider = std::string(provider);
  slot->model = std::string(model);
  models_.push_back(std::move(slot));
  return *models_.back();
}

void Metrics::llm_request(std::string_view provider, std::string_view model, std::string_view outcome,
                          std::int64_t prompt_tokens, std::int64_t completion_tokens, double cost_usd,
                          std::int64_t latency_us, std::optional<std::int64_t> first_token_us) {
  if constexpr (!kCounting) return;
  LlmModelMetrics& m = model_slot(provider, model);
  auto it = std::find(kOutcomes.begin(), kOutcomes.end(), outcome);
  m.requests[it == kOutcomes.end() ? 1 : static_cast<std::size_t>(it - kOutcomes.begin())].inc();
  if (prompt_tokens > 0) m.prompt_tokens.inc(static_cast<std::uint64_t>(prompt_tokens));
  if (completion_tokens > 0) m.completion_tokens.inc(static_cast<std::uint64_t>(completion_tokens));
  if (cost_usd > 0 && cost_usd < 1e9) m.cost_micro_usd.inc(static_cast<std::uint64_t>(std::llround(cost_usd * 1e6)));
  m.latency.observe_us(latency_us);
  if (first_token_us) m.first_token.observe_us(*first_token_us);
}

std::string Metrics::render() const {
  TextWriter out;
  out.family("chatd_build_info", "gauge", "chatd's version; always 1");
  out.sample("chatd_build_info", {{"version", version_}}, std::uint64_t{1});

  out.family("chatd_auth_events_total", "counter", "Authentication outcomes");
  for (std::size_t i = 0; i < kAuthEvents.size(); ++i)
    out.sample("chatd_auth_events_total", {{"event", kAuthEvents[i]}}, auth_[i].value());

  out.family("chatd_rate_limited_total", "counter", "Requests refused by a rate-limit bucket");
  for (std::size_t i = 0; i < bucket_names_.size(); ++i)
    out.sample("chatd_rate_limited_total", {{"bucket", bucket_names_[i]}}, bucket_counts_[i].value());

  out.family("chatd_open_streams", "gauge", "Responses being streamed now (SSE)");
  out.sample("chatd_open_streams", {}, static_cast<double>(open_streams_.value()));

  std::vector<const LlmModelMetrics*> models;
  {
    std::lock_guard lock(models_mu_);
    for (const auto& m : models_) models.push_back(m.get());
  }
  out.family("chatd_llm_requests_total", "counter", "Upstream LLM requests by outcome");
  for (const auto* m : models)
    for (std::size_t i = 0; i < kOutcomes.size(); ++i)
      out.sample("chatd_llm_requests_total",
                 {{"provider", m->provider}, {"model", m->model}, {"outcome", kOutcomes[i]}}, m->requests[i].value());
  out.family("chatd_llm_tokens_total", "counter", "Tokens of upstream LLM requests");
  for (const auto* m : models) {
    out.sample("chatd_llm_tokens_total", {{"provider", m->provider}, {"model", m->model}, {"kind", "prompt"}},
               m->prompt_tokens.value());
    out.sample("chatd_llm_tokens_total", {{"provider", m->provider}, {"model", m->model}, {"kind", "completion"}},
               m->completion_tokens.value());
  }
  out.family("chatd_llm_cost_usd_total", "counter",
             "Cost of upstream LLM requests by the models' prices, in US dollars");
  for (const auto* m : models)
    out.sample("chatd_llm_cost_usd_total", {{"provider", m->provider}, {"model", m->model}},
               static_cast<double>(m->cost_micro_usd.value()) / 1e6);
  out.family("chatd_llm_request_duration_seconds", "histogram", "Upstream LLM request duration, to the last byte");
  for (const auto* m : models)
    out.histogram("chatd_llm_request_duration_seconds", {{"provider", m->provider}, {"model", m->model}}, m->latency);
  out.family("chatd_llm_time_to_first_token_seconds", "histogram",
             "Time from an upstream LLM request to its first text");
  for (const auto* m : models)
    out.histogram("chatd_llm_time_to_first_token_seconds", {{"provider", m->provider}, {"model", m->model}},
                  m->first_token);

  for (const auto& collect : collectors_) collect(out);
  return out.take();
}

HttpMetrics::HttpMetrics(std::vector<RouteLabel> routes) : routes_(std::move(routes)) {
  routes_.push_back({"any", "unmatched"});
  slots_ = std::make_unique<Slot[]>(routes_.size());  // NOLINT(*-avoid-c-arrays)
}

void HttpMetrics::request(std::size_t slot, unsigned status, std::int64_t duration_us) const noexcept {
  if constexpr (!kCounting) return;
  if (slot >= routes_.size()) slot = unmatched();
  if (status < 100 || status > 599) status = 599;
  slots_[slot].by_status[status - 100].inc();
  slots_[slot].duration.observe_us(duration_us);
}

void HttpMetrics::write(TextWriter& out) const {
  out.family("chatd_http_requests_total", "counter", "HTTP requests by route pattern, method and status");
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    for (std::size_t s = 0; s < slots_[i].by_status.size(); ++s) {
      std::uint64_t n = slots_[i].by_status[s].value();
      if (n == 0) continue;
      std::string status = std::to_string(s + 100);
      out.sample("chatd_http_requests_total",
                 {{"route", routes_[i].pattern}, {"method", routes_[i].method}, {"status", status}}, n);
    }
  }
  out.family("chatd_http_request_duration_seconds", "histogram",
             "HTTP request duration until the response head, by route pattern and method");
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (slots_[i].duration.cumulative().back() == 0) continue;
    out.histogram("chatd_http_request_duration_seconds", {{"route", routes_[i].pattern}, {"method", routes_[i].method}},
                  slots_[i].duration);
  }
}

void write_process_metrics(TextWriter& out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces, so read from the last ')').
  auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    // f[0] is field 3 (state): utime 14, stime 15, starttime 22, rss 24.
    if (f.size() > 22) {
      double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      out.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds");
      out.sample("process_cpu_seconds_total", {}, cpu);
      out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
      out.sample("process_resident_memory_bytes", {}, std::stod(f[21]) * page);
      std::ifstream uptime_file("/proc/uptime");
      double uptime = 0;
      uptime_file >> uptime;
      double started_ago = uptime - std::stod(f[19]) / ticks;
      out.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds");
      out.sample("process_start_time_seconds", {},
                 static_cast<double>(static_cast<std::int64_t>(static_cast<double>(std::time(nullptr)) - started_ago)));
    }
  }
  std::error_code ec;
  std::filesystem::directory_iterator fd_dir("/proc/self/fd", ec);
  if (!ec) {
    std::uint64_t fds = 0;
    for (auto it = std::filesystem::begin(fd_dir); it != std::filesystem::end(fd_dir); it.increment(ec)) {
      if (ec) break;
      ++fds;
    }
    out.family("process_open_fds", "gauge", "Number of open file descriptors");
    out.sample("process_open_fds", {}, fds > 0 ? fds - 1 : 0);  // less the directory's own
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.family("process_max_fds", "gauge", "Maximum number of open file descriptors");
    out.sample("process_max_fds", {}, static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace chatd::obs
