#pragma once
// Ed25519 signatures (RFC 8032, pure EdDSA) through OpenSSL. Used to sign access tokens.

#include "core/result.hpp"
#include "crypto/secret.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace chatd::crypto {

using Ed25519PublicKey = std::array<std::uint8_t, 32>;
using Ed25519Signature = std::array<std::uint8_t, 64>;

// Move-only; a moved-from key may only be destroyed or assigned to.
class Ed25519PrivateKey {
 public:
  static constexpr std::size_t kSeedSize = 32;

  // A new key from the system's CSPRNG.
  static Ed25519PrivateKey generate();
  // The key whose RFC 8032 private seed is `seed`. Fails with Code::internal unless `seed` is
  // exactly 32 bytes.
  static Result<Ed25519PrivateKey> from_seed(std::span<const std::uint8_t> seed);

  Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept;
  Ed25519PrivateKey(const Ed25519PrivateKey&) = delete;
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = delete;
  ~Ed25519PrivateKey();

  // The 32-byte seed (to be stored encrypted with crypto::seal) and the raw public key.
  SecretBytes seed() const;
  const Ed25519PublicKey& public_key() const { return public_key_; }

  // The deterministic signature of `message`. Safe to call from several threads at once.
  Ed25519Signature sign(std::string_view message) const;

 private:
  struct Handle;  // the OpenSSL key; defined in ed25519.cpp only
  explicit Ed25519PrivateKey(std::unique_ptr<Handle> handle);

  std::unique_ptr<Handle> handle_;
  Ed25519PublicKey public_key_{};
};

// Whether `signature` is a valid RFC 8032 signature of `message` by `public_key`. False, never
// an error, for a key that is not 32 bytes or not a point on the curve, a signature that is not
// 64 bytes or has S >= L, and for any mismatch.
bool ed25519_verify(std::span<const std::uint8_t> public_key, std::string_view message,
                    std::span<const std::uint8_t> signature);

}  // namespace chatd::crypto
