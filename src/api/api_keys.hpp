#pragma once
// Handlers of API.md's "API keys" table: POST/GET /api-keys, DELETE /api-keys/{id}.

#include "api/routes.hpp"
#include "auth/api_keys.hpp"
#include "core/result.hpp"

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

HandlerResult create_api_key(const Services& s, http::Context& ctx);
HandlerResult list_api_keys(const Services& s, http::Context& ctx);
HandlerResult delete_api_key(const Services& s, http::Context& ctx);

}  // namespace chatd::api
