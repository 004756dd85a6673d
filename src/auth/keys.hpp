#pragma once
// The signing keys of access tokens. Kept in the database (private keys sealed with the
// instance data key) so that every instance signs and verifies with the same set. One
// key signs; after a rotation the previous ones stay verifiable and in the JWKS until the
// last token they signed has expired.

#include "core/log.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "crypto/aead.hpp"
#include "crypto/ed25519.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace chatd::auth {

class KeyRing {
 public:
  // token_lifetime_ms: how long a retired key must stay verifiable (access-token TTL).
  KeyRing(store::Database& db, const crypto::DataKey& data_key, const Clock& clock, Logger& log,
          std::int64_t token_lifetime_ms);

  // Blocking (startup or a worker thread): reads the keys; creates the first signing key
  // when none signs. Errors: a database error, or Code::invalid_argument, with a detail
  // that says what to set, when the signing key cannot be unsealed: another instance
  // created it with another master key (CHATD_MASTER_KEY / the data directory's master.key).
  Status load();
  // Blocking: adds a new signing key and retires the others; returns its kid.
  Result<std::string> rotate();

  // Thread-safe and non-blocking from here on.
  std::string sign(const nlohmann::json& claims) const;
  std::optional<std::vector<std::uint8_t>> public_key(std::string_view kid) const;
  nlohmann::json jwks() const;
  std::string signing_kid() const;

 private:
  struct Snapshot {
    std::string signing_kid;
    std::shared_ptr<const crypto::Ed25519PrivateKey> signing_key;
    std::map<std::string, std::vector<std::uint8_t>, std::less<>> public_keys;  // still verifiable
  };
  std::shared_ptr<const Snapshot> snapshot() const;
  Status load_locked();

  store::Database& db_;
  const crypto::DataKey& data_key_;
  const Clock& clock_;
  Logger& log_;
  const std::int64_t token_lifetime_ms_;
  std::mutex load_mu_;  // one load/rotate at a time
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace chatd::auth
