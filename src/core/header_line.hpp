#pragma once
// One HTTP header line, "Name: value\r\n", appended to pre-rendered header text (a response's
// extra lines; the rate-limit headers, which the limiter renders without knowing HTTP types).

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace chatd {

inline void append_header_line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

inline void append_header_line(std::string& out, std::string_view name, std::int64_t value) {
  char digits[24];
  const char* end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  append_header_line(out, name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

}  // namespace chatd
