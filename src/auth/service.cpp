#include "auth/service.hpp"

#include "auth/password_policy.hpp"
#include "auth/store.hpp"
#include "auth/totp.hpp"
#include "auth/validation.hpp"
#include "core/ascii.hpp"
#include "core/async.hpp"
#include "core/ids.hpp"
#include "crypto/aead.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/password_hash.hpp"
#include "crypto/random.hpp"
#include "mail/templates.hpp"

#include <algorithm>
#include <array>
#include <regex>

namespace chatd::auth {

namespace {

constexpr std::int64_t kVerifyTokenTtlMs = 24LL * 3600 * 1000;
constexpr std::int64_t kResetTokenTtlMs = 3600 * 1000LL;
constexpr const char* kPurposeVerify = "verify_email";
constexpr const char* kPurposeReset = "password_reset";

// Opaque secrets: 256 random bits, base64url, with a readable prefix. Only their SHA-256
// is stored, so a database leak reveals no usable token.
std::string new_secret(std::string_view prefix) {
  std::array<std::uint8_t, 32> raw{};
  crypto::random_bytes(raw);
  return std::string(prefix) + crypto::base64url_encode(raw);
}
std::string token_hash(std::string_view token) { return crypto::sha256_hex(token); }

Error invalid_credentials() {
  return fail(Code::unauthenticated, "the login or the password is wrong", "invalid_credentials");
}

}  // namespace

Service::Service(ServiceDeps deps) : d_(deps) {}

std::optional<User> Service::UserCache::get(const std::string& id, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || now_ms - it->second.second >= kFreshMs) return std::nullopt;
  return it->second.first;
}

void Service::UserCache::put(const User& user, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= kMaxEntries) {
    for (auto it = entries_.begin(); it != entries_.end();)
      it = now_ms - it->second.second >= kFreshMs ? entries_.erase(it) : std::next(it);
    if (entries_.size() >= kMaxEntries) entries_.clear();
  }
  entries_[user.id] = {user, now_ms};
}

void Service::UserCache::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
}

Task<std::string> Service::acceptable_password(std::string password, std::string field,
                                               std::vector<std::string> user_inputs) {
  int min_length = d_.config.password_min_length;
  // Captures by reference only: GCC 12 destroys by-value captures of a lambda temporary
  // inside a co_await expression twice. The coroutine frame outlives the call.
  auto checked = co_await run_blocking(d_.hash_pool, [&]() -> Result<std::string> {
    const auto& inputs = user_inputs;
    auto normalized = normalize_password(password);
    if (!normalized) return Error::validation({{field, "must be valid UTF-8"}});
    std::vector<std::string_view> views(inputs.begin(), inputs.end());
    PasswordPolicy policy;
    policy.min_length = min_length;
    auto problems = check_password(*normalized, policy, views);
    if (!problems.empty()) {
      std::vector<FieldError> fields;
      fields.reserve(problems.size());
      for (auto& p : problems) fields.push_back({field, std::move(p)});
      return Error::validation(std::move(fields));
    }
    return std::move(*normalized);
  });
  co_return checked;
}

Task<std::string> Service::hash_password(std::string normalized) {
  co_return co_await run_blocking(d_.hash_pool, [&]() { return crypto::password::hash(normalized); });
}

Task<bool> Service::verify_password(std::string encoded, std::string password) {
  co_return co_await run_blocking(d_.hash_pool, [&]() -> bool {
    // Passwords were normalised when set; the same normalisation applies when checking.
    auto normalized = normalize_password(password);
    return crypto::password::verify(encoded, normalized ? *normalized : password);
  });
}

void Service::send_verification(const User& user, const std::string& token) {
  auto link = mail::make_link(d_.config.public_url, "/verify", token);
  if (!d_.mailer.send(mail::verification_email(user.email, user.username, link)))
    d_.log.error("mail.queue_full").str("purpose", "verify_email");
}

