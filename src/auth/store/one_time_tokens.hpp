#pragma once
// One-time tokens (e-mail verification, password reset): single-use and expiring; only
// their hashes are stored.

#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace chatd::auth::db {

using store::Connection;

Status insert_one_time_token(Connection& c, const std::string& token_hash, const std::string& purpose,
                             const std::string& user_id, std::int64_t now, std::int64_t expires_at);
// The user of an unused, unexpired token, without using it; nullopt otherwise.
Result<std::optional<std::string>> peek_one_time_token(Connection& c, const std::string& token_hash,
                                                       const std::string& purpose, std::int64_t now);
// Uses the token if it is unused and unexpired; returns its user id, or nullopt.
Result<std::optional<std::string>> consume_one_time_token(Connection& c, const std::string& token_hash,
                                                          const std::string& purpose, std::int64_t now);
// Makes every outstanding token of this purpose for the user unusable.
Status invalidate_one_time_tokens(Connection& c, const std::string& user_id, const std::string& purpose,
                                  std::int64_t now);

}  // namespace chatd::auth::db
