#pragma once
// Roles: the role names that exist and the ones each user holds (user_roles).

#include "core/result.hpp"
#include "store/database.hpp"

#include <string>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

// The user's roles, sorted by name; empty for an unknown user.
Result<std::vector<std::string>> find_roles(Connection& c, const std::string& user_id);
// Adds a role the user may already hold (nothing changes then).
Status add_role(Connection& c, const std::string& user_id, const std::string& role);
// Replaces the user's roles with `roles`.
Status set_roles(Connection& c, const std::string& user_id, const std::vector<std::string>& roles);
// Role names that exist.
Result<std::vector<std::string>> list_roles(Connection& c);

}  // namespace chatd::auth::db
