#pragma once
// ASCII case folding, for the case-insensitive parts of protocols and addresses (host names,
// header names, e-mail addresses as stored). Bytes outside A-Z pass through unchanged.

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

}  // namespace chatd
