#pragma once
// chatd's Redis: one command connection per network thread (each driven by that thread's own
// io_context, so a command never crosses threads or takes a lock) and one subscriber
// connection for the messages instances send each other.
//
// Lifetime: construct, subscribe() if wanted, attach() the network threads' contexts before
// they run, and stop() once they have stopped (before the contexts are destroyed).

#include "core/log.hpp"
#include "core/result.hpp"
#include "redis/connection.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chatd::redis {

class Client {
 public:
  Client(ConnectionOptions options, Logger& log);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Before attach(): the subscriber connection (on the first context) subscribes to
  // `channels`; `on_message` gets each publication and `on_subscribed` runs after every
  // (re)subscription, when messages published meanwhile may have been missed. Both run on
  // the first context's thread and must not block.
  void subscribe(std::vector<std::string> channels, Connection::MessageFn on_message,
                 std::function<void()> on_subscribed);
  // One command connection per context, and the subscriber; they start connecting as soon as
  // the contexts run. Called once.
  void attach(const std::vector<boost::asio::io_context*>& contexts);
  // Disconnects everything; call when the contexts no longer run.
  void stop();

  // A command on the connection of the io_context the calling coroutine runs on; fails with
  // Code::unavailable when that context has none, or when Redis cannot answer (see
  // Connection::command).
  boost::asio::awaitable<Result<Reply>> command(std::vector<std::string> args);
  // Connections (the subscriber included) and how many are ready now; safe from any thread
  // while attached (metrics).
  struct Stats {
    std::size_t connections = 0;
    std::size_t ready = 0;
  };
  Stats stats() const;

  // PING on the calling context's connection (for /readyz).
  boost::asio::awaitable<Status> ping();
  // Fire and forget, from any thread: PUBLISH on the first context's connection. A failure
  // is logged; the receivers' periodic database checks are the safety net.
  void publish(std::string channel, std::string message);

 private:
  ConnectionOptions options_;
  Logger& log_;
  std::vector<std::shared_ptr<Connection>> connections_;  // fixed once attached
  std::shared_ptr<Connection> subscriber_;
  std::vector<std::string> channels_;
  Connection::MessageFn on_message_;
  std::function<void()> on_subscribed_;
};

}  // namespace chatd::redis
