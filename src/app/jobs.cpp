#include "app/jobs.hpp"

#include "core/time.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>
#include <stop_token>

namespace chatd::app {

Maintenance::Maintenance(limits::MemoryRateLimiter& limiter, auth::KeyRing& keys, Logger& log)
    : thread_([this, &limiter, &keys, &log](const std::stop_token& stop) {
        std::mutex mu;
        std::unique_lock lock(mu);
        while (!stop.stop_requested()) {
          cv_.wait_for(lock, stop, std::chrono::seconds(30), [] { return false; });
          if (stop.stop_requested()) break;
          limiter.sweep(system_now_ms());
          if (auto st = keys.load(); !st)
            log.warn("auth.keys_reload_failed")
                .str("error", st.error().internal.empty() ? st.error().detail : st.error().internal);
        }
      }) {}

Discovery::Discovery(llm::Gateway& gateway) : gateway_(gateway) {
  if (!gateway.needs_discovery()) return;
  boost::asio::co_spawn(ioc_, loop(), boost::asio::detached);
  thread_ = std::thread([this] { ioc_.run(); });
}

Discovery::~Discovery() {
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

boost::asio::awaitable<void> Discovery::loop() {
  boost::asio::steady_timer timer(ioc_);
  while (gateway_.needs_discovery()) {
    co_await gateway_.discover();
    if (!gateway_.needs_discovery()) break;
    timer.expires_after(std::chrono::seconds(30));
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
}

}  // namespace chatd::app
