#pragma once
// Two-factor authentication: TOTP secrets (sealed) and recovery codes (hashed).

#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

struct TotpRecord {
  std::string secret_sealed;
  std::optional<std::int64_t> enabled_at;
  std::optional<std::int64_t> last_used_step;
};
Result<std::optional<TotpRecord>> find_totp(Connection& c, const std::string& user_id);
// Stores a new pending secret unless 2FA is already enabled (then nothing changes).
Status put_pending_totp(Connection& c, const std::string& user_id, const std::string& secret_sealed, std::int64_t now);
// Enables a pending secret; false when it was enabled already.
Result<bool> enable_totp(Connection& c, const std::string& user_id, std::int64_t now, std::int64_t step);
// Records `step` as used if it is newer than every step used before; false means a replay.
Result<bool> use_totp_step(Connection& c, const std::string& user_id, std::int64_t step);
// Deletes the secret and the recovery codes.
Status delete_totp(Connection& c, const std::string& user_id);
Status replace_recovery_codes(Connection& c, const std::string& user_id, const std::vector<std::string>& hashes,
                              std::int64_t now);
// Uses an unused recovery code; false when there is none with this hash.
Result<bool> use_recovery_code(Connection& c, const std::string& user_id, const std::string& hash, std::int64_t now);

}  // namespace chatd::auth::db
