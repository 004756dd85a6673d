#pragma once
// Errors at module boundaries are values: Result<T> carries either a T or an Error.
// The canonical code set is small; the HTTP layer maps it to a status in one place
// (http/problem.cpp). `reason` optionally refines the code with the contract's
// machine-readable string (for example "invalid_credentials" for unauthenticated).

#include <boost/outcome/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd {

enum class Code {
  invalid_argument,    // 400 / 422 (with field errors)
  unauthenticated,     // 401
  permission_denied,   // 403
  not_found,           // 404
  method_not_allowed,  // 405
  conflict,            // 409
  too_large,           // 413
  unsupported,         // 415
  locked,              // 423
  rate_limited,        // 429
  internal,            // 500
  upstream,            // 502
  unavailable,         // 503
  timeout,             // 504
};

struct FieldError {
  std::string field;
  std::string message;
};

struct Error {
  Code code = Code::internal;
  std::string reason;  // contract code string; empty means the code's default
  std::string detail;  // safe to show to the caller; internals go to the log instead
  std::vector<FieldError> fields;
  std::string internal;                  // for the log only (cause, SQL error, ...); never sent to a client
  std::int64_t retry_after_seconds = 0;  // > 0: the caller may retry after this long (429, 503)

  static Error make(Code code, std::string detail, std::string reason = {}) {
    Error e;
    e.code = code;
    e.reason = std::move(reason);
    e.detail = std::move(detail);
    return e;
  }
  static Error validation(std::vector<FieldError> fields) {
    Error e = make(Code::invalid_argument, "the request has invalid fields", "validation_failed");
    e.fields = std::move(fields);
    return e;
  }
};

template <class T>
using Result = boost::outcome_v2::basic_result<T, Error, boost::outcome_v2::policy::terminate>;

// A Result holding nothing but success or an Error.
using Status = Result<void>;

inline Status ok() { return boost::outcome_v2::success(); }
inline Error fail(Code code, std::string detail, std::string reason = {}) {
  return Error::make(code, std::move(detail), std::move(reason));
}
// An internal error whose cause is logged but never shown.
inline Error internal_error(std::string cause) {
  Error e = Error::make(Code::internal, "an internal error occurred");
  e.internal = std::move(cause);
  return e;
}

}  // namespace chatd
