#pragma once
// Small pieces every handler file uses.

#include "auth/model.hpp"
#include "core/time.hpp"
#include "http/message.hpp"

#include <nlohmann/json.hpp>

#include <optional>

namespace chatd::api {

// Who made the request, for sessions and audit rows.
inline auth::RequestMeta meta_of(const http::Context& ctx) { return {ctx.client_ip, ctx.user_agent(), ctx.request_id}; }

// An RFC 3339 string, or null.
inline nlohmann::json time_or_null(const std::optional<std::int64_t>& ms) {
  return ms ? nlohmann::json(format_rfc3339(*ms)) : nlohmann::json(nullptr);
}

// Responses that carry secrets shown once (tokens, keys, codes) must not be cached.
inline http::Response no_store(http::Response res) {
  res.set(boost::beast::http::field::cache_control, "no-store");
  return res;
}

}  // namespace chatd::api
