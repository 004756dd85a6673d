#include "auth/store.hpp"

#include "core/ids.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kUserColumns =
    "id, email, username, password_hash, email_verified_at, disabled_at, failed_logins, locked_until, "
    "last_login_at, created_at, updated_at, "
    "(SELECT count(*) FROM totp t WHERE t.user_id = users.id AND t.enabled_at IS NOT NULL)";

const std::string kSelectUserById = std::string("SELECT ") + kUserColumns + " FROM users WHERE id = $1";
const std::string kSelectUserByEmail = std::string("SELECT ") + kUserColumns + " FROM users WHERE email = $1";
const std::string kSelectUserByUsername =
    std::string("SELECT ") + kUserColumns + " FROM users WHERE lower(username) = lower($1)";
constexpr const char* kSelectRoles = "SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role";
constexpr const char* kInsertUser =
    "INSERT INTO users (id, email, username, password_hash, email_verified_at, failed_logins, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $6)";
constexpr const char* kInsertRole = "INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING";
constexpr const char* kVerifyEmail =
    "UPDATE users SET email_verified_at = $2, updated_at = $2 WHERE id = $1 AND email_verified_at IS NULL";
constexpr const char* kSetPassword = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
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

constexpr const char* kSessionColumns =
    "id, user_id, created_at, last_used_at, expires_at, ip, user_agent, device_fingerprint, revoked_at, revoke_reason";
const std::string kSelectSession = std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE id = $1";
const std::string kSelectActiveSessions = std::string("SELECT ") + kSessionColumns +
                                          " FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND "
                                          "expires_at > $2 ORDER BY created_at DESC, id DESC";
constexpr const char* kInsertSession =
    "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, ip, user_agent, device_fingerprint) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
constexpr const char* kTouchSession = "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1";
constexpr const char* kRevokeSession =
    "UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING id";
constexpr const char* kRevokeUserSessions =
    "UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL "
    "AND id <> $4 RETURNING id";

constexpr const char* kInsertRefresh =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
constexpr const char* kSelectRefresh =
    "SELECT token_hash, session_id, created_at, expires_at, rotated_at FROM refresh_tokens WHERE token_hash = $1";
constexpr const char* kRotateRefresh =
    "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL";

constexpr const char* kInsertOneTime =
    "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
constexpr const char* kConsumeOneTime =
    "UPDATE one_time_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL "
    "AND expires_at > $3 RETURNING user_id";
constexpr const char* kPeekOneTime =
    "SELECT user_id FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL "
    "AND expires_at > $3";
constexpr const char* kAcceptInvitation =
    "UPDATE invitations SET accepted_at = $4, invitee_id = $3 WHERE code_hash = $1 AND accepted_at IS NULL "
    "AND expires_at > $4 AND (email IS NULL OR email = $2) RETURNING id";
constexpr const char* kInvalidateOneTime =
    "UPDATE one_time_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL";

constexpr const char* kSelectKeys =
    "SELECT kid, algorithm, public_key, private_key_encrypted, created_at, not_after, retire_after "
    "FROM signing_keys ORDER BY created_at DESC, kid DESC";
constexpr const char* kInsertKey =
    "INSERT INTO signing_keys (kid, algorithm, public_key, private_key_encrypted, created_at, not_after, "
    "retire_after) VALUES ($1, $2, $3, $4, $5, $6, $7)";
constexpr const char* kRetireKeys =
    "UPDATE signing_keys SET not_after = $1, retire_after = $2 WHERE not_after IS NULL OR not_after > $1";

const std::string kListUsers =
    std::string("SELECT ") + kUserColumns +
    " FROM users WHERE ($1 = '' OR email LIKE $2 ESCAPE '!' OR lower(username) LIKE $2 ESCAPE '!') "
    "AND (CAST($3 AS BIGINT) = 0 OR created_at < CAST($3 AS BIGINT) OR (created_at = CAST($3 AS BIGINT) AND id < $4)) "
    "ORDER BY created_at DESC, id DESC LIMIT $5";
constexpr const char* kDeleteRoles = "DELETE FROM user_roles WHERE user_id = $1";
constexpr const char* kSetDisabled = "UPDATE users SET disabled_at = $2, updated_at = $3 WHERE id = $1";
constexpr const char* kUnlock =
    "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $1";
constexpr const char* kListRoleNames = "SELECT name FROM roles ORDER BY name";
// With the names of the user and the actor, when their accounts still exist.
constexpr const char* kListAudit =
    "SELECT a.id, a.at, a.event, a.user_id, a.actor_id, a.ip, a.user_agent, a.detail, u.username, x.username "
    "FROM audit_log a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN users x ON x.id = a.actor_id "
    "WHERE ($1 = '' OR a.user_id = $1) AND ($2 = '' OR a.event = $2) AND a.at >= $6 AND a.at < $7 "
    "AND (CAST($3 AS BIGINT) = 0 OR a.at < CAST($3 AS BIGINT) OR (a.at = CAST($3 AS BIGINT) AND a.id < $4)) "
    "ORDER BY a.at DESC, a.id DESC LIMIT $5";
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

