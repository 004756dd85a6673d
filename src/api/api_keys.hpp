#pragma once
// Routes of API.md's "API keys" table: POST/GET /api-keys, DELETE /api-keys/{id}.

#include "auth/api_keys.hpp"
#include "core/result.hpp"
#include "http/router.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace chatd::api {

struct NewKeyRequest {
  std::string name;
  std::optional<std::int64_t> expires_at;
};

// The body of POST /api-keys: {name, expires_at?} (an RFC 3339 date-time); every field
// problem is one entry of a single Code::invalid_argument.
Result<NewKeyRequest> read_new_key(const nlohmann::json& body);

void add_api_key_routes(http::Router& router, auth::ApiKeys& keys);

}  // namespace chatd::api
