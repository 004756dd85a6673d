#include "auth/store/sessions.hpp"

#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

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
constexpr const char* kCheckSession =
    "SELECT s.revoked_at, s.expires_at, u.disabled_at, u.id FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.id = $1";

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

SessionCheck check_from(const store::Row& r) {
  return SessionCheck{!r.is_null(0), r.integer(1), !r.is_null(2), r.text(3)};
}

}  // namespace

Status insert_session(Connection& c, const Session& s) {
  return store::status_of(
      c.query(kInsertSession, {s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, store::text_or_null(s.ip),
                               store::text_or_null(s.user_agent), store::text_or_null(s.device_fingerprint)}));
}

Result<std::optional<Session>> find_session(Connection& c, const std::string& id) {
  return store::first_of(c.query(kSelectSession, {id}), session_from);
}

Status touch_session(Connection& c, const std::string& id, std::int64_t now, std::int64_t expires_at) {
  return store::status_of(c.query(kTouchSession, {id, now, expires_at}));
}

Result<std::vector<std::string>> revoke_session(Connection& c, const std::string& id, std::int64_t now,
                                                const std::string& reason) {
  return store::texts_of(c.query(kRevokeSession, {id, now, reason}));
}

Result<std::vector<std::string>> revoke_user_sessions(Connection& c, const std::string& user_id, std::int64_t now,
                                                      const std::string& reason,
                                                      const std::optional<std::string>& except_session) {
  return store::texts_of(c.query(kRevokeUserSessions, {user_id, now, reason, except_session.value_or("")}));
}

Result<std::vector<Session>> list_active_sessions(Connection& c, const std::string& user_id, std::int64_t now) {
  return store::all_of(c.query(kSelectActiveSessions, {user_id, now}), session_from);
}

Result<std::optional<SessionCheck>> check_session(Connection& c, const std::string& id) {
  return store::first_of(c.query(kCheckSession, {id}), check_from);
}

}  // namespace chatd::auth::db
