#pragma once
// API keys (auth/api_keys.hpp): only the keys' hashes are stored.

#include "auth/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

// What checking a presented key needs to know of it and of its user, in one read.
struct ApiKeyCheck {
  std::string id;
  std::string user_id;
  std::optional<std::int64_t> expires_at;
  bool revoked = false;
  std::optional<std::int64_t> last_used_at;
  bool user_disabled = false;
};
// nullopt when no key has this hash.
Result<std::optional<ApiKeyCheck>> check_api_key(Connection& c, const std::string& key_hash);
// Sets last_used_at = now unless it is already later than `not_before` (another instance
// wrote it), so that instances sharing the database write it about once per interval.
Status touch_api_key(Connection& c, const std::string& id, std::int64_t now, std::int64_t not_before);
// The user's keys that are not revoked.
Result<std::int64_t> count_api_keys(Connection& c, const std::string& user_id);
Status insert_api_key(Connection& c, const ApiKey& key, const std::string& key_hash);
// The user's keys that are not revoked (expired ones included), newest first.
Result<std::vector<ApiKey>> list_api_keys(Connection& c, const std::string& user_id);
// False when the user has no unrevoked key with this id.
Result<bool> revoke_api_key(Connection& c, const std::string& id, const std::string& user_id, std::int64_t now);

}  // namespace chatd::auth::db
