#pragma once
// ASCII helpers for the textual parts of protocols: case folding for the case-insensitive
// parts (host names, header names, e-mail addresses as stored; bytes outside A-Z pass through
// unchanged) and trimming of spaces and tabs (HTTP's optional whitespace).

#include <string>
#include <string_view>

namespace chatd {

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// `s` without leading and trailing spaces and horizontal tabs.
inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace chatd
