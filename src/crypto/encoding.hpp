#pragma once
// Binary-to-text encodings (RFC 4648 base64 and base64url, hex). Decoders are strict: they
// accept exactly one spelling of each byte string, so that a token or key can't be altered
// into a different-looking text that still decodes to the same bytes.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::crypto {

using Bytes = std::vector<std::uint8_t>;

// The bytes of a string, and the reverse, for APIs that mix text and binary.
inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::string to_string(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// base64url (RFC 4648 section 5) without '=' padding, as JOSE uses it.
std::string base64url_encode(std::span<const std::uint8_t> data);
std::string base64url_encode(std::string_view data);
// Returns nullopt for padding, whitespace, characters outside [A-Za-z0-9_-], an impossible
// length (4n+1) or non-zero unused bits in the last character (a non-canonical spelling).
std::optional<Bytes> base64url_decode(std::string_view text);

// Standard base64 (RFC 4648 section 4) with '=' padding.
std::string base64_encode(std::span<const std::uint8_t> data);
std::string base64_encode(std::string_view data);
// Returns nullopt unless `text` is padded to a multiple of 4 with the exact number of '=',
// uses only [A-Za-z0-9+/], contains no whitespace and has zero unused bits.
std::optional<Bytes> base64_decode(std::string_view text);

// Lowercase hex.
std::string hex_encode(std::span<const std::uint8_t> data);
std::string hex_encode(std::string_view data);
// Accepts upper- and lowercase digits; returns nullopt for an odd length or any other character.
std::optional<Bytes> hex_decode(std::string_view text);

}  // namespace chatd::crypto