constexpr const char* kInsertAudit =
    "INSERT INTO audit_log (id, at, event, user_id, actor_id, ip, user_agent, detail) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

store::Value opt(const std::optional<std::int64_t>& v) { return v ? store::Value(*v) : store::Value(nullptr); }
store::Value opt(const std::optional<std::string>& v) { return v ? store::Value(*v) : store::Value(nullptr); }
store::Value text_or_null(const std::string& v) { return v.empty() ? store::Value(nullptr) : store::Value(v); }

User user_from(const store::Row& r) {
  User u;
  u.id = r.text(0);
  u.email = r.text(1);
  u.username = r.text(2);
  u.password_hash = r.text(3);
  u.email_verified_at = r.opt_integer(4);
  u.disabled_at = r.opt_integer(5);
  u.failed_logins = r.integer(6);
  u.locked_until = r.opt_integer(7);
  u.last_login_at = r.opt_integer(8);
  u.created_at = r.integer(9);
  u.updated_at = r.integer(10);
  u.totp_enabled = r.integer(11) > 0;
  return u;
}

Session session_from(const store::Row& r) {
  Session s;
  s.id = r.text(0);
  s.user_id = r.text(1);
  s.created_at = r.integer(2);
  s.last_used_at = r.integer(3);
  s.expires_at = r.integer(4);
  s.ip = r.text(5);
  s.user_agent = r.text(6);
  s.device_fingerprint = r.text(7);
  s.revoked_at = r.opt_integer(8);
  s.revoke_reason = r.text(9);
  return s;
}

Result<std::optional<User>> one_user(Connection& c, const std::string& sql, const std::string& param) {
  auto rows = c.query(sql, {param});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<User>();
  User u = user_from(rows.value().rows.front());
  auto roles = c.query(kSelectRoles, {u.id});
  if (!roles) return roles.error();
  for (const auto& r : roles.value().rows) u.roles.push_back(r.text(0));
  return std::optional<User>(std::move(u));
}

Result<std::vector<std::string>> ids_of(Result<store::Rows> rows) {
  if (!rows) return rows.error();
  std::vector<std::string> out;
  for (const auto& r : rows.value().rows) out.push_back(r.text(0));
  return out;
}

Status status_of(const Result<store::Rows>& rows) {
  if (!rows) return rows.error();
  return ok();
}

}  // namespace

Status insert_user(Connection& c, const User& u) {
  auto st = status_of(
      c.query(kInsertUser, {u.id, u.email, u.username, u.password_hash, opt(u.email_verified_at), u.created_at}));
  if (!st) return st;
  for (const auto& role : u.roles)
    if (auto r = add_role(c, u.id, role); !r) return r;
  return ok();
}

Result<std::optional<User>> find_user_by_id(Connection& c, const std::string& id) {
  return one_user(c, kSelectUserById, id);
}

Result<std::optional<User>> find_user_by_email(Connection& c, const std::string& email_lower) {
  return one_user(c, kSelectUserByEmail, email_lower);
}

Result<std::optional<User>> find_user_by_login(Connection& c, const std::string& login) {
  if (login.find('@') != std::string::npos) {
    std::string lower = login;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return one_user(c, kSelectUserByEmail, lower);
  }
  return one_user(c, kSelectUserByUsername, login);
}

Status set_email_verified(Connection& c, const std::string& user_id, std::int64_t now) {
  return status_of(c.query(kVerifyEmail, {user_id, now}));
}

Status set_password_hash(Connection& c, const std::string& user_id, const std::string& hash, std::int64_t now) {
  return status_of(c.query(kSetPassword, {user_id, hash, now}));
}

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
  return status_of(c.query(kReleaseLoginAttempt, {user_id, now, attempt.lock_set.value_or(-1)}));
}

Result<bool> record_login_success(Connection& c, const std::string& user_id, const LoginAttempt& attempt,
                                  std::int64_t now) {
  auto rows = c.query(kLoginSuccess, {user_id, now, attempt.lock_set.value_or(-1)});
  if (!rows) return rows.error();
  return !rows.value().empty();
}

Status insert_session(Connection& c, const Session& s) {
  return status_of(
      c.query(kInsertSession, {s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, text_or_null(s.ip),
                               text_or_null(s.user_agent), text_or_null(s.device_fingerprint)}));
}

