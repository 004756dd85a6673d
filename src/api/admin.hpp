#pragma once
// Routes of API.md's "Admin" section; every one needs the admin role.

#include "auth/admin.hpp"
#include "http/router.hpp"

namespace chatd::api {

void add_admin_routes(http::Router& router, auth::AdminService& admin);

}  // namespace chatd::api
