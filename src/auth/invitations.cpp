#include "auth/invitations.hpp"

#include "auth/store.hpp"
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

store::Value text_or_null(const std::optional<std::string>& v) { return v ? store::Value(*v) : store::Value(nullptr); }

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
    auto decision = d_.limiter.hit("invite:account:" + *email, d_.config.rate_limits.at("verify"), now);
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
      auto inviter = c.query(kSelectInviter, {who.user_id});
      if (!inviter) return inviter.error();
      if (inviter.value().empty() || !inviter.value().rows.front().is_null(2))
        return fail(Code::permission_denied, "the account is not active");
      inviter_name = inviter.value().rows.front().text(0);
      if (!admin) {
        if (inviter.value().rows.front().is_null(1))
          return fail(Code::permission_denied, "verify your e-mail address before inviting others");
        auto open = c.query(kCountOpen, {who.user_id, now});
        if (!open) return open.error();
        if (!open.value().empty() && open.value().rows.front().integer(0) >= kMaxOpenPerUser)
          return fail(Code::conflict, "you have too many open invitations; wait for some to be used or expire");
      }
      auto inserted = c.query(kInsertInvitation, {inv.id, hash, inv.code_prefix, inv.inviter_id,
                                                  text_or_null(inv.email), inv.created_at, inv.expires_at});
      if (!inserted) return inserted.error();
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
      auto rows = c.query(kListPage, {who.user_id, before_at, before_id, fetch});
      if (!rows) return rows.error();
      for (const auto& r : rows.value().rows) page.items.push_back(invitation_from(r));
      // The same rule as create(): admins always; others when allowed and verified.
      if (admin || !d_.config.user_invites) {
        page.may_create = admin;
        return ok();
      }
      auto inviter = c.query(kSelectInviter, {who.user_id});
      if (!inviter) return inviter.error();
      page.may_create = !inviter.value().empty() && !inviter.value().rows.front().is_null(1) &&
                        inviter.value().rows.front().is_null(2);
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
      auto deleted = c.query(kDeleteInvitation, {id, who.user_id});
      if (!deleted) return deleted.error();
      if (deleted.value().affected != 1) return fail(Code::not_found, "no such invitation");
      nlohmann::json detail = {{"invitation_id", id}};
      return db::insert_audit(c, AuditEvent{"invitation.deleted", who.user_id, who.user_id, detail.dump()}, meta, now);
    });
  });
}

}  // namespace chatd::auth
