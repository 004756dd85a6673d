#pragma once
// The one route table: every endpoint of the API with its handler, who may call it, its
// rate-limit buckets and its documentation. The router, the access and rate-limit checks
// (http::Pipeline), `chatd routes`, the OpenAPI document and the metrics' route labels all
// read it; docs/routes.md says how to add an endpoint.

#include "core/result.hpp"
#include "http/router.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::auth {
class Service;
class KeyRing;
class Invitations;
class ApiKeys;
class AdminService;
}  // namespace chatd::auth
namespace chatd::chat {
class Service;
}
namespace chatd::obs {
class Metrics;
}

namespace chatd::api {

// How browser sessions' refresh cookies are set (API.md, Web sessions).
struct WebSessionOptions {
  bool secure_cookie = false;        // `Secure` whenever CHATD_PUBLIC_URL is https
  std::int64_t refresh_max_age = 0;  // seconds: the refresh token's lifetime
};

// One dependency GET /readyz asks: "ok", or its error. A check that is not configured is
// listed as "disabled" (probe empty).
struct ReadinessCheck {
  std::string name;
  std::function<boost::asio::awaitable<Status>()> probe;
};

// Everything a handler may use, wired by app.cpp. Handlers take what they need from it.
struct Services {
  auth::Service& accounts;
  auth::KeyRing& keys;
  auth::Invitations& invitations;
  auth::ApiKeys& api_keys;
  auth::AdminService& admin;
  chat::Service& chat;
  obs::Metrics& metrics;
  std::vector<ReadinessCheck> readiness;
  WebSessionOptions web;
  std::optional<std::string> metrics_token;  // CHATD_METRICS_TOKEN
};

using HandlerResult = boost::asio::awaitable<http::Response>;
using Handler = HandlerResult (*)(const Services&, http::Context&);

// A success answer as the OpenAPI document shows it; errors are added from the route's
// access level, body and limits (docs/routes.md).
struct Reply {
  int status;
  std::string_view description;
  std::string_view media = "application/json";  // "" for none (204)
  std::string_view schema = {};                 // a schema of components.json
};

struct Doc {
  std::string_view summary;
  std::string_view tag;
  std::string_view request = {};              // schema of the JSON body, when the route takes one
  std::vector<std::string_view> params = {};  // query parameters of components.json
  std::vector<Reply> replies = {};
  std::string_view description = {};
  std::string_view also_accepts = {};  // a security scheme the route takes besides its access level's
};

struct RouteEntry {
  http::bhttp::verb method;
  std::string_view pattern;
  Handler handler;
  std::string_view operation;  // the OpenAPI operationId
  http::Access access;
  bool json_body = false;
  std::string_view rate_bucket = {};       // per IP, before the handler
  std::string_view user_rate_bucket = {};  // per user, after authentication
  bool global_limit = true;                // the per-IP `global` bucket applies
  Doc doc = {};
};

// The table, in the order the routes are registered (and listed by `chatd routes`).
const std::vector<RouteEntry>& route_table();

// Adds every route of the table to `router`, each calling its handler with `services`
// (which must outlive the router).
void add_api_routes(http::Router& router, const Services& services);

// `chatd routes`: the table as JSON (method, path, access, body, buckets, summary, tag).
std::string route_table_json();

// "anonymous", "user", "admin", "api", "optional_user".
std::string_view access_name(http::Access access);

}  // namespace chatd::api
