#pragma once
// The account rules: registration, e-mail verification, login with lockout, sessions
// with rotating refresh tokens and reuse detection, password change and reset, signing
// key rotation. No HTTP here: callers pass plain values and get Result<T>. Every step
// that blocks (database, Argon2id, password policy) runs on a worker pool and is
// awaited, so the coroutines can be driven from network threads.

#include "auth/keys.hpp"
#include "auth/model.hpp"
#include "auth/store.hpp"
#include "auth/token_authenticator.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "crypto/aead.hpp"
#include "limits/rate_limiter.hpp"
#include "mail/mailer.hpp"
#include "store/database.hpp"

#include <boost/asio/awaitable.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chatd::auth {

template <class T>
using Task = boost::asio::awaitable<Result<T>>;

struct LoginResult {
  std::string access_token;
  std::int64_t expires_in = 0;  // seconds
  std::string refresh_token;
  std::string session_id;
  User user;
};

struct SessionView {
  Session session;
  bool current = false;
};

struct ServiceDeps {
  store::Database& db;
  WorkerPool& db_pool;    // database calls
  WorkerPool& hash_pool;  // Argon2id and password checks: one thread per core, bounded queue
  KeyRing& keys;
  TokenAuthenticator& authenticator;
  mail::Mailer& mailer;
  limits::RateLimiter& limiter;
  const config::Config& config;
  const Clock& clock;
  Logger& log;
  const crypto::DataKey& data_key;  // seals TOTP secrets at rest
};

struct TotpSetup {
  std::string secret;  // base32
  std::string otpauth_uri;
  std::string qr_svg;
};

class Service {
 public:
  explicit Service(ServiceDeps deps);

  Task<User> register_user(std::string email, std::string username, std::string password,
                           std::optional<std::string> invite_code, RequestMeta meta);
  // Always succeeds from the caller's point of view (no account enumeration).
  Task<bool> request_verification(std::string email, RequestMeta meta);
  Task<User> confirm_verification(std::string token, RequestMeta meta);

  Task<LoginResult> login(std::string login, std::string password, std::optional<std::string> otp, RequestMeta meta);
  // `csrf`: the X-CSRF-Token of a browser session whose refresh token came in its cookie
  // (API.md, Web sessions); nullopt when the token came in the body. A missing or wrong one
  // answers Code::permission_denied ("forbidden") and changes nothing.
  Task<LoginResult> refresh(std::string refresh_token, RequestMeta meta,
                            std::optional<std::string> csrf = std::nullopt);
  Task<bool> logout(const Principal& who, RequestMeta meta);
  // Sign-out of a browser session by its cookie's refresh token (no access token needed:
  // it may have expired). The session's CSRF token must come with it.
  Task<bool> logout_by_refresh_token(std::string refresh_token, std::string csrf, RequestMeta meta);
  // The CSRF token of a session: a keyed tag of its id, so that every instance sharing the
  // data key agrees on it without storing it. Constant for the session's life.
  std::string csrf_token(std::string_view session_id) const;
  Task<bool> logout_all(const Principal& who, RequestMeta meta);

  Task<User> me(const Principal& who);
  Task<std::vector<SessionView>> sessions(const Principal& who);
  Task<bool> delete_session(const Principal& who, std::string session_id, RequestMeta meta);

  Task<bool> change_password(const Principal& who, std::string current_password, std::string new_password,
                             RequestMeta meta);
  Task<bool> request_password_reset(std::string email, RequestMeta meta);
  Task<bool> confirm_password_reset(std::string token, std::string new_password, RequestMeta meta);

  Task<std::string> rotate_keys(const Principal& who, RequestMeta meta);

  // Two-factor authentication (RFC 6238).
  Task<TotpSetup> totp_setup(const Principal& who, RequestMeta meta);
  Task<std::vector<std::string>> totp_verify(const Principal& who, std::string code, RequestMeta meta);
  Task<bool> totp_disable(const Principal& who, std::string password, std::string code, RequestMeta meta);

  // Another part of the server changed this user (administration): drop cached copies.
  void forget_user(const std::string& user_id) {
    users_.forget(user_id);
    d_.authenticator.user_changed(user_id);
  }

 private:
  // Normalises and checks a new password; field errors name `field`.
  Task<std::string> acceptable_password(std::string password, std::string field, std::vector<std::string> user_inputs);
  Task<std::string> hash_password(std::string normalized);
  Task<bool> verify_password(std::string encoded, std::string password);
  // Errors: Code::locked when a parallel attempt locked the account meanwhile.
  Task<LoginResult> start_session(User user, db::LoginAttempt attempt, RequestMeta meta);
  // Checks a TOTP code or a recovery code for a user with 2FA enabled, using it up.
  // Returns false for a wrong, replayed or used code.
  Result<bool> use_second_factor(store::Connection& c, const std::string& user_id, const std::string& code,
                                 std::int64_t now, const RequestMeta& meta);
  void send_verification(const User& user, const std::string& token);
  std::string access_token_for(const User& user, const std::string& session_id, std::int64_t now);

  // GET /auth/me is the hottest account call; the user record is reused for up to a second
  // and dropped at once when this instance changes it. Bounded.
  class UserCache {
   public:
    std::optional<User> get(const std::string& id, std::int64_t now_ms);
    void put(const User& user, std::int64_t now_ms);
    void forget(const std::string& id);

   private:
    static constexpr std::int64_t kFreshMs = 1000;
    static constexpr std::size_t kMaxEntries = 100000;
    std::mutex mu_;
    std::unordered_map<std::string, std::pair<User, std::int64_t>> entries_;
  };

  ServiceDeps d_;
  UserCache users_;
};

}  // namespace chatd::auth
