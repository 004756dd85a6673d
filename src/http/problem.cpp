#include "http/problem.hpp"

namespace chatd::http {

namespace {

struct Mapping {
  bhttp::status status;
  const char* code;
};

Mapping mapping(Code code) {
  switch (code) {
    case Code::invalid_argument: return {bhttp::status::bad_request, "bad_request"};
    case Code::unauthenticated: return {bhttp::status::unauthorized, "unauthorized"};
    case Code::permission_denied: return {bhttp::status::forbidden, "forbidden"};
    case Code::not_found: return {bhttp::status::not_found, "not_found"};
    case Code::method_not_allowed: return {bhttp::status::method_not_allowed, "method_not_allowed"};
    case Code::conflict: return {bhttp::status::conflict, "conflict"};
    case Code::too_large: return {bhttp::status::payload_too_large, "payload_too_large"};
    case Code::unsupported: return {bhttp::status::unsupported_media_type, "unsupported_media_type"};
    case Code::locked: return {bhttp::status::locked, "account_locked"};
    case Code::rate_limited: return {bhttp::status::too_many_requests, "rate_limited"};
    case Code::internal: return {bhttp::status::internal_server_error, "internal_error"};
    case Code::upstream: return {bhttp::status::bad_gateway, "upstream_error"};
    case Code::unavailable: return {bhttp::status::service_unavailable, "unavailable"};
    case Code::timeout: return {bhttp::status::gateway_timeout, "upstream_timeout"};
  }
  return {bhttp::status::internal_server_error, "internal_error"};
}

}  // namespace

bhttp::status status_for(const Error& error) {
  if (error.code == Code::too_large && error.reason == "headers_too_large")
    return bhttp::status::request_header_fields_too_large;  // 431
  if (error.code == Code::invalid_argument && (!error.fields.empty() || error.reason == "validation_failed"))
    return bhttp::status::unprocessable_entity;
  return mapping(error.code).status;
}

std::string code_for(const Error& error) {
  if (error.code == Code::internal) return "internal_error";  // never a more specific hint
  if (!error.reason.empty()) return error.reason;
  if (status_for(error) == bhttp::status::unprocessable_entity) return "validation_failed";
  return mapping(error.code).code;
}

Response problem_response(const Error& error) {
  bhttp::status status = status_for(error);
  nlohmann::json body = {
      {"type", "about:blank"},
      {"title", std::string(bhttp::obsolete_reason(status))},
      {"status", static_cast<int>(status)},
      {"code", code_for(error)},
      {"detail", error.code == Code::internal ? std::string("an internal error occurred") : error.detail},
  };
  if (!error.fields.empty()) {
    auto& list = body["errors"] = nlohmann::json::array();
    for (const auto& f : error.fields) list.push_back({{"field", f.field}, {"message", f.message}});
  }
  Response res = json_response(status, body);
  res.set(bhttp::field::content_type, "application/problem+json");
  if (error.retry_after_seconds > 0) res.set(bhttp::field::retry_after, std::to_string(error.retry_after_seconds));
  return res;
}

Response error_response(Context& ctx, const Error& error) {
  if (!error.internal.empty()) ctx.error_note = error.internal;
  return problem_response(error);
}

}  // namespace chatd::http
