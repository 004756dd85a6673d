#pragma once
// Invitations: single-use, expiring codes that let someone register when registration is
// invite-only (CHATD_REGISTRATION=invite_only). A code is "inv_" + 192 random bits
// (base64url); only its SHA-256 is stored, the same hash registration computes when it
// accepts one (auth::Service::register_user), so the code is shown once, at creation.
// An invitation may name an e-mail address: then only that address can use it, and the
// code is mailed there. No HTTP here.

#include "auth/model.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "limits/rate_limiter.hpp"
#include "mail/mailer.hpp"
#include "store/database.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatd::auth {

struct NewInvitation {
  Invitation invitation;
  std::string code;  // never stored; shown once
};

struct InvitationPage {
  std::vector<Invitation> items;
  bool more = false;        // further items follow the last one
  bool may_create = false;  // whether the caller may create invitations now
};

// Where a page starts: after the invitation with this (created_at, id).
using InvitationPosition = std::pair<std::int64_t, std::string>;

struct InvitationsDeps {
  store::Database& db;
  WorkerPool& db_pool;
  mail::Mailer& mailer;
  limits::RateLimiter& limiter;  // the `verify` rule, per invited address, against mailbox flooding
  const config::Config& config;
  const Clock& clock;
  Logger& log;
};

class Invitations {
 public:
  explicit Invitations(InvitationsDeps deps);

  // Admins may always invite; other users when CHATD_USER_INVITES is on and their e-mail
  // address is verified. expires_in_hours: 1-720, default 72. Errors: Code::permission_denied
  // (not allowed to invite), validation (fields "email", "expires_in_hours"), Code::conflict
  // when a non-admin already has kMaxOpenPerUser open invitations, Code::rate_limited when
  // the address was sent too many e-mails.
  boost::asio::awaitable<Result<NewInvitation>> create(const Principal& who, std::optional<std::string> email,
                                                       std::optional<std::int64_t> expires_in_hours, RequestMeta meta);
  // The caller's invitations, newest first, at most `limit` of them, starting after `after`.
  boost::asio::awaitable<Result<InvitationPage>> list(const Principal& who, int limit,
                                                      std::optional<InvitationPosition> after);
  // Deletes one of the caller's invitations: its code stops working at once (an account
  // already made with it stays). Code::not_found for an unknown id or another user's.
  boost::asio::awaitable<Status> remove(const Principal& who, std::string id, RequestMeta meta);

  static constexpr std::int64_t kDefaultHours = 72;
  static constexpr std::int64_t kMaxHours = 720;
  // Open (unused, unexpired) invitations a non-admin may hold at once.
  static constexpr std::int64_t kMaxOpenPerUser = 100;

 private:
  InvitationsDeps d_;
};

}  // namespace chatd::auth
