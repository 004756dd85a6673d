#pragma once
// Account persistence over store::Connection. The SQL is written once for both
// dialects ($N parameters, BIGINT epoch-millisecond times, no dialect-only syntax).
// Every function runs inside a store::read / store::transact the caller opens, so a
// service step that touches several tables commits or rolls back as one.

#include "auth/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

// Users. Errors: Code::conflict when the e-mail or username is taken.
Status insert_user(Connection& c, const User& user);
Result<std::optional<User>> find_user_by_id(Connection& c, const std::string& id);
// `login` is an e-mail (matched lowercased) or a username (matched case-insensitively).
Result<std::optional<User>> find_user_by_login(Connection& c, const std::string& login);
Result<std::optional<User>> find_user_by_email(Connection& c, const std::string& email_lower);
Status set_email_verified(Connection& c, const std::string& user_id, std::int64_t now);
Status set_password_hash(Connection& c, const std::string& user_id, const std::string& hash, std::int64_t now);

// Account lockout, race-free: every password check holds one of `threshold` places,
// taken in one conditional UPDATE before the hash is checked, so no more than `threshold`
// checks can ever run or have run for one lock period, however many arrive in parallel.
// The attempt counts as a failure from the start (a crash mid-check leaves it counted);
// the place that reaches `threshold` locks the account at once until now + lock_ms.
struct LoginAttempt {
  bool allowed = false;                  // false: locked (or every place is taken); answer 423
  std::int64_t number = 0;               // the failure count including this attempt
  std::optional<std::int64_t> lock_set;  // the lock this attempt set itself, if it took the last place
};
Result<LoginAttempt> begin_login_attempt(Connection& c, const std::string& user_id, std::int64_t now,
                                         std::int64_t threshold, std::int64_t lock_ms);
// A wrong password or code needs nothing more: the attempt was counted when it began.
// An attempt that was neither right nor wrong (a code still to come, a disabled or
// unverified account, a failure of chatd's own) gives its place back, and the lock it set.
Status release_login_attempt(Connection& c, const std::string& user_id, const LoginAttempt& attempt, std::int64_t now);
// A successful login resets the count and records the time. Returns false, changing
// nothing, when another attempt locked the account meanwhile: a success never lifts a
// lock it did not set itself.
Result<bool> record_login_success(Connection& c, const std::string& user_id, const LoginAttempt& attempt,
                                  std::int64_t now);

// Sessions and refresh tokens.
Status insert_session(Connection& c, const Session& session);
Result<std::optional<Session>> find_session(Connection& c, const std::string& id);
Status touch_session(Connection& c, const std::string& id, std::int64_t now, std::int64_t expires_at);
// Returns the ids revoked now (already revoked ones are left alone).
Result<std::vector<std::string>> revoke_session(Connection& c, const std::string& id, std::int64_t now,
                                                const std::string& reason);
Result<std::vector<std::string>> revoke_user_sessions(Connection& c, const std::string& user_id, std::int64_t now,
                                                      const std::string& reason,
                                                      const std::optional<std::string>& except_session);
// Active (not revoked, not expired) sessions, newest first.
Result<std::vector<Session>> list_active_sessions(Connection& c, const std::string& user_id, std::int64_t now);

Status insert_refresh_token(Connection& c, const RefreshToken& token);
Result<std::optional<RefreshToken>> find_refresh_token(Connection& c, const std::string& token_hash);
// Marks the token rotated if it was not; returns false when another request rotated it
// first (so of two concurrent refreshes exactly one wins).
Result<bool> mark_refresh_rotated(Connection& c, const std::string& token_hash, std::int64_t now);

// One-time tokens (verification, reset).
Status insert_one_time_token(Connection& c, const std::string& token_hash, const std::string& purpose,
                             const std::string& user_id, std::int64_t now, std::int64_t expires_at);
// The user of an unused, unexpired token, without using it; nullopt otherwise.
Result<std::optional<std::string>> peek_one_time_token(Connection& c, const std::string& token_hash,
                                                       const std::string& purpose, std::int64_t now);
