#include "auth/store/users.hpp"

#include "auth/store/roles.hpp"
#include "store/rows.hpp"

#include <cctype>

namespace chatd::auth::db {

namespace {

constexpr const char* kUserColumns =
    "id, email, username, password_hash, email_verified_at, disabled_at, failed_logins, locked_until, "
    "last_login_at, created_at, updated_at, "
    "(SELECT count(*) FROM totp t WHERE t.user_id = users.id AND t.enabled_at IS NOT NULL)";

const std::string kSelectUserById = std::string("SELECT ") + kUserColumns + " FROM users WHERE id = $1";
const std::string kSelectUserByEmail = std::string("SELECT ") + kUserColumns + " FROM users WHERE email = $1";
const std::string kSelectUserByUsername =
    std::string("SELECT ") + kUserColumns + " FROM users WHERE lower(username) = lower($1)";
constexpr const char* kInsertUser =
    "INSERT INTO users (id, email, username, password_hash, email_verified_at, failed_logins, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $6)";
constexpr const char* kVerifyEmail =
    "UPDATE users SET email_verified_at = $2, updated_at = $2 WHERE id = $1 AND email_verified_at IS NULL";
constexpr const char* kSetPassword = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
const std::string kListUsers =
    std::string("SELECT ") + kUserColumns +
    " FROM users WHERE ($1 = '' OR email LIKE $2 ESCAPE '!' OR lower(username) LIKE $2 ESCAPE '!') "
    "AND (CAST($3 AS BIGINT) = 0 OR created_at < CAST($3 AS BIGINT) OR (created_at = CAST($3 AS BIGINT) AND id < $4)) "
    "ORDER BY created_at DESC, id DESC LIMIT $5";
constexpr const char* kSetDisabled = "UPDATE users SET disabled_at = $2, updated_at = $3 WHERE id = $1";

User user_from(const store::Row& r) {
  User u;
  u.id = r.text(0);
  u.email = r.text(1);
  u.username = r.text(2);
  u.password_hash = r.text(3);
  u.email_verified_at = r.opt_integer(4);
  u.disabled_at = r.opt_integer(5);
  u.failed_logins = r.integer(6);
  u.locked_until = r.opt_integer(7);
  u.last_login_at = r.opt_integer(8);
  u.created_at = r.integer(9);
  u.updated_at = r.integer(10);
  u.totp_enabled = r.integer(11) > 0;
  return u;
}

Status add_roles_of(Connection& c, User& u) {
  auto roles = find_roles(c, u.id);
  if (!roles) return roles.error();
  u.roles = std::move(roles).value();
  return ok();
}

Result<std::optional<User>> one_user(Connection& c, const std::string& sql, const std::string& param) {
  auto user = store::first_of(c.query(sql, {param}), user_from);
  if (!user || !user.value()) return user;
  if (auto r = add_roles_of(c, *user.value()); !r) return r.error();
  return user;
}

}  // namespace

Status insert_user(Connection& c, const User& u) {
  auto st = store::status_of(c.query(
      kInsertUser, {u.id, u.email, u.username, u.password_hash, store::nullable(u.email_verified_at), u.created_at}));
  if (!st) return st;
  for (const auto& role : u.roles)
    if (auto r = add_role(c, u.id, role); !r) return r;
  return ok();
}

Result<std::optional<User>> find_user_by_id(Connection& c, const std::string& id) {
  return one_user(c, kSelectUserById, id);
}

Result<std::optional<User>> find_user_by_email(Connection& c, const std::string& email_lower) {
  return one_user(c, kSelectUserByEmail, email_lower);
}

Result<std::optional<User>> find_user_by_login(Connection& c, const std::string& login) {
  if (login.find('@') != std::string::npos) {
    std::string lower = login;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return one_user(c, kSelectUserByEmail, lower);
  }
  return one_user(c, kSelectUserByUsername, login);
}

Status set_email_verified(Connection& c, const std::string& user_id, std::int64_t now) {
  return store::status_of(c.query(kVerifyEmail, {user_id, now}));
}

Status set_password_hash(Connection& c, const std::string& user_id, const std::string& hash, std::int64_t now) {
  return store::status_of(c.query(kSetPassword, {user_id, hash, now}));
}

Result<std::vector<User>> list_users(Connection& c, const std::string& q,
                                     std::optional<std::pair<std::int64_t, std::string>> after, int limit) {
  // LIKE wildcards in the search text are matched literally.
  std::string pattern;
  for (char ch : q) {
    char lowered = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lowered == '%' || lowered == '_' || lowered == '!') pattern += '!';
    pattern += lowered;
  }
  pattern += '%';
  auto users = store::all_of(c.query(kListUsers, {q, pattern, after ? after->first : std::int64_t{0},
                                                  after ? after->second : std::string(), std::int64_t{limit}}),
                             user_from);
  if (!users) return users;
  for (auto& u : users.value())
    if (auto r = add_roles_of(c, u); !r) return r.error();
  return users;
}

Status set_disabled(Connection& c, const std::string& user_id, std::optional<std::int64_t> disabled_at,
                    std::int64_t now) {
  return store::status_of(c.query(kSetDisabled, {user_id, store::nullable(disabled_at), now}));
}

}  // namespace chatd::auth::db
