// auth::Service, accounts: registration, e-mail verification, the account itself and
// its password (change, reset).
#include "auth/service.hpp"
#include "auth/service_internal.hpp"
#include "auth/store/audit.hpp"
#include "auth/store/invitations.hpp"
#include "auth/store/one_time_tokens.hpp"
#include "auth/store/sessions.hpp"
#include "auth/store/users.hpp"
#include "auth/validation.hpp"
#include "core/async.hpp"
#include "core/ids.hpp"
#include "mail/templates.hpp"

#include <nlohmann/json.hpp>

namespace chatd::auth {

using internal::new_secret;
using internal::token_hash;

namespace {

constexpr std::int64_t kVerifyTokenTtlMs = 24LL * 3600 * 1000;
constexpr std::int64_t kResetTokenTtlMs = 3600 * 1000LL;
constexpr const char* kPurposeVerify = "verify_email";
constexpr const char* kPurposeReset = "password_reset";

// Per-address limit on e-mails we send, on top of the per-IP `verify` bucket, so that no
// one can flood a mailbox from many addresses. Keyed by what was typed: it reveals nothing
// about whether the account exists.
boost::asio::awaitable<std::optional<Error>> mail_limited(limits::RateLimiter& limiter, const config::Config& config,
                                                          std::string key, std::int64_t now) {
  auto decision = co_await limiter.hit(std::move(key), config.rate_limits.at("verify"), now);
  if (decision.allowed) co_return std::nullopt;
  Error e = fail(Code::rate_limited, "too many e-mails requested for this address; try again later");
  e.retry_after_seconds = decision.retry_after_seconds;
  co_return e;
}

}  // namespace

void Service::send_verification(const User& user, const std::string& token) {
  auto link = mail::make_link(d_.config.public_url, "/verify", token);
  if (!d_.mailer.send(mail::verification_email(user.email, user.username, link)))
    d_.log.error("mail.queue_full").str("purpose", "verify_email");
}

Task<User> Service::register_user(std::string email, std::string username, std::string password,
                                  std::optional<std::string> invite_code, RequestMeta meta) {
  email = normalize_email(email);
  std::vector<FieldError> fields;
  if (!valid_email(email)) fields.push_back({"email", "must be a valid e-mail address"});
  if (!valid_username(username)) fields.push_back({"username", "must be 3-32 characters of A-Z a-z 0-9 _ . -"});
  // (Arguments are built before co_await: GCC 12 miscompiles braced temporaries there.)
  std::vector<std::string> inputs{email, username};
  auto normalized = co_await acceptable_password(password, std::string("password"), std::move(inputs));
  if (!normalized) fields.insert(fields.end(), normalized.error().fields.begin(), normalized.error().fields.end());
  if (!normalized && normalized.error().fields.empty()) co_return normalized.error();  // busy, not invalid
  if (!fields.empty()) co_return Error::validation(std::move(fields));

  if (d_.config.registration == "closed") co_return fail(Code::permission_denied, "registration is closed");
  if (d_.config.registration == "invite_only" && (!invite_code || invite_code->empty()))
    co_return fail(Code::permission_denied, "registration needs an invitation code");

  auto hashed = co_await hash_password(std::move(normalized).value());
  if (!hashed) co_return hashed.error();

  std::int64_t now = d_.clock.now_ms();
  User user;
  user.id = new_uuid_v7(now);
  user.email = email;
  user.username = username;
  user.password_hash = std::move(hashed).value();
  user.created_at = user.updated_at = now;
  user.roles = {"user"};
  std::string verify_token = new_secret("ev_");
  std::optional<std::string> invitation_id;

  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      if (auto r = db::insert_user(c, user); !r) {
        if (r.error().code == Code::conflict) return fail(Code::conflict, "the e-mail address or username is taken");
        return r;
      }
      if (invite_code && !invite_code->empty()) {
        auto accepted = db::accept_invitation(c, token_hash(*invite_code), user.email, user.id, now);
        if (!accepted) return accepted.error();
        if (!accepted.value()) {
          if (d_.config.registration == "invite_only")
            return fail(Code::permission_denied, "the invitation code is unknown, used or expired");
        } else {
          invitation_id = *accepted.value();
        }
      }
      if (auto r = db::insert_one_time_token(c, token_hash(verify_token), kPurposeVerify, user.id, now,
                                             now + kVerifyTokenTtlMs);
          !r)
        return r;
      AuditEvent registered{"user.registered", user.id, user.id};
      if (auto r = db::insert_audit(c, registered, meta, now); !r) return r;
      if (invitation_id) {
        nlohmann::json detail = {{"invitation_id", *invitation_id}};
        AuditEvent accepted{"invitation.accepted", user.id, user.id, detail.dump()};
        if (auto r = db::insert_audit(c, accepted, meta, now); !r) return r;
      }
      return ok();
    });
  });
  if (!st) co_return st.error();
  send_verification(user, verify_token);
  co_return user;
}

