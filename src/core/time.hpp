#pragma once
// Wall-clock helpers. Stored timestamps are Unix epoch milliseconds (UTC); the API
// shows them as RFC 3339 strings. A Clock interface lets tests fix time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatd {

std::int64_t system_now_ms();

// "2026-11-22T10:00:00.123Z"
std::string format_rfc3339_ms(std::int64_t epoch_ms);
// "2026-11-22T10:00:00Z" (milliseconds dropped)
std::string format_rfc3339(std::int64_t epoch_ms);
// Accepts RFC 3339 date-times with 'Z' or a numeric offset and optional fraction;
// returns nullopt on anything else.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return system_now_ms(); }
};

}  // namespace chatd
