// auth::Service's shared parts: construction, the /auth/me user cache, password checks
// and hashing on the hash pool, token secrets and signing-key rotation. The account rules
// are in service_accounts.cpp, sessions in service_sessions.cpp, two-factor
// authentication in service_two_factor.cpp.
#include "auth/service.hpp"

#include "auth/password_policy.hpp"
#include "auth/service_internal.hpp"
#include "auth/store/audit.hpp"
#include "core/async.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/password_hash.hpp"
#include "crypto/random.hpp"

#include <array>

namespace chatd::auth {

namespace internal {

std::string new_secret(std::string_view prefix) {
  std::array<std::uint8_t, 32> raw{};
  crypto::random_bytes(raw);
  return std::string(prefix) + crypto::base64url_encode(raw);
}

std::string token_hash(std::string_view token) { return crypto::sha256_hex(token); }

}  // namespace internal

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

Task<std::string> Service::rotate_keys(const Principal& who, RequestMeta meta) {
  auto kid = co_await run_blocking(d_.db_pool, [&]() { return d_.keys.rotate(); });
  if (!kid) co_return kid.error();
  d_.authenticator.signing_keys_changed();
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

}  // namespace chatd::auth
