#pragma once
// Structured logging. Lines are formatted on the calling thread and handed to one
// writer thread through a bounded queue, so a slow stderr never blocks a network
// thread; the writer wakes every 20 ms or when 512 lines are waiting and writes them in
// one call; when the queue is full the line is dropped and counted, and the count is
// reported by the writer ("log.dropped").

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace chatd {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };
enum class LogFormat { json, text };

// Parses "debug", "info", "warn", "error"; returns false when the name is unknown.
bool parse_log_level(std::string_view name, LogLevel& out);

class Logger {
 public:
  // fd: where lines go (2 = stderr). capacity: queued lines before dropping.
  Logger(LogLevel min_level, LogFormat format, int fd = 2, std::size_t capacity = 65536);
  ~Logger();  // writes everything still queued
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool enabled(LogLevel level) const { return level >= min_level_; }
  LogFormat format() const { return format_; }

  // One log line under construction; it is submitted when it goes out of scope.
  class Line {
   public:
    Line(Logger* logger, LogLevel level, std::string_view event);
    ~Line();
    Line(Line&& other) noexcept;
    Line(const Line&) = delete;
    Line& operator=(const Line&) = delete;
    Line& operator=(Line&&) = delete;

    Line& str(std::string_view key, std::string_view value);
    Line& num(std::string_view key, std::int64_t value);
    Line& real(std::string_view key, double value);
    Line& boolean(std::string_view key, bool value);

   private:
    void key(std::string_view key);
    Logger* logger_;  // null when the level is disabled
    std::string buf_;
  };

  Line debug(std::string_view event) { return Line(enabled(LogLevel::debug) ? this : nullptr, LogLevel::debug, event); }
  Line info(std::string_view event) { return Line(enabled(LogLevel::info) ? this : nullptr, LogLevel::info, event); }
  Line warn(std::string_view event) { return Line(enabled(LogLevel::warn) ? this : nullptr, LogLevel::warn, event); }
  Line error(std::string_view event) { return Line(enabled(LogLevel::error) ? this : nullptr, LogLevel::error, event); }

  // Blocks until every line submitted so far is written (tests, shutdown).
  void flush();
  std::uint64_t dropped() const { return dropped_total_.load(std::memory_order_relaxed); }
  // How many times the writer has woken up to write (tests: an idle logger never wakes).
  std::uint64_t writer_rounds() const { return rounds_.load(std::memory_order_relaxed); }

 private:
  void submit(std::string line);
  void run();

  const LogLevel min_level_;
  const LogFormat format_;
  const int fd_;
  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable flushed_cv_;
  std::vector<std::string> queue_;
  std::uint64_t submitted_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t dropped_since_report_ = 0;
  std::atomic<std::uint64_t> dropped_total_{0};
  std::atomic<std::uint64_t> rounds_{0};
  // The writer sleeps without a deadline while nothing is queued (writer_idle_), and gathers
  // for up to kFlushInterval once a line has come (writer_waiting_).
  bool writer_idle_ = false;
  bool writer_waiting_ = false;
  bool flush_requested_ = false;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace chatd
