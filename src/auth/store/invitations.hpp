#pragma once
// Invitations (auth/invitations.hpp): only the codes' hashes are stored.

#include "auth/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatd::auth::db {

using store::Connection;

// What decides whether a user may invite.
struct Inviter {
  std::string username;
  bool email_verified = false;
  bool disabled = false;
};
// nullopt for an unknown user.
Result<std::optional<Inviter>> find_inviter(Connection& c, const std::string& user_id);
// The inviter's unused, unexpired invitations.
Result<std::int64_t> count_open_invitations(Connection& c, const std::string& inviter_id, std::int64_t now);
Status insert_invitation(Connection& c, const Invitation& invitation, const std::string& code_hash);
// The inviter's invitations, newest first, keyset-paginated on (created_at, id): those
// before (before_at, before_id), at most `limit`.
Result<std::vector<Invitation>> list_invitations(Connection& c, const std::string& inviter_id, std::int64_t before_at,
                                                 const std::string& before_id, std::int64_t limit);
// False when the inviter has no invitation with this id.
Result<bool> delete_invitation(Connection& c, const std::string& id, const std::string& inviter_id);
// Uses an unused, unexpired invitation (bound to `email` when it names one); returns its
// id, or nullopt.
Result<std::optional<std::string>> accept_invitation(Connection& c, const std::string& code_hash,
                                                     const std::string& email_lower, const std::string& invitee_id,
                                                     std::int64_t now);

}  // namespace chatd::auth::db
