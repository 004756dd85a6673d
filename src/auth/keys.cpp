#include "auth/keys.hpp"

#include "auth/jwt.hpp"
#include "auth/store/signing_keys.hpp"
#include "crypto/encoding.hpp"
#include "crypto/random.hpp"

#include <array>

namespace chatd::auth {

namespace {

// A retired key stays verifiable for the token lifetime plus this margin (clock skew).
constexpr std::int64_t kRetireMarginMs = 60'000;

std::string new_kid() {
  std::array<std::uint8_t, 12> raw{};
  crypto::random_bytes(raw);
  return crypto::base64url_encode(raw);
}

// The private seed sealed with the data key; the kid is the associated data, so a sealed
// key cannot be moved to another row.
std::string seal_seed(const crypto::DataKey& data_key, const crypto::Ed25519PrivateKey& key, const std::string& kid) {
  auto seed = key.seed();
  return crypto::seal(data_key, std::span<const std::uint8_t>(seed.data(), seed.size()), kid);
}

// A fresh Ed25519 key as a row: public key in the clear, private seed sealed.
SigningKey new_signing_key(const crypto::DataKey& data_key, std::int64_t now) {
  auto key = crypto::Ed25519PrivateKey::generate();
  SigningKey record;
  record.kid = new_kid();
  record.algorithm = "EdDSA";
  record.public_key = crypto::base64url_encode(key.public_key());
  record.private_key_sealed = seal_seed(data_key, key, record.kid);
  record.created_at = now;
  return record;
}

}  // namespace

KeyRing::KeyRing(store::Database& db, const crypto::DataKey& data_key, const Clock& clock, Logger& log,
                 std::int64_t token_lifetime_ms)
    : db_(db), data_key_(data_key), clock_(clock), log_(log), token_lifetime_ms_(token_lifetime_ms) {}

std::shared_ptr<const KeyRing::Snapshot> KeyRing::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

Status KeyRing::load() {
  std::lock_guard lock(load_mu_);
  return load_locked();
}

Status KeyRing::load_locked() {
  std::int64_t now = clock_.now_ms();
  auto keys = store::read(db_, [](store::Connection& c) { return db::list_signing_keys(c); });
  if (!keys) return keys.error();
  bool have_signer = false;
  for (const auto& k : keys.value())
    if (!k.not_after || *k.not_after > now) have_signer = true;
  if (!have_signer) {
    SigningKey record = new_signing_key(data_key_, now);
    auto st = store::transact(db_, [&](store::Connection& c) -> Status { return db::insert_signing_key(c, record); });
    if (!st) return st;
    log_.info("auth.signing_key_created").str("kid", record.kid);
    keys = store::read(db_, [](store::Connection& c) { return db::list_signing_keys(c); });
    if (!keys) return keys.error();
  }

  auto next = std::make_shared<Snapshot>();
  for (const auto& k : keys.value()) {  // newest first
    if (k.retire_after && *k.retire_after <= now) continue;
    auto pub = crypto::base64url_decode(k.public_key);
    if (!pub || pub->size() != 32) return internal_error("signing key " + k.kid + " has a malformed public key");
    next->public_keys.emplace(k.kid, std::vector<std::uint8_t>(pub->begin(), pub->end()));
    bool signs = !k.not_after || *k.not_after > now;
    if (signs && !next->signing_key) {
      auto seed = crypto::open(data_key_, k.private_key_sealed, k.kid);
      if (!seed)
        return fail(Code::invalid_argument,
                    "the signing keys in the database were sealed with another master key: give this instance "
                    "the master key of the instance that created them (CHATD_MASTER_KEY, or that instance's "
                    "master.key in CHATD_DATA_DIR); every instance that shares a database needs the same one");
      auto key = crypto::Ed25519PrivateKey::from_seed(std::span<const std::uint8_t>(seed->data(), seed->size()));
      if (!key) return internal_error("signing key " + k.kid + " is malformed");
      next->signing_kid = k.kid;
      next->signing_key = std::make_shared<const crypto::Ed25519PrivateKey>(std::move(key).value());
    }
  }
  if (!next->signing_key) return internal_error("no signing key could be loaded");
  std::lock_guard lock(mu_);
  snapshot_ = std::move(next);
  return ok();
}

Result<std::string> KeyRing::rotate() {
  std::lock_guard lock(load_mu_);
  std::int64_t now = clock_.now_ms();
  SigningKey record = new_signing_key(data_key_, now);
  auto st = store::transact(db_, [&](store::Connection& c) -> Status {
    if (auto r = db::retire_signing_keys(c, now, now + token_lifetime_ms_ + kRetireMarginMs); !r) return r;
    return db::insert_signing_key(c, record);
  });
  if (!st) return st.error();
  if (auto r = load_locked(); !r) return r.error();
  log_.info("auth.signing_key_rotated").str("kid", record.kid);
  return record.kid;
}

std::string KeyRing::sign(const nlohmann::json& claims) const {
  auto snap = snapshot();
  return sign_jwt(claims, snap->signing_kid, *snap->signing_key);
}

std::optional<std::vector<std::uint8_t>> KeyRing::public_key(std::string_view kid) const {
  auto snap = snapshot();
  if (!snap) return std::nullopt;
  auto it = snap->public_keys.find(kid);
  if (it == snap->public_keys.end()) return std::nullopt;
  return it->second;
}

nlohmann::json KeyRing::jwks() const {
  auto snap = snapshot();
  nlohmann::json keys = nlohmann::json::array();
  if (snap)
    for (const auto& [kid, pub] : snap->public_keys) keys.push_back(jwk_for(kid, pub));
  return {{"keys", keys}};
}

std::string KeyRing::signing_kid() const {
  auto snap = snapshot();
  return snap ? snap->signing_kid : std::string();
}

}  // namespace chatd::auth
