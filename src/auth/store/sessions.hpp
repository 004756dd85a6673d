#pragma once
// Sessions: one per login (device, IP, user agent, last use, revocation).

#include "auth/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

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

// What an access token's check needs to know of its session and user, in one read.
struct SessionCheck {
  bool revoked = false;
  std::int64_t expires_at = 0;
  bool user_disabled = false;
  std::string user_id;
};
// nullopt when there is no such session.
Result<std::optional<SessionCheck>> check_session(Connection& c, const std::string& id);

}  // namespace chatd::auth::db
