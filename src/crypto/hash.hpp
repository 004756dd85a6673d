#pragma once
// SHA-256, HMAC-SHA256 and constant-time comparison.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace chatd::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::span<const std::uint8_t> data);
Sha256Digest sha256(std::string_view data);
// Lowercase hex of the digest (64 characters), e.g. for storing hashes of opaque tokens.
std::string sha256_hex(std::string_view data);

// HMAC-SHA256 (RFC 2104) with a key of any length.
Sha256Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// Whether `a` and `b` hold the same bytes, in time that depends only on their lengths, never
// on where they first differ. Different lengths return false (the length itself is not
// treated as secret: token and digest lengths are public).
bool constant_time_equal(std::string_view a, std::string_view b);
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace chatd::crypto
