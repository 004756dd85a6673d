#include "auth/api_keys.hpp"

#include "auth/store/api_keys.hpp"
#include "auth/store/audit.hpp"
#include "auth/store/roles.hpp"
#include "core/async.hpp"
#include "core/ids.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"

#include <nlohmann/json.hpp>

#include <array>

namespace chatd::auth {

namespace {

constexpr std::string_view kKeyPrefix = "ck_";
constexpr std::size_t kVisibleChars = 8;
constexpr std::size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded
constexpr std::size_t kKeyChars = kKeyPrefix.size() + kVisibleChars + 1 + kSecretChars;
// 32 symbols, so a random byte maps onto it without bias (byte & 31); no '_' or '-', so the
// visible part never blurs into the separators around it.
constexpr std::string_view kVisibleAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kMaxNameChars = 100;
// Ids of keys revoked here are kept this long: far longer than any lookup that may have
// started before the revocation, after which the database answers for them.
constexpr std::int64_t kRevokedKeepMs = std::int64_t{10} * 60 * 1000;
constexpr std::size_t kMaxRevokedIds = 10000;

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

Error refused() { return fail(Code::unauthenticated, "the API key is invalid, expired or revoked"); }

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// What is wrong with a key name, if anything. The text is valid UTF-8 (the JSON parser
// checked), so characters are counted as bytes that do not continue a sequence.
std::optional<std::string> name_problem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  std::size_t chars = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    // C0 controls, DEL and C1 controls (U+0080-U+009F, UTF-8 C2 80-9F) would garble lists.
    if (c < 0x20 || c == 0x7f) return "must not contain control characters";
    if (c == 0xc2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) <= 0x9f)
      return "must not contain control characters";
    if ((c & 0xc0) != 0x80) ++chars;
  }
  if (chars > kMaxNameChars) return "must be at most 100 characters";
  return std::nullopt;
}

// Checks a new key's fields (a plain function: GCC 12 mishandles braced string lists
// inside coroutine bodies). Trims `name` in place.
std::optional<Error> invalid_new_key(std::string& name, const std::optional<std::int64_t>& expires_at,
                                     std::int64_t now) {
  std::vector<FieldError> fields;
  name = std::string(trim(name));
  if (auto problem = name_problem(name)) fields.push_back({"name", *problem});
  if (expires_at && *expires_at <= now) fields.push_back({"expires_at", "must be in the future"});
  if (fields.empty()) return std::nullopt;
  return Error::validation(std::move(fields));
}

}  // namespace

std::string new_api_key() {
  std::array<std::uint8_t, kVisibleChars> visible{};
  crypto::random_bytes(visible);
  std::array<std::uint8_t, 32> secret{};
  crypto::random_bytes(secret);
  std::string out(kKeyPrefix);
  for (auto b : visible) out += kVisibleAlphabet[b & 31];
  out += '_';
  out += crypto::base64url_encode(secret);
  return out;
}

bool looks_like_api_key(std::string_view text) {
  if (text.size() != kKeyChars || text.substr(0, kKeyPrefix.size()) != kKeyPrefix) return false;
  auto visible = text.substr(kKeyPrefix.size(), kVisibleChars);
  for (char c : visible)
    if (kVisibleAlphabet.find(c) == std::string_view::npos) return false;
  if (text[kKeyPrefix.size() + kVisibleChars] != '_') return false;
  for (char c : text.substr(kKeyPrefix.size() + kVisibleChars + 1))
    if (!base64url_char(c)) return false;
  return true;
}

std::string api_key_prefix(std::string_view key) {
  return std::string(key.substr(0, kKeyPrefix.size() + kVisibleChars));
}

// --- ApiKeyAuthenticator ----------------------------------------------------------------

ApiKeyAuthenticator::ApiKeyAuthenticator(store::Database& db, WorkerPool& db_pool, const Clock& clock, Logger& log,
                                         ApiKeyAuthenticatorOptions options)
    : db_(db), db_pool_(db_pool), clock_(clock), log_(log), options_(options) {}

