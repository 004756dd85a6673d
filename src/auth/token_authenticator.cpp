#include "auth/token_authenticator.hpp"

#include "auth/jwt.hpp"
#include "auth/store/roles.hpp"
#include "auth/store/sessions.hpp"
#include "core/async.hpp"

#include <algorithm>

namespace chatd::auth {

namespace {

// Drops expired entries; if that frees nothing, drops everything (a cache, not a store).
template <class Map, class Expired>
void make_room(Map& map, std::size_t cap, Expired expired) {
  if (map.size() < cap) return;
  for (auto it = map.begin(); it != map.end();) it = expired(it->second) ? map.erase(it) : std::next(it);
  if (map.size() >= cap) map.clear();
}

}  // namespace

TokenAuthenticator::TokenAuthenticator(KeyRing& keys, store::Database& db, WorkerPool& db_pool, const Clock& clock,
                                       Logger& log, TokenAuthenticatorOptions options)
    : keys_(keys), db_(db), db_pool_(db_pool), clock_(clock), log_(log), options_(std::move(options)) {}

Result<Principal> TokenAuthenticator::verify(std::string_view token, std::int64_t now_ms, std::int64_t& expires_ms,
                                             bool& unknown_kid) const {
  VerifyOptions opt;
  opt.issuer = options_.issuer;
  opt.audience = options_.audience;
  opt.now_seconds = now_ms / 1000;
  unknown_kid = false;
  auto claims = verify_jwt(
      token,
      [this, &unknown_kid](std::string_view kid) {
        auto key = keys_.public_key(kid);
        unknown_kid = !key;
        return key;
      },
      opt);
  if (!claims) return claims.error();
  const auto& c = claims.value();
  Principal p;
  p.user_id = c.at("sub").get<std::string>();
  p.session_id = c.at("sid").get<std::string>();
  p.token_id = c.at("jti").get<std::string>();
  if (auto roles = c.find("roles"); roles != c.end() && roles->is_array())
    for (const auto& r : *roles)
      if (r.is_string()) p.roles.push_back(r.get<std::string>());
  expires_ms = c.at("exp").get<std::int64_t>() * 1000;
  return p;
}

boost::asio::awaitable<Result<Principal>> TokenAuthenticator::authenticate(std::string_view token) {
  std::int64_t now = clock_.now_ms();
  std::optional<Principal> principal;
  std::optional<SessionState> session;
  {
    std::lock_guard lock(mu_);
    if (auto it = tokens_.find(std::string(token)); it != tokens_.end()) {
      if (it->second.expires_ms > now)
        principal = it->second.principal;
      else
        tokens_.erase(it);
    }
  }
  if (!principal) {
    std::int64_t expires_ms = 0;
    bool unknown_kid = false;
    auto verified = verify(token, now, expires_ms, unknown_kid);
    if (!verified && unknown_kid && now - keys_reloaded_ms_.load(std::memory_order_relaxed) >= 1000) {
      co_await reload_keys(now);
      verified = verify(token, now, expires_ms, unknown_kid);
    }
    if (!verified) co_return verified.error();
    principal = verified.value();
    std::lock_guard lock(mu_);
    make_room(tokens_, options_.max_cached_tokens, [now](const CachedToken& t) { return t.expires_ms <= now; });
    tokens_.emplace(std::string(token), CachedToken{*principal, expires_ms});
  }

  {
    std::lock_guard lock(mu_);
    if (auto it = sessions_.find(principal->session_id); it != sessions_.end()) session = it->second;
  }
  bool fresh = session && (!session->active || now - session->checked_ms < options_.session_check_ms);
  if (!fresh) {
    std::string sid = principal->session_id;
    auto state = co_await run_blocking(db_pool_, [&]() -> Result<SessionState> {
      return store::read(db_, [&](store::Connection& c) -> Result<SessionState> {
        auto found = db::check_session(c, sid);
        if (!found) return found.error();
        if (!found.value()) return SessionState{false, now, 0, {}};
        const db::SessionCheck& s = *found.value();
        bool active = !s.revoked && s.expires_at > now && !s.user_disabled;
        auto roles = db::find_roles(c, s.user_id);
        if (!roles) return roles.error();
        return SessionState{active, now, s.expires_at, std::move(roles).value()};
      });
    });
    if (!state) {
      // The request is refused with 503 (or 500); the cause is an operator's concern.
      log_.warn("auth.session_check_failed").str("error", state.error().internal);
      co_return state.error();
    }
    std::lock_guard lock(mu_);
    // A revocation recorded while the query ran wins over what the query saw.
    auto it = sessions_.find(sid);
    if (it != sessions_.end() && !it->second.active) {
      session = it->second;
    } else {
      make_room(sessions_, options_.max_cached_sessions, [now](const SessionState& s) { return s.expires_ms <= now; });
      sessions_[sid] = state.value();
      auto& list = sessions_by_user_[principal->user_id];
      if (std::find(list.begin(), list.end(), sid) == list.end()) list.push_back(sid);
      if (sessions_by_user_.size() > options_.max_cached_sessions) sessions_by_user_.clear();
      session = state.value();
    }
  }
  if (!session->active || session->expires_ms <= now) co_return fail(Code::unauthenticated, "the session has ended");
  principal->roles = session->roles;  // a role change takes effect within a second
  co_return std::move(*principal);
}

boost::asio::awaitable<void> TokenAuthenticator::reload_keys(std::int64_t now_ms) {
  keys_reloaded_ms_.store(now_ms, std::memory_order_relaxed);
  auto st = co_await run_blocking(db_pool_, [&]() { return keys_.load(); });
  if (!st)
    log_.warn("auth.keys_reload_failed")
        .str("error", st.error().internal.empty() ? st.error().detail : st.error().internal);
}

void TokenAuthenticator::sessions_revoked(const std::vector<std::string>& session_ids) {
  revoked_elsewhere(session_ids);
  if (announce_ && !session_ids.empty()) announce_({ClusterEvent::Kind::sessions_revoked, session_ids});
}

void TokenAuthenticator::user_changed(const std::string& user_id) {
  user_changed_elsewhere(user_id);
  if (announce_) announce_({ClusterEvent::Kind::user_changed, {user_id}});
}

void TokenAuthenticator::signing_keys_changed() {
  if (announce_) announce_({ClusterEvent::Kind::signing_keys_changed, {}});
}

void TokenAuthenticator::revoked_elsewhere(const std::vector<std::string>& session_ids) {
  std::int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  for (const auto& id : session_ids) sessions_[id] = SessionState{false, now, now + 86'400'000, {}};
}

void TokenAuthenticator::user_changed_elsewhere(const std::string& user_id) {
  std::lock_guard lock(mu_);
  auto it = sessions_by_user_.find(user_id);
  if (it == sessions_by_user_.end()) return;
  for (const auto& sid : it->second) {
    auto s = sessions_.find(sid);
    if (s != sessions_.end() && s->second.active) sessions_.erase(s);  // re-read on next use
  }
  sessions_by_user_.erase(it);
}

void TokenAuthenticator::recheck_sessions() {
  std::lock_guard lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = it->second.active ? sessions_.erase(it) : std::next(it);
  sessions_by_user_.clear();
}

}  // namespace chatd::auth
