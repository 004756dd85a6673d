#pragma once
// Administration (API.md "Admin"): users, their roles, disabling and unlocking, session
// revocation, the audit log and usage totals. Callers have checked the admin role.

#include "auth/model.hpp"
#include "auth/service.hpp"
#include "auth/store/audit.hpp"
#include "chat/store.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chatd::auth {

struct UserPatch {
  std::optional<std::vector<std::string>> roles;
  std::optional<bool> disabled;
  bool unlock = false;
};

class AdminService {
 public:
  AdminService(ServiceDeps deps, Service& accounts) : d_(deps), accounts_(accounts) {}

  Task<std::vector<User>> list_users(std::string q, std::optional<std::pair<std::int64_t, std::string>> after,
                                     int limit);
  Task<User> get_user(std::string id);
  Task<User> patch_user(const Principal& admin, std::string id, UserPatch patch, RequestMeta meta);
  Task<bool> revoke_sessions(const Principal& admin, std::string id, RequestMeta meta);
  Task<std::vector<db::AuditRow>> audit(db::AuditFilter filter,
                                        std::optional<std::pair<std::int64_t, std::string>> after, int limit);
  // Everyone's usage (query.user_id narrows it to one user).
  Task<std::vector<chat::db::UsageTotals>> usage(chat::db::UsageQuery query);

  // Called after a user's roles or state changed, for caches kept elsewhere (API keys).
  void on_user_changed(std::function<void(const std::string&)> listener) { listener_ = std::move(listener); }

 private:
  ServiceDeps d_;
  Service& accounts_;
  std::function<void(const std::string&)> listener_;
};

}  // namespace chatd::auth
