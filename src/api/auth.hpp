#pragma once
// Routes of API.md's "Accounts and authentication" section.

#include "auth/keys.hpp"
#include "auth/model.hpp"
#include "auth/service.hpp"
#include "http/router.hpp"
#include "observability/metrics.hpp"

#include <nlohmann/json.hpp>

namespace chatd::api {

// How browser sessions' refresh cookies are set (API.md, Web sessions).
struct WebSessionOptions {
  bool secure_cookie = false;        // `Secure` whenever CHATD_PUBLIC_URL is https
  std::int64_t refresh_max_age = 0;  // seconds: the refresh token's lifetime
};

// Logins and refreshes are counted in `metrics` by outcome.
void add_auth_routes(http::Router& router, auth::Service& service, auth::KeyRing& keys, WebSessionOptions web,
                     obs::Metrics& metrics);

// API.md's `user` object.
nlohmann::json user_json(const auth::User& user);
// The same, appended to `out` as JSON text (keys in the same order as user_json's dump).
void append_user_json(std::string& out, const auth::User& user);

}  // namespace chatd::api
