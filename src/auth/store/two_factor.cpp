#include "auth/store/two_factor.hpp"

#include "core/ids.hpp"
#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kFindTotp = "SELECT secret_encrypted, enabled_at, last_used_step FROM totp WHERE user_id = $1";
constexpr const char* kPutPendingTotp =
    "INSERT INTO totp (user_id, secret_encrypted, created_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (user_id) DO UPDATE SET secret_encrypted = excluded.secret_encrypted, "
    "created_at = excluded.created_at, last_used_step = NULL WHERE totp.enabled_at IS NULL";
constexpr const char* kEnableTotp =
    "UPDATE totp SET enabled_at = $2, last_used_step = $3 WHERE user_id = $1 AND enabled_at IS NULL";
constexpr const char* kUseTotpStep =
    "UPDATE totp SET last_used_step = $2 WHERE user_id = $1 AND enabled_at IS NOT NULL "
    "AND (last_used_step IS NULL OR last_used_step < $2)";
constexpr const char* kDeleteTotp = "DELETE FROM totp WHERE user_id = $1";
constexpr const char* kDeleteRecovery = "DELETE FROM recovery_codes WHERE user_id = $1";
constexpr const char* kInsertRecovery =
    "INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)";
constexpr const char* kUseRecovery =
    "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";

TotpRecord totp_from(const store::Row& r) { return TotpRecord{r.text(0), r.opt_integer(1), r.opt_integer(2)}; }

}  // namespace

Result<std::optional<TotpRecord>> find_totp(Connection& c, const std::string& user_id) {
  return store::first_of(c.query(kFindTotp, {user_id}), totp_from);
}

Status put_pending_totp(Connection& c, const std::string& user_id, const std::string& secret_sealed, std::int64_t now) {
  return store::status_of(c.query(kPutPendingTotp, {user_id, secret_sealed, now}));
}

Result<bool> enable_totp(Connection& c, const std::string& user_id, std::int64_t now, std::int64_t step) {
  return store::changed_one(c.query(kEnableTotp, {user_id, now, step}));
}

Result<bool> use_totp_step(Connection& c, const std::string& user_id, std::int64_t step) {
  return store::changed_one(c.query(kUseTotpStep, {user_id, step}));
}

Status delete_totp(Connection& c, const std::string& user_id) {
  if (auto r = store::status_of(c.query(kDeleteRecovery, {user_id})); !r) return r;
  return store::status_of(c.query(kDeleteTotp, {user_id}));
}

Status replace_recovery_codes(Connection& c, const std::string& user_id, const std::vector<std::string>& hashes,
                              std::int64_t now) {
  if (auto r = store::status_of(c.query(kDeleteRecovery, {user_id})); !r) return r;
  for (const auto& h : hashes)
    if (auto r = store::status_of(c.query(kInsertRecovery, {new_uuid_v7(now), user_id, h, now})); !r) return r;
  return ok();
}

Result<bool> use_recovery_code(Connection& c, const std::string& user_id, const std::string& hash, std::int64_t now) {
  return store::changed_one(c.query(kUseRecovery, {user_id, hash, now}));
}

}  // namespace chatd::auth::db
