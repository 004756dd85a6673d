#pragma once
// Access-token checks on the hot path. A verified token is cached until it expires, so a
// repeated token costs one hash lookup instead of a signature check; the session behind
// it is checked against the database at most once a second (shared by every token of the
// session), and a session revoked on this instance is refused at once, never served from
// a cache. Both caches are bounded. A token signed with a key this instance has not loaded
// yet (rotated on another instance) makes it reload the keys, at most once a second.

#include "auth/cluster_events.hpp"
#include "auth/keys.hpp"
#include "core/authenticator.hpp"
#include "core/log.hpp"
#include "core/principal.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "store/database.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace chatd::auth {

struct TokenAuthenticatorOptions {
  std::string issuer;
  std::string audience = "chatd";
  std::int64_t session_check_ms = 1000;  // how long "this session is active" may be reused
  std::size_t max_cached_tokens = 100000;
  std::size_t max_cached_sessions = 100000;
};

class TokenAuthenticator final : public Authenticator {
 public:
  TokenAuthenticator(KeyRing& keys, store::Database& db, WorkerPool& db_pool, const Clock& clock, Logger& log,
                     TokenAuthenticatorOptions options);

  boost::asio::awaitable<Result<Principal>> authenticate(std::string_view token) override;

  // Where the changes below are announced to the other instances (set before serving).
  void announce_with(Announce announce) { announce_ = std::move(announce); }

  // Sessions revoked on this instance: their tokens are refused from now on, here and
  // (announced) on every other instance.
  void sessions_revoked(const std::vector<std::string>& session_ids);
  // A user's roles or state changed on this instance: re-read their sessions at once.
  void user_changed(const std::string& user_id);
  // The signing keys were rotated on this instance: the others reload theirs.
  void signing_keys_changed();

  // The same changes heard from another instance (not announced again).
  void revoked_elsewhere(const std::vector<std::string>& session_ids);
  void user_changed_elsewhere(const std::string& user_id);
  // Announcements may have been missed (the channel was down): every cached "active"
  // session is checked against the database again on its next use.
  void recheck_sessions();

 private:
  struct CachedToken {
    Principal principal;
    std::int64_t expires_ms;
  };
  struct SessionState {
    bool active;
    std::int64_t checked_ms;
    std::int64_t expires_ms;
    std::vector<std::string> roles;  // the user's roles now, not when the token was issued
  };
  // `unknown_kid` is set when the token names a key this instance does not know (yet).
  Result<Principal> verify(std::string_view token, std::int64_t now_ms, std::int64_t& expires_ms,
                           bool& unknown_kid) const;
  boost::asio::awaitable<void> reload_keys(std::int64_t now_ms);

  KeyRing& keys_;
  store::Database& db_;
  WorkerPool& db_pool_;
  const Clock& clock_;
  Logger& log_;
  TokenAuthenticatorOptions options_;
  Announce announce_;
  std::atomic<std::int64_t> keys_reloaded_ms_{0};  // a token with an unknown key reloads at most once a second
  std::mutex mu_;
  std::unordered_map<std::string, CachedToken> tokens_;
  std::unordered_map<std::string, SessionState> sessions_;
  std::unordered_map<std::string, std::vector<std::string>> sessions_by_user_;
};

}  // namespace chatd::auth
