#pragma once
// Counting and cutting UTF-8 text by code point. The text is taken as it comes: a byte that
// is not a continuation byte starts a code point, so invalid input is counted, never refused.

#include <cstddef>
#include <string_view>

namespace chatd::utf8 {

inline bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

inline std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += !is_continuation(c);
  return n;
}

// The longest prefix of at most `max_bytes` bytes that does not split a code point.
inline std::string_view prefix_bytes(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t n = max_bytes;
  while (n > 0 && is_continuation(s[n])) --n;
  return s.substr(0, n);
}

// The first `count` code points of `s` (all of it when it has fewer).
inline std::string_view prefix_points(std::string_view s, std::size_t count) {
  std::size_t bytes = 0;
  for (std::size_t points = 0; bytes < s.size() && points < count; ++points) {
    ++bytes;
    while (bytes < s.size() && is_continuation(s[bytes])) ++bytes;
  }
  return s.substr(0, bytes);
}

}  // namespace chatd::utf8
