#include "auth/invitations.hpp"

#include "auth/store/audit.hpp"
#include "auth/store/invitations.hpp"
#include "auth/validation.hpp"
#include "core/ascii.hpp"
#include "core/async.hpp"
#include "core/ids.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "mail/templates.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <limits>

namespace chatd::auth {

namespace {

constexpr std::string_view kCodePrefix = "inv_";
constexpr std::size_t kShownChars = 8;

// Checks and normalises the request (a plain function: GCC 12 mishandles braced string
// lists inside coroutine bodies).
std::optional<Error> invalid_request(std::optional<std::string>& email, const std::optional<std::int64_t>& hours) {
  std::vector<FieldError> fields;
  if (email) {
    *email = normalize_email(*email);
    if (!valid_email(*email)) fields.push_back({"email", "must be a valid e-mail address"});
  }
  if (hours && (*hours < 1 || *hours > Invitations::kMaxHours))
    fields.push_back({"expires_in_hours", "must be between 1 and 720"});
  if (fields.empty()) return std::nullopt;
  return Error::validation(std::move(fields));
}

std::string new_code() {
  std::array<std::uint8_t, 24> raw{};  // 192 bits
  crypto::random_bytes(raw);
  return std::string(kCodePrefix) + crypto::base64url_encode(raw);
}

}  // namespace

Invitations::Invitations(InvitationsDeps deps) : d_(deps) {}

boost::asio::awaitable<Result<NewInvitation>> Invitations::create(const Principal& who,
                                                                  std::optional<std::string> email,
                                                                  std::optional<std::int64_t> expires_in_hours,
                                                                  RequestMeta meta) {
  const bool admin = who.has_role("admin");
  // Permission before validation: someone who may not invite learns nothing from the body.
  if (!admin && !d_.config.user_invites)
    co_return fail(Code::permission_denied, "only administrators may create invitations");
  if (auto invalid = invalid_request(email, expires_in_hours)) co_return std::move(*invalid);

  std::int64_t now = d_.clock.now_ms();
  if (email) {
    // Per invited address, like the verification and reset e-mails: nobody can flood a
    // mailbox by inviting it over and over.
    auto decision = co_await d_.limiter.hit("invite:account:" + *email, d_.config.rate_limits.at("verify"), now);
    if (!decision.allowed) {
      Error e = fail(Code::rate_limited, "too many e-mails were sent to this address; try again later");
      e.retry_after_seconds = decision.retry_after_seconds;
      co_return e;
    }
  }

  NewInvitation out;
  out.code = new_code();
  Invitation& inv = out.invitation;
  inv.id = new_uuid_v7(now);
  inv.code_prefix = out.code.substr(0, kCodePrefix.size() + kShownChars);  // as shown: "inv_" and 8 more
  inv.inviter_id = who.user_id;
  inv.email = email;
  inv.created_at = now;
  inv.expires_at = now + expires_in_hours.value_or(kDefaultHours) * 3600 * 1000;
  std::string hash = crypto::sha256_hex(out.code);
  std::string inviter_name;

  // Captures by reference only: GCC 12 destroys by-value captures of a lambda temporary
  // inside a co_await expression twice. The coroutine frame outlives the call.
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto inviter = db::find_inviter(c, who.user_id);
      if (!inviter) return inviter.error();
      if (!inviter.value() || inviter.value()->disabled)
        return fail(Code::permission_denied, "the account is not active");
      inviter_name = inviter.value()->username;
      if (!admin) {
        if (!inviter.value()->email_verified)
          return fail(Code::permission_denied, "verify your e-mail address before inviting others");
        auto open = db::count_open_invitations(c, who.user_id, now);
        if (!open) return open.error();
        if (open.value() >= kMaxOpenPerUser)
          return fail(Code::conflict, "you have too many open invitations; wait for some to be used or expire");
      }
      if (auto r = db::insert_invitation(c, inv, hash); !r) return r;
      nlohmann::json detail = {{"invitation_id", inv.id}};
      if (inv.email) detail["email"] = *inv.email;
      return db::insert_audit(c, AuditEvent{"invitation.created", who.user_id, who.user_id, detail.dump()}, meta, now);
    });
  });
  if (!st) co_return st.error();

  if (inv.email) {
    auto link = mail::make_link(d_.config.public_url, "/register", out.code, "invite");
    if (!d_.mailer.send(mail::invitation_email(*inv.email, inviter_name, link, format_rfc3339(inv.expires_at))))
      d_.log.error("mail.queue_full").str("purpose", "invitation");
  }
  co_return out;
}

boost::asio::awaitable<Result<InvitationPage>> Invitations::list(const Principal& who, int limit,
                                                                 std::optional<InvitationPosition> after) {
  std::int64_t before_at = std::numeric_limits<std::int64_t>::max();
  std::string before_id;
  if (after) {
    before_at = after->first;
    before_id = std::move(after->second);
  }
  // One more than asked: whether it exists says whether there is a next page.
  std::int64_t fetch = static_cast<std::int64_t>(limit) + 1;
  const bool admin = who.has_role("admin");
  InvitationPage page;
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::read(d_.db, [&](store::Connection& c) -> Status {
      auto items = db::list_invitations(c, who.user_id, before_at, before_id, fetch);
      if (!items) return items.error();
      page.items = std::move(items).value();
      // The same rule as create(): admins always; others when allowed and verified.
      if (admin || !d_.config.user_invites) {
        page.may_create = admin;
        return ok();
      }
      auto inviter = db::find_inviter(c, who.user_id);
      if (!inviter) return inviter.error();
      page.may_create = inviter.value() && inviter.value()->email_verified && !inviter.value()->disabled;
      return ok();
    });
  });
  if (!st) co_return st.error();
  if (page.items.size() > static_cast<std::size_t>(limit)) {
    page.items.resize(static_cast<std::size_t>(limit));
    page.more = true;
  }
  co_return page;
}

boost::asio::awaitable<Status> Invitations::remove(const Principal& who, std::string id, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  co_return co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto deleted = db::delete_invitation(c, id, who.user_id);
      if (!deleted) return deleted.error();
      if (!deleted.value()) return fail(Code::not_found, "no such invitation");
      nlohmann::json detail = {{"invitation_id", id}};
      return db::insert_audit(c, AuditEvent{"invitation.deleted", who.user_id, who.user_id, detail.dump()}, meta, now);
    });
  });
}

}  // namespace chatd::auth
