#pragma once
// Account lockout, race-free: every password check holds one of `threshold` places,
// taken in one conditional UPDATE before the hash is checked, so no more than `threshold`
// checks can ever run or have run for one lock period, however many arrive in parallel.
// The attempt counts as a failure from the start (a crash mid-check leaves it counted);
// the place that reaches `threshold` locks the account at once until now + lock_ms.

#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace chatd::auth::db {

using store::Connection;

struct LoginAttempt {
  bool allowed = false;                  // false: locked (or every place is taken); answer 423
  std::int64_t number = 0;               // the failure count including this attempt
  std::optional<std::int64_t> lock_set;  // the lock this attempt set itself, if it took the last place
};
Result<LoginAttempt> begin_login_attempt(Connection& c, const std::string& user_id, std::int64_t now,
                                         std::int64_t threshold, std::int64_t lock_ms);
// A wrong password or code needs nothing more: the attempt was counted when it began.
// An attempt that was neither right nor wrong (a code still to come, a disabled or
// unverified account, a failure of chatd's own) gives its place back, and the lock it set.
Status release_login_attempt(Connection& c, const std::string& user_id, const LoginAttempt& attempt, std::int64_t now);
// A successful login resets the count and records the time. Returns false, changing
// nothing, when another attempt locked the account meanwhile: a success never lifts a
// lock it did not set itself.
Result<bool> record_login_success(Connection& c, const std::string& user_id, const LoginAttempt& attempt,
                                  std::int64_t now);
// An administrator lifts the lock and clears the count.
Status unlock_user(Connection& c, const std::string& user_id, std::int64_t now);

}  // namespace chatd::auth::db
