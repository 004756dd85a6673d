#include "auth/store/api_keys.hpp"

#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kSelectKeyByHash =
    "SELECT k.id, k.user_id, k.expires_at, k.revoked_at, k.last_used_at, u.disabled_at "
    "FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1";
// The condition keeps instances that share the database to one write a minute as well.
constexpr const char* kTouchKey =
    "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)";
constexpr const char* kCountKeys = "SELECT count(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL";
constexpr const char* kInsertKey =
    "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)";
constexpr const char* kListKeys =
    "SELECT id, user_id, name, prefix, created_at, last_used_at, expires_at FROM api_keys "
    "WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC";
constexpr const char* kRevokeKey =
    "UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";

ApiKeyCheck check_from(const store::Row& r) {
  return ApiKeyCheck{r.text(0), r.text(1), r.opt_integer(2), !r.is_null(3), r.opt_integer(4), !r.is_null(5)};
}

ApiKey key_from(const store::Row& r) {
  ApiKey k;
  k.id = r.text(0);
  k.user_id = r.text(1);
  k.name = r.text(2);
  k.prefix = r.text(3);
  k.created_at = r.integer(4);
  k.last_used_at = r.opt_integer(5);
  k.expires_at = r.opt_integer(6);
  return k;
}

}  // namespace

Result<std::optional<ApiKeyCheck>> check_api_key(Connection& c, const std::string& key_hash) {
  return store::first_of(c.query(kSelectKeyByHash, {key_hash}), check_from);
}

Status touch_api_key(Connection& c, const std::string& id, std::int64_t now, std::int64_t not_before) {
  return store::status_of(c.query(kTouchKey, {id, now, not_before}));
}

Result<std::int64_t> count_api_keys(Connection& c, const std::string& user_id) {
  return store::first_integer(c.query(kCountKeys, {user_id}));
}

Status insert_api_key(Connection& c, const ApiKey& k, const std::string& key_hash) {
  return store::status_of(
      c.query(kInsertKey, {k.id, k.user_id, k.name, k.prefix, key_hash, k.created_at, store::nullable(k.expires_at)}));
}

Result<std::vector<ApiKey>> list_api_keys(Connection& c, const std::string& user_id) {
  return store::all_of(c.query(kListKeys, {user_id}), key_from);
}

Result<bool> revoke_api_key(Connection& c, const std::string& id, const std::string& user_id, std::int64_t now) {
  return store::changed_one(c.query(kRevokeKey, {id, user_id, now}));
}

}  // namespace chatd::auth::db