std::optional<Result<Principal>> ApiKeyAuthenticator::from_cache(const std::string& hash, std::int64_t now) {
  std::optional<Result<Principal>> answer;  // built in place (GCC 12 misreads a moved Result)
  {
    std::lock_guard lock(mu_);
    auto it = keys_.find(hash);
    if (it == keys_.end()) return answer;
    const Cached& c = it->second;
    if (revoked_ids_.count(c.principal.api_key_id) != 0 || (c.expires_at && *c.expires_at <= now)) {
      keys_.erase(it);
      answer.emplace(refused());
      return answer;
    }
    if (now - c.checked_ms >= options_.cache_ms) return answer;
    answer.emplace(c.principal);
  }
  touch(hash, now);
  return answer;
}

std::optional<Result<Principal>> ApiKeyAuthenticator::authenticate_now(std::string_view key) {
  if (!looks_like_api_key(key)) {
    std::optional<Result<Principal>> answer;
    answer.emplace(refused());
    return answer;
  }
  // The cache is keyed by the hash, so no usable key sits in this process's memory.
  return from_cache(crypto::sha256_hex(key), clock_.now_ms());
}

boost::asio::awaitable<Result<Principal>> ApiKeyAuthenticator::authenticate(std::string_view key) {
  if (!looks_like_api_key(key)) co_return refused();
  std::int64_t now = clock_.now_ms();
  // The cache is keyed by the hash, so no usable key sits in this process's memory.
  std::string hash = crypto::sha256_hex(key);
  if (auto at_hand = from_cache(hash, now)) co_return std::move(*at_hand);
  bool refuse = false;
  std::optional<Principal> cached;

  auto loaded = co_await run_blocking(db_pool_, [&]() -> Result<std::optional<Cached>> {
    return store::read(db_, [&](store::Connection& c) -> Result<std::optional<Cached>> {
      auto found = db::check_api_key(c, hash);
      if (!found) return found.error();
      if (!found.value()) return std::optional<Cached>();
      db::ApiKeyCheck& stored = *found.value();
      if (stored.revoked || stored.user_disabled || (stored.expires_at && *stored.expires_at <= now))
        return std::optional<Cached>();
      Cached entry;
      entry.principal.api_key_id = std::move(stored.id);
      entry.principal.user_id = std::move(stored.user_id);
      entry.expires_at = stored.expires_at;
      entry.checked_ms = now;
      entry.last_used_ms = stored.last_used_at;
      auto roles = db::find_roles(c, entry.principal.user_id);
      if (!roles) return roles.error();
      entry.principal.roles = std::move(roles).value();
      return std::optional<Cached>(std::move(entry));
    });
  });
  if (!loaded) co_return loaded.error();
  {
    std::lock_guard lock(mu_);
    auto it = keys_.find(hash);
    // A revocation recorded here while the query ran wins over what the query saw.
    if (!loaded.value() || revoked_ids_.count(loaded.value()->principal.api_key_id) != 0) {
      if (it != keys_.end()) keys_.erase(it);
      refuse = true;
    } else {
      Cached& fresh = *loaded.value();
      // A last_used_at written by this instance may not have reached the database yet.
      if (it != keys_.end() && it->second.last_used_ms &&
          (!fresh.last_used_ms || *it->second.last_used_ms > *fresh.last_used_ms))
        fresh.last_used_ms = it->second.last_used_ms;
      if (it == keys_.end() && keys_.size() >= options_.max_cached_keys) {
        for (auto e = keys_.begin(); e != keys_.end();)
          e = now - e->second.checked_ms >= options_.cache_ms ? keys_.erase(e) : std::next(e);
        if (keys_.size() >= options_.max_cached_keys) keys_.clear();
      }
      cached = fresh.principal;
      keys_[hash] = std::move(fresh);
    }
  }
  if (refuse) co_return refused();
  touch(hash, now);
  co_return std::move(*cached);
}