Task<bool> Service::request_verification(std::string email, RequestMeta meta) {
  email = normalize_email(email);
  std::int64_t now = d_.clock.now_ms();
  if (auto limited = co_await mail_limited(d_.limiter, d_.config, "verify:account:" + email, now)) co_return *limited;
  std::string token = new_secret("ev_");
  std::optional<User> target;
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto user = db::find_user_by_email(c, email);
      if (!user) return user.error();
      if (!user.value() || user.value()->email_verified_at || user.value()->disabled_at) return ok();
      if (auto r = db::invalidate_one_time_tokens(c, user.value()->id, kPurposeVerify, now); !r) return r;
      if (auto r = db::insert_one_time_token(c, token_hash(token), kPurposeVerify, user.value()->id, now,
                                             now + kVerifyTokenTtlMs);
          !r)
        return r;
      target = std::move(*user.value());
      return ok();
    });
  });
  if (!st) co_return st.error();
  (void)meta;
  if (target) send_verification(*target, token);
  co_return true;
}

Task<User> Service::confirm_verification(std::string token, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  auto user = co_await run_blocking(d_.db_pool, [&]() -> Result<User> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<User> {
      auto id = db::consume_one_time_token(c, token_hash(token), kPurposeVerify, now);
      if (!id) return id.error();
      if (!id.value()) return fail(Code::invalid_argument, "the token is unknown, used or expired", "invalid_token");
      if (auto r = db::set_email_verified(c, *id.value(), now); !r) return r.error();
      if (auto r = db::insert_audit(c, AuditEvent{"email.verified", *id.value(), *id.value()}, meta, now); !r)
        return r.error();
      auto u = db::find_user_by_id(c, *id.value());
      if (!u) return u.error();
      if (!u.value()) return fail(Code::invalid_argument, "the token is unknown, used or expired", "invalid_token");
      return std::move(*u.value());
    });
  });
  if (user) users_.forget(user.value().id);
  co_return user;
}

Task<User> Service::me(const Principal& who) {
  std::int64_t now = d_.clock.now_ms();
  if (auto cached = users_.get(who.user_id, now)) co_return std::move(*cached);
  auto user = co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::find_user_by_id(c, who.user_id); });
  });
  if (!user) co_return user.error();
  if (!user.value()) co_return fail(Code::unauthenticated, "the account no longer exists");
  users_.put(*user.value(), now);
  co_return std::move(*user.value());
}

Task<bool> Service::change_password(const Principal& who, std::string current_password, std::string new_password,
                                    RequestMeta meta) {
  // Straight from the database, not the /auth/me cache: the hash must be the current one.
  auto found = co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::find_user_by_id(c, who.user_id); });
  });
  if (!found) co_return found.error();
  if (!found.value()) co_return fail(Code::unauthenticated, "the account no longer exists");
  Result<User> user = std::move(*found.value());
  if (!user) co_return user.error();
  auto good = co_await verify_password(user.value().password_hash, current_password);
  if (!good) co_return good.error();
  if (!good.value()) {
    Error e = fail(Code::unauthenticated, "the current password is wrong", "invalid_credentials");
    co_return e;
  }
  std::vector<std::string> inputs{user.value().email, user.value().username};
  auto normalized = co_await acceptable_password(new_password, std::string("new_password"), std::move(inputs));
  if (!normalized) co_return normalized.error();
  auto hashed = co_await hash_password(std::move(normalized).value());
  if (!hashed) co_return hashed.error();
  std::int64_t now = d_.clock.now_ms();
  auto revoked = co_await run_blocking(d_.db_pool, [&]() -> Result<std::vector<std::string>> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<std::vector<std::string>> {
      if (auto r = db::set_password_hash(c, who.user_id, hashed.value(), now); !r) return r.error();
      if (auto r = db::invalidate_one_time_tokens(c, who.user_id, kPurposeReset, now); !r) return r.error();
      auto ids = db::revoke_user_sessions(c, who.user_id, now, "password_changed", who.session_id);
      if (!ids) return ids;
      if (auto r = db::insert_audit(c, AuditEvent{"password.changed", who.user_id, who.user_id}, meta, now); !r)
        return r.error();
      return ids;
    });
  });
  if (!revoked) co_return revoked.error();
  users_.forget(who.user_id);
  d_.authenticator.sessions_revoked(revoked.value());
  co_return true;
}

