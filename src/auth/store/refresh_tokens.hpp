#pragma once
// Refresh tokens: rotated on every use, so that a token that comes back reveals a theft.
// Only their hashes are stored.

#include "auth/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace chatd::auth::db {

using store::Connection;

Status insert_refresh_token(Connection& c, const RefreshToken& token);
Result<std::optional<RefreshToken>> find_refresh_token(Connection& c, const std::string& token_hash);
// Marks the token rotated if it was not; returns false when another request rotated it
// first (so of two concurrent refreshes exactly one wins).
Result<bool> mark_refresh_rotated(Connection& c, const std::string& token_hash, std::int64_t now);

}  // namespace chatd::auth::db