void ApiKeyAuthenticator::touch(const std::string& key_hash, std::int64_t now) {
  std::string id;
  std::optional<std::int64_t> previous;
  {
    std::lock_guard lock(mu_);
    auto it = keys_.find(key_hash);
    if (it == keys_.end()) return;
    auto& last = it->second.last_used_ms;
    if (last && now - *last < options_.touch_interval_ms) return;
    previous = last;
    last = now;
    id = it->second.principal.api_key_id;
  }
  // Fire and forget: the caller's request does not wait for a bookkeeping write. The job
  // holds only what outlives the pool (the database and the log), never `this`.
  store::Database& db = db_;
  Logger& log = log_;
  std::int64_t threshold = now - options_.touch_interval_ms;
  bool queued = db_pool_.try_submit([&db, &log, id, now, threshold] {
    auto st = store::transact(db, [&](store::Connection& c) { return db::touch_api_key(c, id, now, threshold); });
    if (!st) log.warn("api_key.touch_failed").str("api_key_id", id).str("error", st.error().internal);
  });
  if (!queued) {
    // A busy pool: let a later request try again.
    std::lock_guard lock(mu_);
    if (auto it = keys_.find(key_hash); it != keys_.end() && it->second.last_used_ms == now)
      it->second.last_used_ms = previous;
  }
}

void ApiKeyAuthenticator::key_revoked(const std::string& key_id) {
  key_revoked_elsewhere(key_id);
  if (announce_) announce_({ClusterEvent::Kind::api_key_revoked, {key_id}});
}

void ApiKeyAuthenticator::key_revoked_elsewhere(const std::string& key_id) {
  std::int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  if (revoked_ids_.size() >= kMaxRevokedIds) {
    for (auto it = revoked_ids_.begin(); it != revoked_ids_.end();)
      it = now - it->second >= kRevokedKeepMs ? revoked_ids_.erase(it) : std::next(it);
  }
  revoked_ids_[key_id] = now;
}

void ApiKeyAuthenticator::forget_user(const std::string& user_id) {
  std::lock_guard lock(mu_);
  for (auto it = keys_.begin(); it != keys_.end();)
    it = it->second.principal.user_id == user_id ? keys_.erase(it) : std::next(it);
}

// --- ApiKeys ----------------------------------------------------------------------------

ApiKeys::ApiKeys(ApiKeysDeps deps) : d_(deps) {}

boost::asio::awaitable<Result<NewApiKey>> ApiKeys::create(const Principal& who, std::string name,
                                                          std::optional<std::int64_t> expires_at, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  if (auto invalid = invalid_new_key(name, expires_at, now)) co_return std::move(*invalid);

  NewApiKey out;
  out.secret = new_api_key();
  out.key.id = new_uuid_v7(now);
  out.key.user_id = who.user_id;
  out.key.name = std::move(name);
  out.key.prefix = api_key_prefix(out.secret);
  out.key.created_at = now;
  out.key.expires_at = expires_at;
  std::string hash = crypto::sha256_hex(out.secret);

  // Captures by reference only: GCC 12 destroys by-value captures of a lambda temporary
  // inside a co_await expression twice. The coroutine frame outlives the call.
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      const ApiKey& k = out.key;
      auto count = db::count_api_keys(c, k.user_id);
      if (!count) return count.error();
      if (count.value() >= kMaxKeysPerUser) return fail(Code::conflict, "you have too many API keys; delete one first");
      if (auto r = db::insert_api_key(c, k, hash); !r) return r;
      nlohmann::json detail = {{"api_key_id", k.id}, {"name", k.name}, {"prefix", k.prefix}};
      return db::insert_audit(c, AuditEvent{"api_key.created", k.user_id, who.user_id, detail.dump()}, meta, now);
    });
  });
  if (!st) co_return st.error();
  co_return out;
}

boost::asio::awaitable<Result<std::vector<ApiKey>>> ApiKeys::list(const Principal& who) {
  co_return co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::list_api_keys(c, who.user_id); });
  });
}

boost::asio::awaitable<Result<bool>> ApiKeys::remove(const Principal& who, std::string key_id, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  auto done = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      // Another user's key is indistinguishable from a missing one.
      auto revoked = db::revoke_api_key(c, key_id, who.user_id, now);
      if (!revoked) return revoked.error();
      if (!revoked.value()) return fail(Code::not_found, "no such API key");
      nlohmann::json detail = {{"api_key_id", key_id}};
      return db::insert_audit(c, AuditEvent{"api_key.deleted", who.user_id, who.user_id, detail.dump()}, meta, now);
    });
  });
  if (!done) co_return done.error();
  // Before the 204 goes out: from the caller's point of view the key stops working at once.
  d_.authenticator.key_revoked(key_id);
  co_return true;
}

}  // namespace chatd::auth
