#include "auth/admin.hpp"

#include "auth/store/lockout.hpp"
#include "auth/store/roles.hpp"
#include "auth/store/sessions.hpp"
#include "auth/store/users.hpp"
#include "core/async.hpp"

#include <algorithm>

namespace chatd::auth {

Task<std::vector<User>> AdminService::list_users(std::string q,
                                                 std::optional<std::pair<std::int64_t, std::string>> after, int limit) {
  co_return co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::list_users(c, q, after, limit); });
  });
}

Task<User> AdminService::get_user(std::string id) {
  auto user = co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::find_user_by_id(c, id); });
  });
  if (!user) co_return user.error();
  if (!user.value()) co_return fail(Code::not_found, "no such user");
  co_return std::move(*user.value());
}

Task<User> AdminService::patch_user(const Principal& admin, std::string id, UserPatch patch, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  std::vector<std::string> revoked;
  auto user = co_await run_blocking(d_.db_pool, [&]() -> Result<User> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<User> {
      auto found = db::find_user_by_id(c, id);
      if (!found) return found.error();
      if (!found.value()) return fail(Code::not_found, "no such user");
      User before = std::move(*found.value());
      if (patch.roles) {
        auto known = db::list_roles(c);
        if (!known) return known.error();
        std::vector<std::string> roles = *patch.roles;
        if (std::find(roles.begin(), roles.end(), "user") == roles.end()) roles.push_back("user");  // everyone
        std::sort(roles.begin(), roles.end());
        roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
        for (const auto& r : roles)
          if (std::find(known.value().begin(), known.value().end(), r) == known.value().end())
            return Error::validation({{"roles", "unknown role \"" + r + "\""}});
        if (admin.user_id == id && std::find(roles.begin(), roles.end(), "admin") == roles.end())
          return Error::validation({{"roles", "administrators cannot remove their own admin role"}});
        if (roles != before.roles) {
          if (auto r = db::set_roles(c, id, roles); !r) return r.error();
          nlohmann::json detail = {{"from", before.roles}, {"to", roles}};
          if (auto r = db::insert_audit(c, AuditEvent("role.changed", id, admin.user_id, detail.dump()), meta, now); !r)
            return r.error();
        }
      }
      if (patch.disabled) {
        if (*patch.disabled && admin.user_id == id)
          return Error::validation({{"disabled", "administrators cannot disable themselves"}});
        if (*patch.disabled && !before.disabled_at) {
          if (auto r = db::set_disabled(c, id, now, now); !r) return r.error();
          auto ids = db::revoke_user_sessions(c, id, now, "user_disabled", std::nullopt);
          if (!ids) return ids.error();
          revoked = ids.value();
          if (auto r = db::insert_audit(c, AuditEvent("user.disabled", id, admin.user_id), meta, now); !r)
            return r.error();
        } else if (!*patch.disabled && before.disabled_at) {
          if (auto r = db::set_disabled(c, id, std::nullopt, now); !r) return r.error();
          if (auto r = db::insert_audit(c, AuditEvent("user.enabled", id, admin.user_id), meta, now); !r)
            return r.error();
        }
      }
      if (patch.unlock) {
        if (auto r = db::unlock_user(c, id, now); !r) return r.error();
        if (auto r = db::insert_audit(c, AuditEvent("user.unlocked", id, admin.user_id), meta, now); !r)
          return r.error();
      }
      auto after = db::find_user_by_id(c, id);
      if (!after) return after.error();
      return std::move(*after.value());
    });
  });
  if (!user) co_return user.error();
  d_.authenticator.sessions_revoked(revoked);
  accounts_.forget_user(id);
  if (listener_) listener_(id);
  co_return user;
}

Task<bool> AdminService::revoke_sessions(const Principal& admin, std::string id, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  auto revoked = co_await run_blocking(d_.db_pool, [&]() -> Result<std::vector<std::string>> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<std::vector<std::string>> {
      auto found = db::find_user_by_id(c, id);
      if (!found) return found.error();
      if (!found.value()) return fail(Code::not_found, "no such user");
      auto ids = db::revoke_user_sessions(c, id, now, "admin", std::nullopt);
      if (!ids) return ids;
      nlohmann::json detail = {{"count", ids.value().size()}, {"reason", "admin"}};
      if (auto r = db::insert_audit(c, AuditEvent("session.revoked", id, admin.user_id, detail.dump()), meta, now); !r)
        return r.error();
      return ids;
    });
  });
  if (!revoked) co_return revoked.error();
  d_.authenticator.sessions_revoked(revoked.value());
  co_return true;
}

Task<std::vector<db::AuditRow>> AdminService::audit(db::AuditFilter filter,
                                                    std::optional<std::pair<std::int64_t, std::string>> after,
                                                    int limit) {
  co_return co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::list_audit(c, filter, after, limit); });
  });
}

Task<std::vector<chat::db::UsageTotals>> AdminService::usage(chat::db::UsageQuery query) {
  co_return co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return chat::db::usage_totals(c, query); });
  });
}

}  // namespace chatd::auth
