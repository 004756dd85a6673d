#include "auth/store/invitations.hpp"

#include "store/rows.hpp"

namespace chatd::auth::db {

namespace {

constexpr const char* kSelectInviter = "SELECT username, email_verified_at, disabled_at FROM users WHERE id = $1";
constexpr const char* kCountOpen =
    "SELECT count(*) FROM invitations WHERE inviter_id = $1 AND accepted_at IS NULL AND expires_at > $2";
constexpr const char* kInsertInvitation =
    "INSERT INTO invitations (id, code_hash, code_prefix, inviter_id, email, created_at, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)";
// Keyset pagination on (created_at, id), both descending; the first page starts after
// (max, "") so that one statement serves every page.
constexpr const char* kListPage =
    "SELECT id, code_prefix, inviter_id, email, created_at, expires_at, accepted_at, invitee_id "
    "FROM invitations WHERE inviter_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) "
    "ORDER BY created_at DESC, id DESC LIMIT $4";
constexpr const char* kDeleteInvitation = "DELETE FROM invitations WHERE id = $1 AND inviter_id = $2";
constexpr const char* kAcceptInvitation =
    "UPDATE invitations SET accepted_at = $4, invitee_id = $3 WHERE code_hash = $1 AND accepted_at IS NULL "
    "AND expires_at > $4 AND (email IS NULL OR email = $2) RETURNING id";

Inviter inviter_from(const store::Row& r) { return Inviter{r.text(0), !r.is_null(1), !r.is_null(2)}; }

Invitation invitation_from(const store::Row& r) {
  Invitation inv;
  inv.id = r.text(0);
  inv.code_prefix = r.text(1);
  inv.inviter_id = r.text(2);
  inv.email = r.opt_text(3);
  inv.created_at = r.integer(4);
  inv.expires_at = r.integer(5);
  inv.accepted_at = r.opt_integer(6);
  inv.invitee_id = r.opt_text(7);
  return inv;
}

}  // namespace

Result<std::optional<Inviter>> find_inviter(Connection& c, const std::string& user_id) {
  return store::first_of(c.query(kSelectInviter, {user_id}), inviter_from);
}

Result<std::int64_t> count_open_invitations(Connection& c, const std::string& inviter_id, std::int64_t now) {
  return store::first_integer(c.query(kCountOpen, {inviter_id, now}));
}

Status insert_invitation(Connection& c, const Invitation& inv, const std::string& code_hash) {
  return store::status_of(c.query(kInsertInvitation, {inv.id, code_hash, inv.code_prefix, inv.inviter_id,
                                                      store::nullable(inv.email), inv.created_at, inv.expires_at}));
}

Result<std::vector<Invitation>> list_invitations(Connection& c, const std::string& inviter_id, std::int64_t before_at,
                                                 const std::string& before_id, std::int64_t limit) {
  return store::all_of(c.query(kListPage, {inviter_id, before_at, before_id, limit}), invitation_from);
}

Result<bool> delete_invitation(Connection& c, const std::string& id, const std::string& inviter_id) {
  return store::changed_one(c.query(kDeleteInvitation, {id, inviter_id}));
}

Result<std::optional<std::string>> accept_invitation(Connection& c, const std::string& code_hash,
                                                     const std::string& email_lower, const std::string& invitee_id,
                                                     std::int64_t now) {
  return store::first_text(c.query(kAcceptInvitation, {code_hash, email_lower, invitee_id, now}));
}

}  // namespace chatd::auth::db
