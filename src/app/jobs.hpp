#pragma once
// The background jobs of a running chatd, each on a thread of its own and stopped by its
// destructor: upkeep every 30 s (rate-limit entries, signing keys) and the discovery of
// OpenAI-compatible servers' models.

#include "auth/keys.hpp"
#include "core/log.hpp"
#include "limits/memory_rate_limiter.hpp"
#include "llm/gateway.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <thread>

namespace chatd::app {

// Periodic upkeep off the network threads: forget expired rate-limit entries and re-read
// the signing keys (another instance may have rotated them).
class Maintenance {
 public:
  Maintenance(limits::MemoryRateLimiter& limiter, auth::KeyRing& keys, Logger& log);

 private:
  std::condition_variable_any cv_;
  std::jthread thread_;
};

// Asks OpenAI-compatible servers without a configured model list for their models, in the
// background, every 30 s until it works: a server that is down at startup does not stop
// chatd, and its models appear in /models once it answers.
class Discovery {
 public:
  explicit Discovery(llm::Gateway& gateway);
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

 private:
  boost::asio::awaitable<void> loop();

  llm::Gateway& gateway_;
  boost::asio::io_context ioc_{1};
  std::thread thread_;
};

}  // namespace chatd::app
