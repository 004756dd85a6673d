#pragma once
// Encryption at rest for small secrets (signing-key seeds, TOTP secrets): XChaCha20-Poly1305
// (IETF) with associated data, under one 32-byte data key per deployment.
//
// Sealed format: "v1." + base64url(nonce[24] || ciphertext || tag[16]), no padding. The
// 192-bit nonce is random per seal, which is safe for any realistic number of messages.
// Callers pass associated data that names where the value lives (e.g. "totp:<user id>"), so a
// ciphertext copied into another row or column fails to open.

#include "core/result.hpp"
#include "crypto/secret.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace chatd::crypto {

class DataKey {
 public:
  static constexpr std::size_t kSize = 32;

  // From CHATD_MASTER_KEY as decoded by config::decode_master_key.
  explicit DataKey(std::span<const std::uint8_t, kSize> bytes);

  // A fresh random key (tests, and the first start without a key file).
  static DataKey generate();

  // Reads `path`, creating it first when it does not exist. The file holds the key as 64
  // lowercase hex digits and a newline (the same text CHATD_MASTER_KEY accepts, so the key can
  // be moved into the environment as is); it is created with mode 0600, atomically (written
  // under a temporary name, then linked into place, so concurrent first starts agree on one
  // key). Fails with Code::internal, and a detail naming the file and the fix, when the file is
  // not a regular file, is readable or writable by group or others, does not hold exactly 64
  // hex digits (plus an optional newline), or cannot be read or written.
  static Result<DataKey> load_or_create(const std::filesystem::path& path);

  // The key chatd uses: `master_key` (CHATD_MASTER_KEY, decoded) when set, otherwise
  // `<data_dir>/master.key` through load_or_create().
  static Result<DataKey> resolve(const std::optional<std::array<std::uint8_t, kSize>>& master_key,
                                 const std::filesystem::path& data_dir);

  // Move-only: the key's one copy is wiped when freed (SecretBytes).
  DataKey(DataKey&&) noexcept = default;
  DataKey& operator=(DataKey&&) noexcept = default;
  DataKey(const DataKey&) = delete;
  DataKey& operator=(const DataKey&) = delete;
  ~DataKey() = default;

 private:
  DataKey() : bytes_(kSize) {}
  friend std::string seal(const DataKey&, std::span<const std::uint8_t>, std::string_view);
  friend std::optional<SecretBytes> open(const DataKey&, std::string_view, std::string_view);
  friend std::string keyed_tag(const DataKey&, std::string_view, std::string_view);

  SecretBytes bytes_;
};

// Encrypts `plaintext`, binding `associated_data` (authenticated, not stored). Never fails.
std::string seal(const DataKey& key, std::span<const std::uint8_t> plaintext, std::string_view associated_data);
std::string seal(const DataKey& key, std::string_view plaintext, std::string_view associated_data);

// The plaintext of `sealed`, or nullopt when the version prefix or encoding is wrong, or the
// key, nonce, ciphertext, tag or associated data differ from those used by seal().
std::optional<SecretBytes> open(const DataKey& key, std::string_view sealed, std::string_view associated_data);

// A tag of `data` under the key, for `purpose` (HMAC-SHA-256 over purpose, a NUL and data;
// base64url). The same inputs give the same tag on every instance sharing the key; a tag
// for one purpose is no tag for another. Compare tags with constant_time_equal.
std::string keyed_tag(const DataKey& key, std::string_view purpose, std::string_view data);

}  // namespace chatd::crypto
