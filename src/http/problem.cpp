#include "http/problem.hpp"

#include <algorithm>
#include <array>

namespace chatd::http {

namespace {

// API.md's problem codes, and no others: whatever reason an Error carries, a client only
// ever sees one of these.
constexpr std::array<std::string_view, 21> kContractCodes = {
    "invalid_json",     "invalid_token", "unauthorized",      "invalid_credentials",    "otp_required",
    "invalid_otp",      "token_reused",  "forbidden",         "email_not_verified",     "account_disabled",
    "not_found",        "conflict",      "payload_too_large", "unsupported_media_type", "validation_failed",
    "account_locked",   "rate_limited",  "internal_error",    "upstream_error",         "unavailable",
    "upstream_timeout",
};

struct Mapping {
  bhttp::status status;
  const char* code;
};

// Each canonical code's status and contract code. Where HTTP has a more precise status
// than the contract has codes (405, 431), the status is HTTP's and the code the nearest
// contract one: no resource answers that method (not_found), the head is too large
// (payload_too_large).
Mapping mapping(Code code) {
  switch (code) {
    case Code::invalid_argument: return {bhttp::status::unprocessable_entity, "validation_failed"};
    case Code::unauthenticated: return {bhttp::status::unauthorized, "unauthorized"};
    case Code::permission_denied: return {bhttp::status::forbidden, "forbidden"};
    case Code::not_found: return {bhttp::status::not_found, "not_found"};
    case Code::method_not_allowed: return {bhttp::status::method_not_allowed, "not_found"};
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

std::span<const std::string_view> contract_codes() { return kContractCodes; }

bool is_contract_code(std::string_view code) {
  return std::find(kContractCodes.begin(), kContractCodes.end(), code) != kContractCodes.end();
}

bhttp::status status_for(const Error& error) {
  if (error.code == Code::too_large && error.reason == "headers_too_large")
    return bhttp::status::request_header_fields_too_large;  // 431
  // A request that cannot be read (its framing, its JSON) or names an unusable one-time
  // token is 400; every other invalid argument is a field error (422).
  if (error.code == Code::invalid_argument && error.fields.empty() && !error.reason.empty() &&
      error.reason != "validation_failed")
    return bhttp::status::bad_request;
  return mapping(error.code).status;
}

std::string code_for(const Error& error) {
  if (error.code == Code::internal) return "internal_error";  // never a more specific hint
  if (is_contract_code(error.reason)) return error.reason;
  if (status_for(error) == bhttp::status::bad_request) return "invalid_json";
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
