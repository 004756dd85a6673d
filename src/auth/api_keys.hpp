#pragma once
// API keys: long-lived secrets for programs calling the OpenAI-compatible /v1 routes.
// A key is "ck_" + an 8-character id shown in lists + "_" + 256 random bits (base64url);
// only its SHA-256 is stored, so the key is shown once, when it is created.
//
// ApiKeys is the management side (create, list, delete); ApiKeyAuthenticator turns a
// presented key into a Principal on the hot path. No HTTP here.

#include "auth/cluster_events.hpp"
#include "auth/model.hpp"
#include "core/authenticator.hpp"
#include "core/log.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "store/database.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatd::auth {

struct NewApiKey {
  ApiKey key;
  std::string secret;  // the whole key; never stored, shown once
};

// A fresh key in the format above.
std::string new_api_key();
// Whether `text` has the shape of a key (prefix, lengths, alphabet); says nothing about
// whether it exists. Lets the authenticator refuse garbage without a database round trip.
bool looks_like_api_key(std::string_view text);
// "ck_" + the visible id part of a key that looks_like_api_key.
std::string api_key_prefix(std::string_view key);

struct ApiKeyAuthenticatorOptions {
  std::int64_t cache_ms = 5000;            // how long "this key is valid" may be reused
  std::int64_t touch_interval_ms = 60000;  // last_used_at is written at most this often per key
  std::size_t max_cached_keys = 100000;
};

// Checks API keys for the /v1 routes. A verified key is reused for up to cache_ms, so a
// key revoked on another instance (or its user disabled) stops working within that time;
// a key deleted on this instance is refused at once. last_used_at is written at most once
// per touch_interval_ms per key, on the worker pool, without the caller waiting for it.
class ApiKeyAuthenticator final : public Authenticator {
 public:
  ApiKeyAuthenticator(store::Database& db, WorkerPool& db_pool, const Clock& clock, Logger& log,
                      ApiKeyAuthenticatorOptions options = {});

  // Principal{user_id, api_key_id, roles}. Errors: Code::unauthenticated for a malformed,
  // unknown, revoked or expired key or a disabled user; Code::unavailable when the database
  // cannot be asked right now.
  boost::asio::awaitable<Result<Principal>> authenticate(std::string_view key) override;
  // The answer from the cache (a key checked within cache_ms, or one refused at once);
  // nullopt when the database must be asked.
  std::optional<Result<Principal>> authenticate_now(std::string_view key) override;

  // Where key_revoked is announced to the other instances (set before serving).
  void announce_with(Announce announce) { announce_ = std::move(announce); }
  // The key was deleted on this instance: refuse it from now on, whatever is cached, here
  // and (announced) on every other instance.
  void key_revoked(const std::string& key_id);
  // The same, heard from another instance.
  void key_revoked_elsewhere(const std::string& key_id);
  // The user was disabled or changed roles on this instance: check their keys again.
  void forget_user(const std::string& user_id);

 private:
  struct Cached {
    Principal principal;
    std::optional<std::int64_t> expires_at;
    std::int64_t checked_ms = 0;
    std::optional<std::int64_t> last_used_ms;  // as far as this instance knows
  };
  // Marks the key used now if its last use is older than touch_interval_ms; then writes
  // last_used_at in the background.
  void touch(const std::string& key_hash, std::int64_t now);
  // authenticate_now() for a key of the right shape and its hash.
  std::optional<Result<Principal>> from_cache(const std::string& key_hash, std::int64_t now);

  store::Database& db_;
  WorkerPool& db_pool_;
  const Clock& clock_;
  Logger& log_;
  ApiKeyAuthenticatorOptions options_;
  Announce announce_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> keys_;               // by key hash
  std::unordered_map<std::string, std::int64_t> revoked_ids_;  // key id -> when revoked here
};

struct ApiKeysDeps {
  store::Database& db;
  WorkerPool& db_pool;
  ApiKeyAuthenticator& authenticator;
  const Clock& clock;
  Logger& log;
};

class ApiKeys {
 public:
  explicit ApiKeys(ApiKeysDeps deps);

  // name: 1-100 characters after trimming surrounding whitespace, no control characters.
  // expires_at: epoch ms, must be in the future. Errors: validation (fields "name",
  // "expires_at"), Code::conflict when the user already has kMaxKeysPerUser keys.
  boost::asio::awaitable<Result<NewApiKey>> create(const Principal& who, std::string name,
                                                   std::optional<std::int64_t> expires_at, RequestMeta meta);
  // The user's keys that are not deleted (expired ones included), newest first.
  boost::asio::awaitable<Result<std::vector<ApiKey>>> list(const Principal& who);
  // Revokes the key. Errors: Code::not_found for an unknown, deleted or another user's key.
  boost::asio::awaitable<Result<bool>> remove(const Principal& who, std::string key_id, RequestMeta meta);

  // Keeps GET /api-keys (which has no pagination) bounded.
  static constexpr std::int64_t kMaxKeysPerUser = 100;

 private:
  ApiKeysDeps d_;
};

}  // namespace chatd::auth
