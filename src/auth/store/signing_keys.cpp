#include "auth/store/signing_keys.hpp"

#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kSelectKeys =
    "SELECT kid, algorithm, public_key, private_key_encrypted, created_at, not_after, retire_after "
    "FROM signing_keys ORDER BY created_at DESC, kid DESC";
constexpr const char* kInsertKey =
    "INSERT INTO signing_keys (kid, algorithm, public_key, private_key_encrypted, created_at, not_after, "
    "retire_after) VALUES ($1, $2, $3, $4, $5, $6, $7)";
constexpr const char* kRetireKeys =
    "UPDATE signing_keys SET not_after = $1, retire_after = $2 WHERE not_after IS NULL OR not_after > $1";

SigningKey signing_key_from(const store::Row& r) {
  return SigningKey{r.text(0), r.text(1), r.text(2), r.text(3), r.integer(4), r.opt_integer(5), r.opt_integer(6)};
}

}  // namespace

Result<std::vector<SigningKey>> list_signing_keys(Connection& c) {
  return store::all_of(c.query(kSelectKeys), signing_key_from);
}

Status insert_signing_key(Connection& c, const SigningKey& k) {
  return store::status_of(c.query(kInsertKey, {k.kid, k.algorithm, k.public_key, k.private_key_sealed, k.created_at,
                                               store::nullable(k.not_after), store::nullable(k.retire_after)}));
}

Status retire_signing_keys(Connection& c, std::int64_t now, std::int64_t retire_after) {
  return store::status_of(c.query(kRetireKeys, {now, retire_after}));
}

}  // namespace chatd::auth::db
