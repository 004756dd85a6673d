#include "auth/store/roles.hpp"

#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kSelectRoles = "SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role";
constexpr const char* kInsertRole = "INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING";
constexpr const char* kDeleteRoles = "DELETE FROM user_roles WHERE user_id = $1";
constexpr const char* kListRoleNames = "SELECT name FROM roles ORDER BY name";

}  // namespace

Result<std::vector<std::string>> find_roles(Connection& c, const std::string& user_id) {
  return store::texts_of(c.query(kSelectRoles, {user_id}));
}

Status add_role(Connection& c, const std::string& user_id, const std::string& role) {
  return store::status_of(c.query(kInsertRole, {user_id, role}));
}

Status set_roles(Connection& c, const std::string& user_id, const std::vector<std::string>& roles) {
  if (auto r = store::status_of(c.query(kDeleteRoles, {user_id})); !r) return r;
  for (const auto& role : roles)
    if (auto r = add_role(c, user_id, role); !r) return r;
  return ok();
}

Result<std::vector<std::string>> list_roles(Connection& c) { return store::texts_of(c.query(kListRoleNames)); }

}  // namespace chatd::auth::db
