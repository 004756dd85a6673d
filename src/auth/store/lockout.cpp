#include "auth/store/lockout.hpp"

#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

// The lockout's one atomic step (see begin_login_attempt). The SET expressions read the
// row as it was: a lock that has run out starts a new count at 1.
constexpr const char* kBeginLoginAttempt =
    "UPDATE users SET "
    "failed_logins = CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END, "
    "locked_until = CASE WHEN (CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END) >= $3 "
    "THEN CAST($4 AS BIGINT) ELSE NULL END, "
    "updated_at = $2 WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) "
    "RETURNING failed_logins, locked_until";
constexpr const char* kReleaseLoginAttempt =
    "UPDATE users SET "
    "failed_logins = CASE WHEN failed_logins > 0 THEN failed_logins - 1 ELSE 0 END, "
    "locked_until = CASE WHEN locked_until = $3 THEN NULL ELSE locked_until END, "
    "updated_at = $2 WHERE id = $1";
// $3 is the lock the attempt set itself, or -1: a lock set by another attempt holds.
constexpr const char* kLoginSuccess =
    "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $2, updated_at = $2 "
    "WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2 OR locked_until = $3) RETURNING id";
constexpr const char* kUnlock =
    "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $1";

}  // namespace

Result<LoginAttempt> begin_login_attempt(Connection& c, const std::string& user_id, std::int64_t now,
                                         std::int64_t threshold, std::int64_t lock_ms) {
  auto rows = c.query(kBeginLoginAttempt, {user_id, now, threshold, now + lock_ms});
  if (!rows) return rows.error();
  LoginAttempt attempt;
  if (rows.value().empty()) return attempt;  // locked (or no such user: nothing to check either)
  const auto& r = rows.value().rows.front();
  attempt.allowed = true;
  attempt.number = r.integer(0);
  attempt.lock_set = r.opt_integer(1);
  return attempt;
}

Status release_login_attempt(Connection& c, const std::string& user_id, const LoginAttempt& attempt, std::int64_t now) {
  return store::status_of(c.query(kReleaseLoginAttempt, {user_id, now, attempt.lock_set.value_or(-1)}));
}

Result<bool> record_login_success(Connection& c, const std::string& user_id, const LoginAttempt& attempt,
                                  std::int64_t now) {
  auto rows = c.query(kLoginSuccess, {user_id, now, attempt.lock_set.value_or(-1)});
  if (!rows) return rows.error();
  return !rows.value().empty();
}

Status unlock_user(Connection& c, const std::string& user_id, std::int64_t now) {
  return store::status_of(c.query(kUnlock, {user_id, now}));
}

}  // namespace chatd::auth::db