// Uses the token if it is unused and unexpired; returns its user id, or nullopt.
Result<std::optional<std::string>> consume_one_time_token(Connection& c, const std::string& token_hash,
                                                          const std::string& purpose, std::int64_t now);
// Makes every outstanding token of this purpose for the user unusable.
Status invalidate_one_time_tokens(Connection& c, const std::string& user_id, const std::string& purpose,
                                  std::int64_t now);

// Signing keys, newest first.
Result<std::vector<SigningKey>> list_signing_keys(Connection& c);
Status insert_signing_key(Connection& c, const SigningKey& key);
// Ends signing with every key still signing; they stay in the JWKS until retire_after.
Status retire_signing_keys(Connection& c, std::int64_t now, std::int64_t retire_after);

// Invitations: uses an unused, unexpired invitation (bound to `email` when it names one);
// returns its id, or nullopt.
Result<std::optional<std::string>> accept_invitation(Connection& c, const std::string& code_hash,
                                                     const std::string& email_lower, const std::string& invitee_id,
                                                     std::int64_t now);

// Two-factor authentication.
struct TotpRecord {
  std::string secret_sealed;
  std::optional<std::int64_t> enabled_at;
  std::optional<std::int64_t> last_used_step;
};
Result<std::optional<TotpRecord>> find_totp(Connection& c, const std::string& user_id);
// Stores a new pending secret unless 2FA is already enabled (then nothing changes).
Status put_pending_totp(Connection& c, const std::string& user_id, const std::string& secret_sealed, std::int64_t now);
Result<bool> enable_totp(Connection& c, const std::string& user_id, std::int64_t now, std::int64_t step);
// Records `step` as used if it is newer than every step used before; false means a replay.
Result<bool> use_totp_step(Connection& c, const std::string& user_id, std::int64_t step);
Status delete_totp(Connection& c, const std::string& user_id);
Status replace_recovery_codes(Connection& c, const std::string& user_id, const std::vector<std::string>& hashes,
                              std::int64_t now);
// Uses an unused recovery code; false when there is none with this hash.
Result<bool> use_recovery_code(Connection& c, const std::string& user_id, const std::string& hash, std::int64_t now);

// Administration. Users newest first, keyset-paginated on (created_at, id); `q` matches
// the start of the e-mail address or the username, case-insensitively.
Result<std::vector<User>> list_users(Connection& c, const std::string& q,
                                     std::optional<std::pair<std::int64_t, std::string>> after, int limit);
Status set_roles(Connection& c, const std::string& user_id, const std::vector<std::string>& roles);
Status set_disabled(Connection& c, const std::string& user_id, std::optional<std::int64_t> disabled_at,
                    std::int64_t now);
Status unlock_user(Connection& c, const std::string& user_id, std::int64_t now);
// Role names that exist.
Result<std::vector<std::string>> list_roles(Connection& c);

struct AuditRow {
  std::string id;
  std::int64_t at = 0;
  std::string event;
  std::optional<std::string> user_id, actor_id, ip, user_agent;
  std::string detail_json;
  std::optional<std::string> username, actor_username;  // null once the account is gone
};
struct AuditFilter {
  std::string user_id, event;                                     // empty: any
  std::int64_t from_ms = 0;                                       // at >= from_ms
  std::int64_t to_ms = std::numeric_limits<std::int64_t>::max();  // at < to_ms
};
// Newest first, keyset-paginated on (at, id).
Result<std::vector<AuditRow>> list_audit(Connection& c, const AuditFilter& filter,
                                         std::optional<std::pair<std::int64_t, std::string>> after, int limit);

// Roles.
Status add_role(Connection& c, const std::string& user_id, const std::string& role);

// Audit log.
Status insert_audit(Connection& c, const AuditEvent& event, const RequestMeta& meta, std::int64_t now);

}  // namespace chatd::auth::db
