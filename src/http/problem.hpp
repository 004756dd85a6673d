#pragma once
// The one place where an Error becomes an HTTP status and an RFC 9457 problem document.

#include "core/result.hpp"
#include "http/message.hpp"

namespace chatd::http {

// The HTTP status for an error: invalid_argument is 422 when it carries field errors or
// reason "validation_failed", 400 otherwise.
bhttp::status status_for(const Error& error);
// The contract's `code` string: error.reason when set, else the code's default.
std::string code_for(const Error& error);

// application/problem+json response. Never contains Error::internal.
Response problem_response(const Error& error);
// The same, and keeps Error::internal in the context for the request's log line.
Response error_response(Context& ctx, const Error& error);

}  // namespace chatd::http
