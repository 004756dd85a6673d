#pragma once
// Handlers of API.md's "Admin" section; every one needs the admin role.

#include "api/routes.hpp"
#include "auth/admin.hpp"
#include "core/result.hpp"
#include "http/router.hpp"

#include <nlohmann/json.hpp>

namespace chatd::api {

// The body of PATCH /admin/users/{id}: {roles?, disabled?, unlock?} (null counts as absent);
// every field problem is one entry of a single Code::invalid_argument.
Result<auth::UserPatch> read_user_patch(const nlohmann::json& body);

HandlerResult admin_ping(const Services& s, http::Context& ctx);
HandlerResult list_users(const Services& s, http::Context& ctx);
HandlerResult get_user(const Services& s, http::Context& ctx);
HandlerResult patch_user(const Services& s, http::Context& ctx);
HandlerResult revoke_user_sessions(const Services& s, http::Context& ctx);
HandlerResult audit_log(const Services& s, http::Context& ctx);
HandlerResult admin_usage(const Services& s, http::Context& ctx);

}  // namespace chatd::api