std::string Service::access_token_for(const User& user, const std::string& session_id, std::int64_t now) {
  std::int64_t iat = now / 1000;
  nlohmann::json claims = {
      {"iss", d_.config.public_url},
      {"sub", user.id},
      {"aud", "chatd"},
      {"iat", iat},
      {"nbf", iat},
      {"exp", iat + d_.config.access_token_ttl},
      {"jti", new_uuid_v7(now)},
      {"sid", session_id},
      {"roles", user.roles},
  };
  return d_.keys.sign(claims);
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

namespace {

// Per-address limit on e-mails we send, on top of the per-IP `verify` bucket, so that no
// one can flood a mailbox from many addresses. Keyed by what was typed: it reveals nothing
// about whether the account exists.
std::optional<Error> mail_limited(limits::RateLimiter& limiter, const config::Config& config,
                                  const std::string& purpose, const std::string& email, std::int64_t now) {
  auto decision = limiter.hit(purpose + ":account:" + email, config.rate_limits.at("verify"), now);
  if (decision.allowed) return std::nullopt;
  Error e = fail(Code::rate_limited, "too many e-mails requested for this address; try again later");
  e.retry_after_seconds = decision.retry_after_seconds;
  return e;
}

}  // namespace

Task<bool> Service::request_verification(std::string email, RequestMeta meta) {
  email = normalize_email(email);
  std::int64_t now = d_.clock.now_ms();
  if (auto limited = mail_limited(d_.limiter, d_.config, "verify", email, now)) co_return *limited;
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

Task<LoginResult> Service::login(std::string login, std::string password, std::optional<std::string> otp,
                                 RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  // An e-mail address is looked up in the form it was stored in; a username as it is
  // (matched case-insensitively).
  if (login.find('@') != std::string::npos) login = normalize_email(login);
  // Per-account limit on top of the per-IP one the route applies.
  auto decision = d_.limiter.hit("login:account:" + ascii_lower(login), d_.config.rate_limits.at("login"), now);
  if (!decision.allowed) {
    Error e = fail(Code::rate_limited, "too many login attempts for this account; try again later");
    e.retry_after_seconds = decision.retry_after_seconds;
    co_return e;
  }

  auto found = co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::find_user_by_login(c, login); });
  });
  if (!found) co_return found.error();

  auto audit = [&](AuditEvent event) -> boost::asio::awaitable<void> {
    auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
      return store::transact(d_.db, [&](store::Connection& c) { return db::insert_audit(c, event, meta, now); });
    });
    if (!st) d_.log.error("audit.failed").str("event", event.event).str("error", st.error().internal);
  };

  if (!found.value()) {
    // Spend the same time as a real check so that unknown users cannot be told apart.
    (void)co_await verify_password(crypto::password::dummy_hash(), password);
    co_await audit(AuditEvent{"login.failed", std::nullopt, std::nullopt, R"({"reason":"unknown_user"})"});
    co_return invalid_credentials();
  }
  User user = std::move(*found.value());
  // 423 with Retry-After: the seconds until the lock ends (the whole lock time when another
  // attempt set it after the user was read).
  auto locked = [this, now, until = user.locked_until]() {
    Error e =
        fail(Code::locked, "the account is locked after too many failed logins; try again later", "account_locked");
    std::int64_t lock_ms = until && *until > now ? *until - now : d_.config.lockout_seconds * 1000;
    e.retry_after_seconds = (lock_ms + 999) / 1000;
    return e;
  };

  // The lock check and the failure count are one atomic step, before the hash is checked
  // (db::begin_login_attempt): parallel guesses get no more checks than the threshold.
  // Committed unsynced: the answer's own synced commit (the failure's audit row, or the
  // session) makes it durable before anything is sent, since a later synced commit covers
  // every earlier one in both databases. A synced commit here would cost a known user an
  // fsync more than an unknown one, and tell the two apart by time.
  auto attempt = co_await run_blocking(d_.db_pool, [&]() -> Result<db::LoginAttempt> {
    return store::transact(
        d_.db,
        [&](store::Connection& c) {
          return db::begin_login_attempt(c, user.id, now, d_.config.lockout_threshold,
                                         d_.config.lockout_seconds * 1000);
        },
        store::Access::write_unsynced);
  });
  if (!attempt) co_return attempt.error();
  if (!attempt.value().allowed) {
    co_await audit(AuditEvent{"login.failed", user.id, std::nullopt, R"({"reason":"locked"})"});
    co_return locked();
  }
  // Gives the attempt's place back when it ends neither right nor wrong.
  auto release = [&]() -> boost::asio::awaitable<void> {
    auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
      return store::transact(
          d_.db, [&](store::Connection& c) { return db::release_login_attempt(c, user.id, attempt.value(), now); });
    });
    if (!st) d_.log.error("login.release_failed").str("error", st.error().internal);
  };
  // A wrong password or code: the attempt was counted when it began; what is left is the
  // audit trail, and the lock when this attempt took the last place.
  auto failed = [&](const char* reason) -> boost::asio::awaitable<Status> {
    co_return co_await run_blocking(d_.db_pool, [&]() -> Status {
      return store::transact(d_.db, [&](store::Connection& c) -> Status {
        std::string detail = std::string(R"({"reason":")") + reason + "\"}";
        if (auto r = db::insert_audit(c, AuditEvent{"login.failed", user.id, std::nullopt, detail}, meta, now); !r)
          return r;
        if (attempt.value().lock_set) return db::insert_audit(c, AuditEvent{"login.locked", user.id}, meta, now);
        return ok();
      });
    });
  };

  auto good = co_await verify_password(user.password_hash, password);
  if (!good) {
    co_await release();
    co_return good.error();
  }
  if (!good.value()) {
    if (auto st = co_await failed("wrong_password"); !st) co_return st.error();
    co_return invalid_credentials();
  }
  if (user.disabled_at) {
    co_await release();
    co_return fail(Code::permission_denied, "the account is disabled", "account_disabled");
  }
  if (d_.config.require_email_verification && !user.email_verified_at) {
    co_await release();
    co_return fail(Code::permission_denied, "verify your e-mail address first", "email_not_verified");
  }
  if (user.totp_enabled) {
    if (!otp || otp->empty()) {
      co_await release();
      co_return fail(Code::unauthenticated, "a one-time code is required", "otp_required");
    }
    // A wrong code counts as a failed login (toward the lockout), so codes cannot be
    // guessed faster than passwords: at most `lockout_threshold` wrong codes in a row.
    auto checked = co_await run_blocking(d_.db_pool, [&]() -> Result<bool> {
      return store::transact(d_.db,
                             [&](store::Connection& c) { return use_second_factor(c, user.id, *otp, now, meta); });
    });
    if (!checked) {
      co_await release();
      co_return checked.error();
    }
    if (!checked.value()) {
      if (auto st = co_await failed("wrong_otp"); !st) co_return st.error();
      co_return fail(Code::unauthenticated, "the one-time code is wrong or used", "invalid_otp");
    }
  }
  std::string user_id = user.id;
  auto started = co_await start_session(std::move(user), attempt.value(), meta);
  if (!started && started.error().code == Code::locked) {
    co_await audit(AuditEvent{"login.failed", user_id, std::nullopt, R"({"reason":"locked"})"});
    co_return locked();
  }
  co_return started;
}