Task<bool> Service::request_password_reset(std::string email, RequestMeta meta) {
  email = normalize_email(email);
  std::int64_t now = d_.clock.now_ms();
  if (auto limited = co_await mail_limited(d_.limiter, d_.config, "reset:account:" + email, now)) co_return *limited;
  std::string token = new_secret("pr_");
  std::optional<User> target;
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto user = db::find_user_by_email(c, email);
      if (!user) return user.error();
      if (!user.value() || user.value()->disabled_at) return ok();
      if (auto r = db::invalidate_one_time_tokens(c, user.value()->id, kPurposeReset, now); !r) return r;
      if (auto r = db::insert_one_time_token(c, token_hash(token), kPurposeReset, user.value()->id, now,
                                             now + kResetTokenTtlMs);
          !r)
        return r;
      if (auto r = db::insert_audit(c, AuditEvent{"password.reset_requested", user.value()->id}, meta, now); !r)
        return r;
      target = std::move(*user.value());
      return ok();
    });
  });
  if (!st) co_return st.error();
  if (target) {
    auto link = mail::make_link(d_.config.public_url, "/reset", token);
    if (!d_.mailer.send(mail::password_reset_email(target->email, target->username, link)))
      d_.log.error("mail.queue_full").str("purpose", "password_reset");
  }
  co_return true;
}

Task<bool> Service::confirm_password_reset(std::string token, std::string new_password, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  std::string hash = token_hash(token);
  Error invalid = fail(Code::invalid_argument, "the token is unknown, used or expired", "invalid_token");
  // Look first without using the token, so a weak new password does not burn it.
  auto owner = co_await run_blocking(d_.db_pool, [&]() -> Result<std::optional<User>> {
    return store::read(d_.db, [&](store::Connection& c) -> Result<std::optional<User>> {
      auto id = db::peek_one_time_token(c, hash, kPurposeReset, now);
      if (!id) return id.error();
      if (!id.value()) return std::optional<User>();
      return db::find_user_by_id(c, *id.value());
    });
  });
  if (!owner) co_return owner.error();
  if (!owner.value()) co_return invalid;
  User user = std::move(*owner.value());
  std::vector<std::string> inputs{user.email, user.username};
  auto normalized = co_await acceptable_password(new_password, std::string("new_password"), std::move(inputs));
  if (!normalized) co_return normalized.error();
  auto hashed = co_await hash_password(std::move(normalized).value());
  if (!hashed) co_return hashed.error();
  auto revoked = co_await run_blocking(d_.db_pool, [&]() -> Result<std::vector<std::string>> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<std::vector<std::string>> {
      auto id = db::consume_one_time_token(c, hash, kPurposeReset, now);
      if (!id) return id.error();
      if (!id.value() || *id.value() != user.id) return invalid;
      if (auto r = db::set_password_hash(c, user.id, hashed.value(), now); !r) return r.error();
      auto ids = db::revoke_user_sessions(c, user.id, now, "password_reset", std::nullopt);
      if (!ids) return ids;
      if (auto r = db::insert_audit(c, AuditEvent{"password.reset", user.id, user.id}, meta, now); !r) return r.error();
      return ids;
    });
  });
  if (!revoked) co_return revoked.error();
  users_.forget(user.id);
  d_.authenticator.sessions_revoked(revoked.value());
  co_return true;
}

}  // namespace chatd::auth
