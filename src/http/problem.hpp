#pragma once
// The one place where an Error becomes an HTTP status and an RFC 9457 problem document.

#include "core/result.hpp"
#include "http/message.hpp"

#include <span>
#include <string>
#include <string_view>

namespace chatd::http {

// API.md's list of problem codes; code_for() answers nothing else.
std::span<const std::string_view> contract_codes();
bool is_contract_code(std::string_view code);

// The HTTP status for an error: invalid_argument is 400 when its reason says the request
// could not be read ("invalid_json") or its one-time token is unusable ("invalid_token"),
// 422 otherwise; 405 and 431 where HTTP has those statuses.
bhttp::status status_for(const Error& error);
// The contract's `code` string: error.reason when it is one of the contract's codes, else
// the nearest one for the status (invalid_json for a 400, validation_failed for a 422, ...).
std::string code_for(const Error& error);

// application/problem+json response. Never contains Error::internal.
Response problem_response(const Error& error);
// The same, and keeps Error::internal in the context for the request's log line.
Response error_response(Context& ctx, const Error& error);

}  // namespace chatd::http
