#include "auth/store/one_time_tokens.hpp"

#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kInsertOneTime =
    "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
constexpr const char* kConsumeOneTime =
    "UPDATE one_time_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL "
    "AND expires_at > $3 RETURNING user_id";
constexpr const char* kPeekOneTime =
    "SELECT user_id FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL "
    "AND expires_at > $3";
constexpr const char* kInvalidateOneTime =
    "UPDATE one_time_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL";

}  // namespace

Status insert_one_time_token(Connection& c, const std::string& token_hash, const std::string& purpose,
                             const std::string& user_id, std::int64_t now, std::int64_t expires_at) {
  return store::status_of(c.query(kInsertOneTime, {token_hash, purpose, user_id, now, expires_at}));
}

Result<std::optional<std::string>> peek_one_time_token(Connection& c, const std::string& token_hash,
                                                       const std::string& purpose, std::int64_t now) {
  return store::first_text(c.query(kPeekOneTime, {token_hash, purpose, now}));
}

Result<std::optional<std::string>> consume_one_time_token(Connection& c, const std::string& token_hash,
                                                          const std::string& purpose, std::int64_t now) {
  return store::first_text(c.query(kConsumeOneTime, {token_hash, purpose, now}));
}

Status invalidate_one_time_tokens(Connection& c, const std::string& user_id, const std::string& purpose,
                                  std::int64_t now) {
  return store::status_of(c.query(kInvalidateOneTime, {user_id, purpose, now}));
}

}  // namespace chatd::auth::db
