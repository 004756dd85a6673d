#pragma once
// Routes of API.md's "API keys" table: POST/GET /api-keys, DELETE /api-keys/{id}.

#include "auth/api_keys.hpp"
#include "http/router.hpp"

namespace chatd::api {

void add_api_key_routes(http::Router& router, auth::ApiKeys& keys);

}  // namespace chatd::api
