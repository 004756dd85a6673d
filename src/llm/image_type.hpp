#pragma once
// The image formats every provider takes (PNG, JPEG, GIF, WebP), told by their first bytes:
// a client's image is judged by what it is, not by the type it claims.

#include <cstddef>
#include <string_view>

namespace chatd::llm {

// Enough bytes for image_type_of() to decide.
inline constexpr std::size_t kImageTypeBytes = 12;

// The media type the first bytes of `bytes` show, or "" when they are none of the four formats.
inline std::string_view image_type_of(std::string_view bytes) {
  using namespace std::string_view_literals;
  if (bytes.starts_with("\x89PNG\r\n\x1a\n"sv)) return "image/png";
  if (bytes.starts_with("\xff\xd8\xff"sv)) return "image/jpeg";
  if (bytes.starts_with("GIF87a"sv) || bytes.starts_with("GIF89a"sv)) return "image/gif";
  if (bytes.size() >= 12 && bytes.starts_with("RIFF"sv) && bytes.substr(8, 4) == "WEBP"sv) return "image/webp";
  return {};
}

}  // namespace chatd::llm