Result<std::optional<Session>> find_session(Connection& c, const std::string& id) {
  auto rows = c.query(kSelectSession, {id});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<Session>();
  return std::optional<Session>(session_from(rows.value().rows.front()));
}

Status touch_session(Connection& c, const std::string& id, std::int64_t now, std::int64_t expires_at) {
  return status_of(c.query(kTouchSession, {id, now, expires_at}));
}

Result<std::vector<std::string>> revoke_session(Connection& c, const std::string& id, std::int64_t now,
                                                const std::string& reason) {
  return ids_of(c.query(kRevokeSession, {id, now, reason}));
}

Result<std::vector<std::string>> revoke_user_sessions(Connection& c, const std::string& user_id, std::int64_t now,
                                                      const std::string& reason,
                                                      const std::optional<std::string>& except_session) {
  return ids_of(c.query(kRevokeUserSessions, {user_id, now, reason, except_session.value_or("")}));
}

Result<std::vector<Session>> list_active_sessions(Connection& c, const std::string& user_id, std::int64_t now) {
  auto rows = c.query(kSelectActiveSessions, {user_id, now});
  if (!rows) return rows.error();
  std::vector<Session> out;
  for (const auto& r : rows.value().rows) out.push_back(session_from(r));
  return out;
}

Status insert_refresh_token(Connection& c, const RefreshToken& t) {
  return status_of(c.query(kInsertRefresh, {t.token_hash, t.session_id, t.created_at, t.expires_at}));
}

Result<std::optional<RefreshToken>> find_refresh_token(Connection& c, const std::string& token_hash) {
  auto rows = c.query(kSelectRefresh, {token_hash});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<RefreshToken>();
  const auto& r = rows.value().rows.front();
  return std::optional<RefreshToken>(RefreshToken{r.text(0), r.text(1), r.integer(2), r.integer(3), r.opt_integer(4)});
}

Result<bool> mark_refresh_rotated(Connection& c, const std::string& token_hash, std::int64_t now) {
  auto rows = c.query(kRotateRefresh, {token_hash, now});
  if (!rows) return rows.error();
  return rows.value().affected == 1;
}

Status insert_one_time_token(Connection& c, const std::string& token_hash, const std::string& purpose,
                             const std::string& user_id, std::int64_t now, std::int64_t expires_at) {
  return status_of(c.query(kInsertOneTime, {token_hash, purpose, user_id, now, expires_at}));
}

Result<std::optional<std::string>> consume_one_time_token(Connection& c, const std::string& token_hash,
                                                          const std::string& purpose, std::int64_t now) {
  auto rows = c.query(kConsumeOneTime, {token_hash, purpose, now});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows.value().rows.front().text(0));
}

Result<std::optional<std::string>> peek_one_time_token(Connection& c, const std::string& token_hash,
                                                       const std::string& purpose, std::int64_t now) {
  auto rows = c.query(kPeekOneTime, {token_hash, purpose, now});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows.value().rows.front().text(0));
}

Result<std::optional<std::string>> accept_invitation(Connection& c, const std::string& code_hash,
                                                     const std::string& email_lower, const std::string& invitee_id,
                                                     std::int64_t now) {
  auto rows = c.query(kAcceptInvitation, {code_hash, email_lower, invitee_id, now});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows.value().rows.front().text(0));
}

Status invalidate_one_time_tokens(Connection& c, const std::string& user_id, const std::string& purpose,
                                  std::int64_t now) {
  return status_of(c.query(kInvalidateOneTime, {user_id, purpose, now}));
}

Result<std::vector<SigningKey>> list_signing_keys(Connection& c) {
  auto rows = c.query(kSelectKeys);
  if (!rows) return rows.error();
  std::vector<SigningKey> out;
  for (const auto& r : rows.value().rows)
    out.push_back(
        SigningKey{r.text(0), r.text(1), r.text(2), r.text(3), r.integer(4), r.opt_integer(5), r.opt_integer(6)});
  return out;
}

Status insert_signing_key(Connection& c, const SigningKey& k) {
  return status_of(c.query(kInsertKey, {k.kid, k.algorithm, k.public_key, k.private_key_sealed, k.created_at,
                                        opt(k.not_after), opt(k.retire_after)}));
}

Status retire_signing_keys(Connection& c, std::int64_t now, std::int64_t retire_after) {
  return status_of(c.query(kRetireKeys, {now, retire_after}));
}

