#pragma once
// Pieces the files of auth::Service share (service.cpp, service_accounts.cpp,
// service_sessions.cpp, service_two_factor.cpp); not part of its interface.

#include <string>
#include <string_view>

namespace chatd::auth::internal {

// Opaque secrets: 256 random bits, base64url, with a readable prefix ("ev_", "pr_", "rt_").
// Only their SHA-256 (token_hash) is stored, so a database leak reveals no usable token.
std::string new_secret(std::string_view prefix);
std::string token_hash(std::string_view token);

}  // namespace chatd::auth::internal
