// auth::Service, sessions: login (with the lockout and the second factor), access tokens,
// refresh-token rotation with reuse detection, sign-out and the list of sessions.
#include "auth/service.hpp"
#include "auth/service_internal.hpp"
#include "auth/store/audit.hpp"
#include "auth/store/lockout.hpp"
#include "auth/store/refresh_tokens.hpp"
#include "auth/store/sessions.hpp"
#include "auth/store/users.hpp"
#include "auth/validation.hpp"
#include "core/ascii.hpp"
#include "core/async.hpp"
#include "core/ids.hpp"
#include "crypto/aead.hpp"
#include "crypto/hash.hpp"
#include "crypto/password_hash.hpp"

#include <nlohmann/json.hpp>

namespace chatd::auth {

using internal::new_secret;
using internal::token_hash;

namespace {

Error invalid_credentials() {
  return fail(Code::unauthenticated, "the login or the password is wrong", "invalid_credentials");
}

}  // namespace

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

Task<LoginResult> Service::login(std::string login, std::string password, std::optional<std::string> otp,
                                 RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  // An e-mail address is looked up in the form it was stored in; a username as it is
  // (matched case-insensitively).
  if (login.find('@') != std::string::npos) login = normalize_email(login);
  // Per-account limit on top of the per-IP one the route applies (by the name typed here, by
  // the account once it is found).
  auto decision =
      co_await d_.limiter.hit("login:account:" + ascii_lower(login), d_.config.rate_limits.at("login"), now);
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
  // The same limit per account, whichever of its names (username, e-mail) was typed: the
  // check above is by spelling, so that it refuses before anything is looked up.
  auto per_user =
      co_await d_.limiter.hit("login:user:" + user.id, d_.config.rate_limits.at("login"), d_.clock.now_ms());
  if (!per_user.allowed) {
    Error e = fail(Code::rate_limited, "too many login attempts for this account; try again later");
    e.retry_after_seconds = per_user.retry_after_seconds;
    co_return e;
  }
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

}  // namespace chatd::auth
