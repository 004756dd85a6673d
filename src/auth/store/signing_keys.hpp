#pragma once
// The signing keys of access tokens (auth/keys.hpp keeps them in memory).

#include "auth/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

// Newest first.
Result<std::vector<SigningKey>> list_signing_keys(Connection& c);
Status insert_signing_key(Connection& c, const SigningKey& key);
// Ends signing with every key still signing; they stay in the JWKS until retire_after.
Status retire_signing_keys(Connection& c, std::int64_t now, std::int64_t retire_after);

}  // namespace chatd::auth::db