Task<LoginResult> Service::start_session(User user, db::LoginAttempt attempt, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  Session session;
  session.id = new_uuid_v7(now);
  session.user_id = user.id;
  session.created_at = session.last_used_at = now;
  session.expires_at = now + d_.config.refresh_token_ttl * 1000;
  session.ip = meta.ip;
  session.user_agent = meta.user_agent;
  session.device_fingerprint = crypto::sha256_hex(meta.user_agent).substr(0, 16);
  std::string refresh = new_secret("rt_");
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto unlocked = db::record_login_success(c, user.id, attempt, now);
      if (!unlocked) return unlocked.error();
      // Locked by a parallel attempt while this one checked: the lock holds (nothing written).
      if (!unlocked.value()) return fail(Code::locked, "locked meanwhile");
      if (auto r = db::insert_session(c, session); !r) return r;
      if (auto r = db::insert_refresh_token(
              c, RefreshToken{token_hash(refresh), session.id, now, session.expires_at, std::nullopt});
          !r)
        return r;
      nlohmann::json detail = {{"session_id", session.id}};
      return db::insert_audit(c, AuditEvent{"login.succeeded", user.id, user.id, detail.dump()}, meta, now);
    });
  });
  if (!st) co_return st.error();
  users_.forget(user.id);
  user.last_login_at = now;
  LoginResult out;
  out.access_token = access_token_for(user, session.id, now);
  out.expires_in = d_.config.access_token_ttl;
  out.refresh_token = std::move(refresh);
  out.session_id = session.id;
  out.user = std::move(user);
  co_return out;
}

std::string Service::csrf_token(std::string_view session_id) const {
  return crypto::keyed_tag(d_.data_key, "chatd csrf token v1", session_id);
}

