#pragma once
// Several instances on one Redis: what one instance changes, the others hear at once
// (auth/cluster_events.hpp). The authenticators announce over PUBLISH; the subscriber
// applies what the others announce. After every (re)subscription, announcements may have
// been missed while Redis was away, so every cached session is checked against the database
// again and the signing keys are reloaded.

#include "auth/api_keys.hpp"
#include "auth/keys.hpp"
#include "auth/token_authenticator.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "redis/client.hpp"

#include <string_view>

namespace chatd::app {

class Cluster {
 public:
  // Before redis.attach().
  Cluster(redis::Client& redis, auth::TokenAuthenticator& tokens, auth::ApiKeyAuthenticator& api_keys,
          auth::KeyRing& keys, WorkerPool& workers, Logger& log);

 private:
  void heard(std::string_view message);
  void reload_keys();

  auth::TokenAuthenticator& tokens_;
  auth::ApiKeyAuthenticator& api_keys_;
  auth::KeyRing& keys_;
  WorkerPool& workers_;
  Logger& log_;
};

}  // namespace chatd::app
