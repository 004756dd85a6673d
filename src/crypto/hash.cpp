#include "crypto/hash.hpp"

#include "crypto/encoding.hpp"
#include "crypto/sodium_init.hpp"

#include <sodium.h>

namespace chatd::crypto {

Sha256Digest sha256(std::span<const std::uint8_t> data) {
  Sha256Digest out{};
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Sha256Digest sha256(std::string_view data) { return sha256(as_bytes(data)); }

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

Sha256Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  // The init/update/final form takes keys of any length (the one-shot crypto_auth_hmacsha256
  // insists on exactly 32 bytes); the state holds key material, so it is wiped afterwards.
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, data.data(), data.size());
  Sha256Digest out{};
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof state);
  return out;
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
  return hmac_sha256(as_bytes(key), as_bytes(data));
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  detail::ensure_sodium_initialized();
  if (a.size() != b.size()) {
    // Still touch every byte of `a`, so that a caller comparing a guess against a secret
    // spends the same time whether or not the guess had the right length.
    [[maybe_unused]] int same = sodium_memcmp(a.data(), a.data(), a.size());
    return false;
  }
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return constant_time_equal(as_bytes(a), as_bytes(b));
}

}  // namespace chatd::crypto
