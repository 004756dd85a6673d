#pragma once
// Accounts: the users table (roles come along from auth/store/roles.hpp).

#include "auth/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

// Inserts the user and its roles. Errors: Code::conflict when the e-mail or username is taken.
Status insert_user(Connection& c, const User& user);
Result<std::optional<User>> find_user_by_id(Connection& c, const std::string& id);
// `login` is an e-mail (matched lowercased) or a username (matched case-insensitively).
Result<std::optional<User>> find_user_by_login(Connection& c, const std::string& login);
Result<std::optional<User>> find_user_by_email(Connection& c, const std::string& email_lower);
Status set_email_verified(Connection& c, const std::string& user_id, std::int64_t now);
Status set_password_hash(Connection& c, const std::string& user_id, const std::string& hash, std::int64_t now);

// Administration. Users newest first, keyset-paginated on (created_at, id); `q` matches
// the start of the e-mail address or the username, case-insensitively.
Result<std::vector<User>> list_users(Connection& c, const std::string& q,
                                     std::optional<std::pair<std::int64_t, std::string>> after, int limit);
Status set_disabled(Connection& c, const std::string& user_id, std::optional<std::int64_t> disabled_at,
                    std::int64_t now);

}  // namespace chatd::auth::db
