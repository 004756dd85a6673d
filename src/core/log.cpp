#include "core/log.hpp"

#include "core/json_writer.hpp"
#include "core/time.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>

namespace chatd {

bool parse_log_level(std::string_view name, LogLevel& out) {
  if (name == "debug")
    out = LogLevel::debug;
  else if (name == "info")
    out = LogLevel::info;
  else if (name == "warn")
    out = LogLevel::warn;
  else if (name == "error")
    out = LogLevel::error;
  else
    return false;
  return true;
}

namespace {

constexpr std::size_t kWakeBatch = 512;
constexpr auto kFlushInterval = std::chrono::milliseconds(20);

std::string_view level_name(LogLevel level, LogFormat format) {
  static constexpr std::string_view lower[] = {"debug", "info", "warn", "error"};
  static constexpr std::string_view upper[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
  auto i = static_cast<int>(level);
  return format == LogFormat::json ? lower[i] : upper[i];
}

void write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a failing log sink
    }
    off += static_cast<std::size_t>(n);
  }
}

// Appends "YYYY-MM-DDTHH:MM:SS.mmmZ". The part up to the second is cached per thread, so
// the common case is a few character appends instead of gmtime + snprintf.
void append_timestamp(std::string& out, std::int64_t epoch_ms) {
  thread_local std::int64_t cached_second = -1;
  thread_local std::string cached_prefix;
  std::int64_t second = epoch_ms / 1000;
  if (second != cached_second) {
    cached_prefix = format_rfc3339(second * 1000);
    cached_prefix.pop_back();  // 'Z'
    cached_second = second;
  }
  auto ms = static_cast<int>(epoch_ms % 1000);
  out += cached_prefix;
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
}

}  // namespace

Logger::Logger(LogLevel min_level, LogFormat format, int fd, std::size_t capacity)
    : min_level_(min_level), format_(format), fd_(fd), capacity_(capacity) {
  queue_.reserve(256);
  writer_ = std::thread([this] { run(); });
}

Logger::~Logger() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  writer_.join();
}

void Logger::submit(std::string line) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= capacity_) {
      ++dropped_since_report_;
      dropped_total_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(line));
    ++submitted_;
    // Waking the writer for every line costs a context switch per request: the first line
    // after a quiet spell wakes it, and it then gathers lines for kFlushInterval, or is
    // woken again once a batch has built up.
    if (writer_idle_) {
      wake = true;
      writer_idle_ = false;
    } else if (writer_waiting_ && queue_.size() >= kWakeBatch) {
      wake = true;
      writer_waiting_ = false;
    }
  }
  if (wake) cv_.notify_one();
}

void Logger::flush() {
  std::unique_lock lock(mu_);
  std::uint64_t target = submitted_;
  flush_requested_ = true;
  cv_.notify_one();
  flushed_cv_.wait(lock, [&] { return written_ >= target || stop_; });
}

void Logger::run() {
  std::vector<std::string> batch;
  std::string out;
  for (;;) {
    std::uint64_t dropped = 0;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      // Nothing to write: sleep until a line comes (an idle server's writer does not wake
      // every kFlushInterval for nothing).
      if (queue_.empty() && !stop_ && !flush_requested_) {
        writer_idle_ = true;
        cv_.wait(lock, [&] { return !queue_.empty() || stop_ || flush_requested_; });
        writer_idle_ = false;
      }
      rounds_.fetch_add(1, std::memory_order_relaxed);
      if (queue_.size() < kWakeBatch && !stop_ && !flush_requested_) {
        writer_waiting_ = true;
        cv_.wait_for(lock, kFlushInterval, [&] { return queue_.size() >= kWakeBatch || stop_ || flush_requested_; });
        writer_waiting_ = false;
      }
      flush_requested_ = false;
      batch.swap(queue_);
      dropped = dropped_since_report_;
      dropped_since_report_ = 0;
      stopping = stop_;
    }
    out.clear();
    for (auto& line : batch) out += line;
    if (dropped > 0) {
      std::string note =
          format_ == LogFormat::json
              ? "{\"ts\":\"" + format_rfc3339_ms(system_now_ms()) +
                    "\",\"level\":\"warn\",\"event\":\"log.dropped\",\"lines\":" + std::to_string(dropped) + "}\n"
              : format_rfc3339_ms(system_now_ms()) + " WARN  log.dropped lines=" + std::to_string(dropped) + "\n";
      out += note;
    }
    write_all(fd_, out);
    {
      std::lock_guard lock(mu_);
      written_ += batch.size();
    }
    flushed_cv_.notify_all();
    batch.clear();
    if (stopping) {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
    }
  }
}

Logger::Line::Line(Logger* logger, LogLevel level, std::string_view event) : logger_(logger) {
  if (!logger_) return;
  buf_.reserve(256);
  if (logger_->format_ == LogFormat::json) {
    buf_ += "{\"ts\":\"";
    append_timestamp(buf_, system_now_ms());
    buf_ += "\",\"level\":\"";
    buf_ += level_name(level, LogFormat::json);
    buf_ += "\",\"event\":\"";
    append_json_escaped(buf_, event);
    buf_ += '"';
  } else {
    append_timestamp(buf_, system_now_ms());
    buf_ += ' ';
    buf_ += level_name(level, LogFormat::text);
    buf_ += ' ';
    buf_ += event;
  }
}

Logger::Line::Line(Line&& other) noexcept : logger_(other.logger_), buf_(std::move(other.buf_)) {
  other.logger_ = nullptr;
}

Logger::Line::~Line() {
  if (!logger_) return;
  buf_ += logger_->format_ == LogFormat::json ? "}\n" : "\n";
  logger_->submit(std::move(buf_));
}

void Logger::Line::key(std::string_view k) {
  if (logger_->format_ == LogFormat::json) {
    buf_ += ",\"";
    append_json_escaped(buf_, k);
    buf_ += "\":";
  } else {
    buf_ += ' ';
    buf_ += k;
    buf_ += '=';
  }
}

Logger::Line& Logger::Line::str(std::string_view k, std::string_view value) {
  if (!logger_) return *this;
  key(k);
  if (logger_->format_ == LogFormat::json) {
    buf_ += '"';
    append_json_escaped(buf_, value);
    buf_ += '"';
  } else {
    bool quote = value.empty() || value.find_first_of(" \"=") != std::string_view::npos;
    if (quote) buf_ += '"';
    append_json_escaped(buf_, value);
    if (quote) buf_ += '"';
  }
  return *this;
}

Logger::Line& Logger::Line::num(std::string_view k, std::int64_t value) {
  if (!logger_) return *this;
  key(k);
  buf_ += std::to_string(value);
  return *this;
}

Logger::Line& Logger::Line::real(std::string_view k, double value) {
  if (!logger_) return *this;
  key(k);
  if (!std::isfinite(value)) {
    buf_ += "null";
    return *this;
  }
  char tmp[32];
  int n = std::snprintf(tmp, sizeof tmp, "%.6g", value);
  buf_.append(tmp, static_cast<std::size_t>(n));
  return *this;
}

Logger::Line& Logger::Line::boolean(std::string_view k, bool value) {
  if (!logger_) return *this;
  key(k);
  buf_ += value ? "true" : "false";
  return *this;
}

}  // namespace chatd
