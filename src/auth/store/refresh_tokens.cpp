#include "auth/store/refresh_tokens.hpp"

#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kInsertRefresh =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
constexpr const char* kSelectRefresh =
    "SELECT token_hash, session_id, created_at, expires_at, rotated_at FROM refresh_tokens WHERE token_hash = $1";
constexpr const char* kRotateRefresh =
    "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL";

RefreshToken refresh_token_from(const store::Row& r) {
  return RefreshToken{r.text(0), r.text(1), r.integer(2), r.integer(3), r.opt_integer(4)};
}

}  // namespace

Status insert_refresh_token(Connection& c, const RefreshToken& t) {
  return store::status_of(c.query(kInsertRefresh, {t.token_hash, t.session_id, t.created_at, t.expires_at}));
}

Result<std::optional<RefreshToken>> find_refresh_token(Connection& c, const std::string& token_hash) {
  return store::first_of(c.query(kSelectRefresh, {token_hash}), refresh_token_from);
}

Result<bool> mark_refresh_rotated(Connection& c, const std::string& token_hash, std::int64_t now) {
  return store::changed_one(c.query(kRotateRefresh, {token_hash, now}));
}

}  // namespace chatd::auth::db
