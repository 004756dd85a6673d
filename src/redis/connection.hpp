#pragma once
// One connection to Redis, driven by the Asio loop of the io_context it belongs to: hiredis's
// async API with an adapter of our own for its read/write hooks (the socket is watched with
// async_wait; hiredis does the reading, writing and parsing). Nothing blocks: the host name
// is resolved asynchronously, the connect is non-blocking, and a command that gets no answer
// in time fails instead of waiting.
//
// Every member is used on the io_context's thread only (a network thread runs one context on
// one thread). While Redis is unreachable, commands fail at once with Code::unavailable and
// the connection retries with exponential backoff; callers fall back (the in-process rate
// limiter, the database check of sessions).

#include "core/log.hpp"
#include "core/result.hpp"
#include "redis/endpoint.hpp"
#include "redis/reply.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct redisAsyncContext;

namespace chatd::redis {

struct ConnectionOptions {
  Endpoint endpoint;
  std::size_t max_in_flight = 1024;  // commands sent and not yet answered; more fail at once
  std::chrono::milliseconds command_timeout{500};
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds backoff_min{100};  // first retry after a failure, doubling up to max
  std::chrono::milliseconds backoff_max{5000};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Messages of a subscribed connection: (channel, message).
  using MessageFn = std::function<void(std::string_view channel, std::string_view message)>;

  // Create with std::make_shared, then start().
  Connection(boost::asio::io_context& ioc, ConnectionOptions options, Logger& log);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects, and reconnects after every failure until stop(). For a subscriber, `channels`
  // are subscribed on every (re)connection and `on_message` gets what they publish; such a
  // connection takes no other commands; `on_subscribed` runs after every (re)subscription
  // (messages published while it was away are lost: the caller catches up).
  void start();
  void start_subscriber(std::vector<std::string> channels, MessageFn on_message,
                        std::function<void()> on_subscribed = {});
  // Disconnects for good; pending commands fail. Safe to call more than once.
  void stop();

  // One command, e.g. {"EVALSHA", sha, "1", key, ...}. The reply (a Redis error reply is a
  // reply, not an Error), or Code::unavailable: not connected, too many in flight, no answer
  // within command_timeout, or the connection dropped meanwhile.
  boost::asio::awaitable<Result<Reply>> command(std::vector<std::string> args);

  // Connected, authenticated and its database selected. Safe from any thread (metrics).
  bool ready() const { return ready_.load(std::memory_order_relaxed); }
  boost::asio::io_context& context() { return ioc_; }
  // Successful connections so far (a reconnect counts again).
  std::uint64_t connects() const { return connects_; }

 private:
  struct Pending;

  void connect();
  void open(const std::string& ip);
  void schedule_reconnect();
  void closed(std::string_view why);
  void arm_read();
  void arm_write();
  void send_handshake();
  bool send(const std::vector<std::string>& args, std::uint64_t id);

  static void on_connect(const redisAsyncContext* ctx, int status);
  static void on_disconnect(const redisAsyncContext* ctx, int status);
  static void on_reply(redisAsyncContext* ctx, void* reply, void* privdata);
  static void on_handshake(redisAsyncContext* ctx, void* reply, void* privdata);
  static void on_subscribed(redisAsyncContext* ctx, void* reply, void* privdata);
  static void add_read(void* self);
  static void del_read(void* self);
  static void add_write(void* self);
  static void del_write(void* self);
  static void cleanup(void* self);

  boost::asio::io_context& ioc_;
  ConnectionOptions options_;
  Logger& log_;
  redisAsyncContext* ctx_ = nullptr;
  std::optional<boost::asio::posix::stream_descriptor> socket_;
  bool want_read_ = false, reading_ = false;
  bool want_write_ = false, writing_ = false;
  std::atomic<bool> ready_{false};
  bool stopped_ = false;
  std::uint64_t generation_ = 0;  // bumped per connection attempt: stale callbacks are ignored
  std::chrono::milliseconds backoff_{0};
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer connect_timer_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<Pending>> pending_;
  std::size_t in_flight_ = 0;
  std::uint64_t connects_ = 0;
  std::vector<std::string> channels_;  // subscriber mode when not empty
  MessageFn on_message_;
  std::function<void()> on_subscribed_;
};

}  // namespace chatd::redis