Task<LoginResult> Service::refresh(std::string refresh_token, RequestMeta meta, std::optional<std::string> csrf) {
  std::int64_t now = d_.clock.now_ms();
  std::string hash = token_hash(refresh_token);
  std::string next = new_secret("rt_");
  std::vector<std::string> revoked;
  // nullopt: a reused token, whose session revocation must commit.
  using Outcome = std::optional<std::pair<User, Session>>;
  auto result = co_await run_blocking(d_.db_pool, [&]() -> Result<Outcome> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<Outcome> {
      auto token = db::find_refresh_token(c, hash);
      if (!token) return token.error();
      if (!token.value()) return fail(Code::unauthenticated, "the refresh token is not valid");
      auto session = db::find_session(c, token.value()->session_id);
      if (!session) return session.error();
      if (!session.value() || session.value()->revoked_at || session.value()->expires_at <= now ||
          token.value()->expires_at <= now)
        return fail(Code::unauthenticated, "the session has ended");
      // Before reuse detection: a forged cross-site request must not end a session.
      if (csrf && !crypto::constant_time_equal(*csrf, csrf_token(session.value()->id)))
        return fail(Code::permission_denied, "send this session's CSRF token in X-CSRF-Token", "forbidden");
      bool won = false;
      if (!token.value()->rotated_at) {
        auto rotated = db::mark_refresh_rotated(c, hash, now);
        if (!rotated) return rotated.error();
        won = rotated.value();
      }
      if (!won) {
        // A rotated token came back: it was stolen, or the client raced itself. Either
        // way the whole session ends (OAuth 2.0 Security BCP, refresh token reuse).
        auto ids = db::revoke_session(c, session.value()->id, now, "token_reused");
        if (!ids) return ids.error();
        revoked = ids.value();
        nlohmann::json detail = {{"session_id", session.value()->id}};
        if (auto r = db::insert_audit(
                c, AuditEvent{"token.reused", session.value()->user_id, std::nullopt, detail.dump()}, meta, now);
            !r)
          return r.error();
        return Outcome();
      }
      auto user = db::find_user_by_id(c, session.value()->user_id);
      if (!user) return user.error();
      if (!user.value() || user.value()->disabled_at) return fail(Code::unauthenticated, "the account is not active");
      std::int64_t expires = now + d_.config.refresh_token_ttl * 1000;
      if (auto r = db::insert_refresh_token(
              c, RefreshToken{token_hash(next), session.value()->id, now, expires, std::nullopt});
          !r)
        return r.error();
      if (auto r = db::touch_session(c, session.value()->id, now, expires); !r) return r.error();
      nlohmann::json detail = {{"session_id", session.value()->id}};
      if (auto r = db::insert_audit(c, AuditEvent{"token.refreshed", user.value()->id, user.value()->id, detail.dump()},
                                    meta, now);
          !r)
        return r.error();
      return Outcome(std::pair<User, Session>{std::move(*user.value()), std::move(*session.value())});
    });
  });
  if (!result) co_return result.error();
  if (!result.value()) {
    d_.authenticator.sessions_revoked(revoked);
    co_return fail(Code::unauthenticated, "this refresh token was already used; the session is revoked",
                   "token_reused");
  }
  auto& [user, session] = *result.value();
  LoginResult out;
  out.access_token = access_token_for(user, session.id, now);
  out.expires_in = d_.config.access_token_ttl;
  out.refresh_token = std::move(next);
  out.session_id = session.id;
  out.user = std::move(user);
  co_return out;
}

Task<bool> Service::logout(const Principal& who, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  auto revoked = co_await run_blocking(d_.db_pool, [&]() -> Result<std::vector<std::string>> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<std::vector<std::string>> {
      auto ids = db::revoke_session(c, who.session_id, now, "logout");
      if (!ids) return ids;
      nlohmann::json detail = {{"session_id", who.session_id}, {"reason", "logout"}};
      if (auto r =
              db::insert_audit(c, AuditEvent{"session.revoked", who.user_id, who.user_id, detail.dump()}, meta, now);
          !r)
        return r.error();
      return ids;
    });
  });
  if (!revoked) co_return revoked.error();
  d_.authenticator.sessions_revoked({who.session_id});
  co_return true;
}

