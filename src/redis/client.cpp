#include "redis/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/this_coro.hpp>

namespace chatd::redis {

namespace asio = boost::asio;

Client::Client(ConnectionOptions options, Logger& log) : options_(std::move(options)), log_(log) {}

Client::~Client() { stop(); }

void Client::subscribe(std::vector<std::string> channels, Connection::MessageFn on_message,
                       std::function<void()> on_subscribed) {
  channels_ = std::move(channels);
  on_message_ = std::move(on_message);
  on_subscribed_ = std::move(on_subscribed);
}

void Client::attach(const std::vector<asio::io_context*>& contexts) {
  for (asio::io_context* ioc : contexts) {
    auto c = std::make_shared<Connection>(*ioc, options_, log_);
    c->start();
    connections_.push_back(std::move(c));
  }
  if (!channels_.empty() && !contexts.empty()) {
    subscriber_ = std::make_shared<Connection>(*contexts.front(), options_, log_);
    subscriber_->start_subscriber(channels_, on_message_, on_subscribed_);
  }
}

void Client::stop() {
  // The contexts are not running: nothing else touches the connections now. Handlers still
  // queued on a context keep their connection alive until the context destroys them.
  for (auto& c : connections_) c->stop();
  connections_.clear();
  if (subscriber_) subscriber_->stop();
  subscriber_.reset();
}

Client::Stats Client::stats() const {
  Stats s;
  for (const auto& c : connections_) {
    ++s.connections;
    if (c->ready()) ++s.ready;
  }
  if (subscriber_) {
    ++s.connections;
    if (subscriber_->ready()) ++s.ready;
  }
  return s;
}

asio::awaitable<Result<Reply>> Client::command(std::vector<std::string> args) {
  auto executor = co_await asio::this_coro::executor;
  const asio::execution_context* here = &asio::query(executor, asio::execution::context);
  for (const auto& c : connections_)
    if (static_cast<const asio::execution_context*>(&c->context()) == here)
      co_return co_await c->command(std::move(args));
  co_return fail(Code::unavailable, "no Redis connection on this thread");
}

asio::awaitable<Status> Client::ping() {
  std::vector<std::string> args{"PING"};
  auto reply = co_await command(std::move(args));
  if (!reply) co_return reply.error();
  if (reply.value().is_error()) co_return fail(Code::unavailable, "Redis answered " + reply.value().str);
  co_return ok();
}

void Client::publish(std::string channel, std::string message) {
  if (connections_.empty()) return;
  std::shared_ptr<Connection> c = connections_.front();
  asio::post(c->context(), [this, c, channel = std::move(channel), message = std::move(message)]() mutable {
    asio::co_spawn(
        c->context(),
        [](Client* self, std::shared_ptr<Connection> conn, std::string ch, std::string msg) -> asio::awaitable<void> {
          std::vector<std::string> args{"PUBLISH", ch, std::move(msg)};
          auto reply = co_await conn->command(std::move(args));
          if (!reply || reply.value().is_error())
            self->log_.warn("redis.publish_failed")
                .str("channel", ch)
                .str("error", reply ? reply.value().str : reply.error().detail);
        }(this, c, std::move(channel), std::move(message)),
        asio::detached);
  });
}

}  // namespace chatd::redis
