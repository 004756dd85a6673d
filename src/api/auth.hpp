#pragma once
// Handlers of API.md's "Accounts and authentication" section (their routes are in
// api/routes.cpp). Logins and refreshes are counted in the metrics by outcome.

#include "api/routes.hpp"
#include "auth/model.hpp"

#include <nlohmann/json.hpp>

namespace chatd::api {

HandlerResult register_user(const Services& s, http::Context& ctx);
HandlerResult request_verification(const Services& s, http::Context& ctx);
HandlerResult confirm_verification(const Services& s, http::Context& ctx);
HandlerResult login(const Services& s, http::Context& ctx);
HandlerResult refresh(const Services& s, http::Context& ctx);
HandlerResult logout(const Services& s, http::Context& ctx);
HandlerResult logout_all(const Services& s, http::Context& ctx);
HandlerResult me(const Services& s, http::Context& ctx);
HandlerResult list_sessions(const Services& s, http::Context& ctx);
HandlerResult delete_session(const Services& s, http::Context& ctx);
HandlerResult change_password(const Services& s, http::Context& ctx);
HandlerResult request_password_reset(const Services& s, http::Context& ctx);
HandlerResult confirm_password_reset(const Services& s, http::Context& ctx);
HandlerResult totp_setup(const Services& s, http::Context& ctx);
HandlerResult totp_verify(const Services& s, http::Context& ctx);
HandlerResult totp_disable(const Services& s, http::Context& ctx);
HandlerResult jwks(const Services& s, http::Context& ctx);
HandlerResult rotate_keys(const Services& s, http::Context& ctx);
HandlerResult signing_keys(const Services& s, http::Context& ctx);

// API.md's `user` object.
nlohmann::json user_json(const auth::User& user);
// The same, appended to `out` as JSON text (keys in the same order as user_json's dump).
void append_user_json(std::string& out, const auth::User& user);

}  // namespace chatd::api