Task<bool> Service::logout_by_refresh_token(std::string refresh_token, std::string csrf, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  std::string hash = token_hash(refresh_token);
  auto ended = co_await run_blocking(d_.db_pool, [&]() -> Result<std::vector<std::string>> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<std::vector<std::string>> {
      auto token = db::find_refresh_token(c, hash);
      if (!token) return token.error();
      // A rotated token still names its session: the cookie may be a step behind a refresh
      // another tab made, and signing out must work all the same.
      if (!token.value()) return fail(Code::unauthenticated, "the refresh token is not valid");
      auto session = db::find_session(c, token.value()->session_id);
      if (!session) return session.error();
      if (!session.value() || session.value()->revoked_at || session.value()->expires_at <= now)
        return fail(Code::unauthenticated, "the session has ended");
      if (!crypto::constant_time_equal(csrf, csrf_token(session.value()->id)))
        return fail(Code::permission_denied, "send this session's CSRF token in X-CSRF-Token", "forbidden");
      auto ids = db::revoke_session(c, session.value()->id, now, "logout");
      if (!ids) return ids.error();
      const std::string& user_id = session.value()->user_id;
      nlohmann::json detail = {{"session_id", session.value()->id}, {"reason", "logout"}};
      if (auto r = db::insert_audit(c, AuditEvent{"session.revoked", user_id, user_id, detail.dump()}, meta, now); !r)
        return r.error();
      return ids;
    });
  });
  if (!ended) co_return ended.error();
  d_.authenticator.sessions_revoked(ended.value());
  co_return true;
}

Task<bool> Service::logout_all(const Principal& who, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  auto revoked = co_await run_blocking(d_.db_pool, [&]() -> Result<std::vector<std::string>> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<std::vector<std::string>> {
      auto ids = db::revoke_user_sessions(c, who.user_id, now, "logout_all", std::nullopt);
      if (!ids) return ids;
      nlohmann::json detail = {{"count", ids.value().size()}};
      if (auto r = db::insert_audit(c, AuditEvent{"sessions.revoked_all", who.user_id, who.user_id, detail.dump()},
                                    meta, now);
          !r)
        return r.error();
      return ids;
    });
  });
  if (!revoked) co_return revoked.error();
  d_.authenticator.sessions_revoked(revoked.value());
  d_.authenticator.sessions_revoked({who.session_id});
  co_return true;
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

Task<std::vector<SessionView>> Service::sessions(const Principal& who) {
  std::int64_t now = d_.clock.now_ms();
  auto list = co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::list_active_sessions(c, who.user_id, now); });
  });
  if (!list) co_return list.error();
  std::vector<SessionView> out;
  for (auto& s : list.value()) {
    bool current = s.id == who.session_id;
    out.push_back(SessionView{std::move(s), current});
  }
  co_return out;
}

Task<bool> Service::delete_session(const Principal& who, std::string session_id, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  auto done = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto session = db::find_session(c, session_id);
      if (!session) return session.error();
      // Another user's session is indistinguishable from a missing one.
      if (!session.value() || session.value()->user_id != who.user_id || session.value()->revoked_at)
        return fail(Code::not_found, "no such session");
      if (auto r = db::revoke_session(c, session_id, now, "deleted"); !r) return r.error();
      nlohmann::json detail = {{"session_id", session_id}, {"reason", "deleted"}};
      return db::insert_audit(c, AuditEvent{"session.revoked", who.user_id, who.user_id, detail.dump()}, meta, now);
    });
  });
  if (!done) co_return done.error();
  d_.authenticator.sessions_revoked({session_id});
  co_return true;
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
  if (auto limited = mail_limited(d_.limiter, d_.config, "reset", email, now)) co_return *limited;
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

Task<std::string> Service::rotate_keys(const Principal& who, RequestMeta meta) {
  auto kid = co_await run_blocking(d_.db_pool, [&]() { return d_.keys.rotate(); });
  if (!kid) co_return kid.error();
  std::int64_t now = d_.clock.now_ms();
  nlohmann::json detail = {{"kid", kid.value()}};
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) {
      return db::insert_audit(c, AuditEvent{"key.rotated", std::nullopt, who.user_id, detail.dump()}, meta, now);
    });
  });
  if (!st) d_.log.error("audit.failed").str("event", "key.rotated").str("error", st.error().internal);
  co_return kid;
}

