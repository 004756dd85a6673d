#include "auth/store/audit.hpp"

#include "core/ids.hpp"
#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kInsertAudit =
    "INSERT INTO audit_log (id, at, event, user_id, actor_id, ip, user_agent, detail) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
// With the names of the user and the actor, when their accounts still exist.
constexpr const char* kListAudit =
    "SELECT a.id, a.at, a.event, a.user_id, a.actor_id, a.ip, a.user_agent, a.detail, u.username, x.username "
    "FROM audit_log a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN users x ON x.id = a.actor_id "
    "WHERE ($1 = '' OR a.user_id = $1) AND ($2 = '' OR a.event = $2) AND a.at >= $6 AND a.at < $7 "
    "AND (CAST($3 AS BIGINT) = 0 OR a.at < CAST($3 AS BIGINT) OR (a.at = CAST($3 AS BIGINT) AND a.id < $4)) "
    "ORDER BY a.at DESC, a.id DESC LIMIT $5";

AuditRow audit_row_from(const store::Row& r) {
  return AuditRow{r.text(0),     r.integer(1),  r.text(2),     r.opt_text(3),
                  r.opt_text(4), r.opt_text(5), r.opt_text(6), r.is_null(7) ? std::string("{}") : r.text(7),
                  r.opt_text(8), r.opt_text(9)};
}

}  // namespace

Status insert_audit(Connection& c, const AuditEvent& e, const RequestMeta& meta, std::int64_t now) {
  return store::status_of(
      c.query(kInsertAudit, {new_uuid_v7(now), now, e.event, store::nullable(e.user_id), store::nullable(e.actor_id),
                             store::text_or_null(meta.ip), store::text_or_null(meta.user_agent), e.detail_json}));
}

Result<std::vector<AuditRow>> list_audit(Connection& c, const AuditFilter& filter,
                                         std::optional<std::pair<std::int64_t, std::string>> after, int limit) {
  return store::all_of(
      c.query(kListAudit, {filter.user_id, filter.event, after ? after->first : std::int64_t{0},
                           after ? after->second : std::string(), std::int64_t{limit}, filter.from_ms, filter.to_ms}),
      audit_row_from);
}

}  // namespace chatd::auth::db
