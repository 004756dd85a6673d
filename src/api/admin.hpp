#pragma once
// Routes of API.md's "Admin" section; every one needs the admin role.

#include "auth/admin.hpp"
#include "core/result.hpp"
#include "http/router.hpp"

#include <nlohmann/json.hpp>

namespace chatd::api {

// The body of PATCH /admin/users/{id}: {roles?, disabled?, unlock?} (null counts as absent);
// every field problem is one entry of a single Code::invalid_argument.
Result<auth::UserPatch> read_user_patch(const nlohmann::json& body);

void add_admin_routes(http::Router& router, auth::AdminService& admin);

}  // namespace chatd::api