Result<bool> Service::use_second_factor(store::Connection& c, const std::string& user_id, const std::string& code,
                                        std::int64_t now, const RequestMeta& meta) {
  auto totp = db::find_totp(c, user_id);
  if (!totp) return totp.error();
  if (!totp.value() || !totp.value()->enabled_at) return false;
  if (looks_like_recovery_code(code)) {
    auto used = db::use_recovery_code(c, user_id, recovery_code_hash(normalize_recovery_code(code)), now);
    if (!used) return used.error();
    if (used.value())
      if (auto r = db::insert_audit(c, AuditEvent("recovery_code.used", user_id, user_id), meta, now); !r)
        return r.error();
    return used.value();
  }
  auto secret = crypto::open(d_.data_key, totp.value()->secret_sealed, "totp:" + user_id);
  if (!secret) return internal_error("cannot unseal a TOTP secret (wrong master key?)");
  auto step = verify_totp(*secret, code, now / 1000, totp.value()->last_used_step.value_or(-1));
  if (!step) return false;
  // The conditional update makes the step single-use even between concurrent logins.
  return db::use_totp_step(c, user_id, *step);
}

Task<TotpSetup> Service::totp_setup(const Principal& who, RequestMeta meta) {
  (void)meta;
  auto user = co_await me(who);
  if (!user) co_return user.error();
  if (user.value().totp_enabled) co_return fail(Code::conflict, "two-factor authentication is already enabled");
  TotpSetup out;
  out.secret = new_totp_secret();
  out.otpauth_uri = otpauth_uri("chatd", user.value().email, out.secret);
  out.qr_svg = qr_svg(out.otpauth_uri);
  auto raw = decode_base32(out.secret);
  if (!raw) co_return internal_error("a generated TOTP secret did not decode");
  std::string sealed = crypto::seal(d_.data_key, std::span<const std::uint8_t>(*raw), "totp:" + who.user_id);
  std::int64_t now = d_.clock.now_ms();
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto existing = db::find_totp(c, who.user_id);
      if (!existing) return existing.error();
      if (existing.value() && existing.value()->enabled_at)
        return fail(Code::conflict, "two-factor authentication is already enabled");
      return db::put_pending_totp(c, who.user_id, sealed, now);
    });
  });
  if (!st) co_return st.error();
  co_return out;
}

Task<std::vector<std::string>> Service::totp_verify(const Principal& who, std::string code, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  std::vector<std::string> codes = new_recovery_codes();
  std::vector<std::string> hashes;
  hashes.reserve(codes.size());
  for (const auto& c : codes) hashes.push_back(recovery_code_hash(normalize_recovery_code(c)));
  auto enabled = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      Error wrong = fail(Code::unauthenticated, "the one-time code is wrong", "invalid_otp");
      auto totp = db::find_totp(c, who.user_id);
      if (!totp) return totp.error();
      if (!totp.value()) return fail(Code::conflict, "start with POST /auth/2fa/setup");
      if (totp.value()->enabled_at) return fail(Code::conflict, "two-factor authentication is already enabled");
      auto secret = crypto::open(d_.data_key, totp.value()->secret_sealed, "totp:" + who.user_id);
      if (!secret) return internal_error("cannot unseal a TOTP secret (wrong master key?)");
      auto step = verify_totp(*secret, code, now / 1000, -1);
      if (!step) return wrong;
      auto done = db::enable_totp(c, who.user_id, now, *step);
      if (!done) return done.error();
      if (!done.value()) return fail(Code::conflict, "two-factor authentication is already enabled");
      if (auto r = db::replace_recovery_codes(c, who.user_id, hashes, now); !r) return r;
      return db::insert_audit(c, AuditEvent("totp.enabled", who.user_id, who.user_id), meta, now);
    });
  });
  if (!enabled) co_return enabled.error();
  users_.forget(who.user_id);
  co_return codes;
}

Task<bool> Service::totp_disable(const Principal& who, std::string password, std::string code, RequestMeta meta) {
  auto found = co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::find_user_by_id(c, who.user_id); });
  });
  if (!found) co_return found.error();
  if (!found.value()) co_return fail(Code::unauthenticated, "the account no longer exists");
  auto good = co_await verify_password(found.value()->password_hash, password);
  if (!good) co_return good.error();
  if (!good.value()) co_return fail(Code::unauthenticated, "the password is wrong", "invalid_credentials");
  std::int64_t now = d_.clock.now_ms();
  auto done = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto used = use_second_factor(c, who.user_id, code, now, meta);
      if (!used) return used.error();
      if (!used.value()) return fail(Code::unauthenticated, "the one-time code is wrong or used", "invalid_otp");
      if (auto r = db::delete_totp(c, who.user_id); !r) return r;
      return db::insert_audit(c, AuditEvent("totp.disabled", who.user_id, who.user_id), meta, now);
    });
  });
  if (!done) co_return done.error();
  users_.forget(who.user_id);
  co_return true;
}

}  // namespace chatd::auth