Result<std::vector<User>> list_users(Connection& c, const std::string& q,
                                     std::optional<std::pair<std::int64_t, std::string>> after, int limit) {
  // LIKE wildcards in the search text are matched literally.
  std::string pattern;
  for (char ch : q) {
    char lowered = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lowered == '%' || lowered == '_' || lowered == '!') pattern += '!';
    pattern += lowered;
  }
  pattern += '%';
  auto rows = c.query(kListUsers, {q, pattern, after ? after->first : std::int64_t{0},
                                   after ? after->second : std::string(), std::int64_t{limit}});
  if (!rows) return rows.error();
  std::vector<User> out;
  for (const auto& r : rows.value().rows) {
    User u = user_from(r);
    auto roles = c.query(kSelectRoles, {u.id});
    if (!roles) return roles.error();
    for (const auto& role : roles.value().rows) u.roles.push_back(role.text(0));
    out.push_back(std::move(u));
  }
  return out;
}

Status set_roles(Connection& c, const std::string& user_id, const std::vector<std::string>& roles) {
  if (auto r = status_of(c.query(kDeleteRoles, {user_id})); !r) return r;
  for (const auto& role : roles)
    if (auto r = add_role(c, user_id, role); !r) return r;
  return ok();
}

Status set_disabled(Connection& c, const std::string& user_id, std::optional<std::int64_t> disabled_at,
                    std::int64_t now) {
  return status_of(c.query(kSetDisabled, {user_id, opt(disabled_at), now}));
}

Status unlock_user(Connection& c, const std::string& user_id, std::int64_t now) {
  return status_of(c.query(kUnlock, {user_id, now}));
}

Result<std::vector<std::string>> list_roles(Connection& c) { return ids_of(c.query(kListRoleNames)); }

Result<std::vector<AuditRow>> list_audit(Connection& c, const AuditFilter& filter,
                                         std::optional<std::pair<std::int64_t, std::string>> after, int limit) {
  auto rows =
      c.query(kListAudit, {filter.user_id, filter.event, after ? after->first : std::int64_t{0},
                           after ? after->second : std::string(), std::int64_t{limit}, filter.from_ms, filter.to_ms});
  if (!rows) return rows.error();
  std::vector<AuditRow> out;
  for (const auto& r : rows.value().rows)
    out.push_back(AuditRow{r.text(0), r.integer(1), r.text(2), r.opt_text(3), r.opt_text(4), r.opt_text(5),
                           r.opt_text(6), r.is_null(7) ? std::string("{}") : r.text(7), r.opt_text(8), r.opt_text(9)});
  return out;
}

Result<std::optional<TotpRecord>> find_totp(Connection& c, const std::string& user_id) {
  auto rows = c.query(kFindTotp, {user_id});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<TotpRecord>();
  const auto& r = rows.value().rows.front();
  return std::optional<TotpRecord>(TotpRecord{r.text(0), r.opt_integer(1), r.opt_integer(2)});
}

Status put_pending_totp(Connection& c, const std::string& user_id, const std::string& secret_sealed, std::int64_t now) {
  return status_of(c.query(kPutPendingTotp, {user_id, secret_sealed, now}));
}

Result<bool> enable_totp(Connection& c, const std::string& user_id, std::int64_t now, std::int64_t step) {
  auto rows = c.query(kEnableTotp, {user_id, now, step});
  if (!rows) return rows.error();
  return rows.value().affected == 1;
}

Result<bool> use_totp_step(Connection& c, const std::string& user_id, std::int64_t step) {
  auto rows = c.query(kUseTotpStep, {user_id, step});
  if (!rows) return rows.error();
  return rows.value().affected == 1;
}

Status delete_totp(Connection& c, const std::string& user_id) {
  if (auto r = status_of(c.query(kDeleteRecovery, {user_id})); !r) return r;
  return status_of(c.query(kDeleteTotp, {user_id}));
}

Status replace_recovery_codes(Connection& c, const std::string& user_id, const std::vector<std::string>& hashes,
                              std::int64_t now) {
  if (auto r = status_of(c.query(kDeleteRecovery, {user_id})); !r) return r;
  for (const auto& h : hashes)
    if (auto r = status_of(c.query(kInsertRecovery, {new_uuid_v7(now), user_id, h, now})); !r) return r;
  return ok();
}

Result<bool> use_recovery_code(Connection& c, const std::string& user_id, const std::string& hash, std::int64_t now) {
  auto rows = c.query(kUseRecovery, {user_id, hash, now});
  if (!rows) return rows.error();
  return rows.value().affected == 1;
}

Status add_role(Connection& c, const std::string& user_id, const std::string& role) {
  return status_of(c.query(kInsertRole, {user_id, role}));
}

Status insert_audit(Connection& c, const AuditEvent& e, const RequestMeta& meta, std::int64_t now) {
  return status_of(c.query(kInsertAudit, {new_uuid_v7(now), now, e.event, opt(e.user_id), opt(e.actor_id),
                                          text_or_null(meta.ip), text_or_null(meta.user_agent), e.detail_json}));
}

}  // namespace chatd::auth::db
