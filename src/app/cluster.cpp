#include "app/cluster.hpp"

namespace chatd::app {

Cluster::Cluster(redis::Client& redis, auth::TokenAuthenticator& tokens, auth::ApiKeyAuthenticator& api_keys,
                 auth::KeyRing& keys, WorkerPool& workers, Logger& log)
    : tokens_(tokens), api_keys_(api_keys), keys_(keys), workers_(workers), log_(log) {
  auto announce = [&redis](const auth::ClusterEvent& event) {
    redis.publish(std::string(auth::kClusterChannel), auth::encode_event(event));
  };
  tokens.announce_with(announce);
  api_keys.announce_with(announce);
  redis.subscribe(
      {std::string(auth::kClusterChannel)}, [this](std::string_view, std::string_view message) { heard(message); },
      [this] {
        tokens_.recheck_sessions();
        reload_keys();
      });
}

void Cluster::heard(std::string_view message) {
  auto event = auth::decode_event(message);
  if (!event) {
    log_.warn("cluster.unknown_message").num("bytes", static_cast<std::int64_t>(message.size()));
    return;
  }
  switch (event->kind) {
    case auth::ClusterEvent::Kind::sessions_revoked: tokens_.revoked_elsewhere(event->ids); break;
    case auth::ClusterEvent::Kind::user_changed:
      tokens_.user_changed_elsewhere(event->ids.front());
      api_keys_.forget_user(event->ids.front());
      break;
    case auth::ClusterEvent::Kind::api_key_revoked: api_keys_.key_revoked_elsewhere(event->ids.front()); break;
    case auth::ClusterEvent::Kind::signing_keys_changed: reload_keys(); break;
  }
}

// On a worker: loading reads the database.
void Cluster::reload_keys() {
  bool queued = workers_.try_submit([this] {
    if (auto st = keys_.load(); !st)
      log_.warn("auth.keys_reload_failed")
          .str("error", st.error().internal.empty() ? st.error().detail : st.error().internal);
  });
  if (!queued)
    log_.warn("auth.keys_reload_skipped").str("detail", "the worker queue is full; the periodic reload will catch up");
}

}  // namespace chatd::app
