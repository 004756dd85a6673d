#pragma once
// The audit log: one row per security-relevant event, written in the transaction of the
// change it records.

#include "auth/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

Status insert_audit(Connection& c, const AuditEvent& event, const RequestMeta& meta, std::int64_t now);

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

}  // namespace chatd::auth::db
