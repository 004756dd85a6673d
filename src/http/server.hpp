#pragma once
// The HTTP/1.1 transport: an accept loop and one coroutine per connection, reading top
// to bottom in request order (read head -> check framing and limits -> read body ->
// Pipeline::handle -> write). Each network thread runs its own io_context; the
// acceptor hands connections out round-robin.

#include "core/log.hpp"
#include "core/result.hpp"
#include "http/pipeline.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chatd::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
  int threads = 1;
  std::int64_t header_timeout_ms = 10000;
  std::int64_t body_timeout_ms = 30000;
  std::int64_t idle_timeout_ms = 60000;
  std::int64_t max_header_bytes = 16384;
  std::int64_t max_body_bytes = 1048576;
  // Requests whose target starts with large_body_prefix (the OpenAI-compatible endpoint,
  // whose bodies carry images) may have bodies up to large_body_bytes instead.
  std::string large_body_prefix;
  std::int64_t large_body_bytes = 0;
  std::int64_t max_connections = 10000;
  std::int64_t shutdown_grace_ms = 10000;
};

// The body limit for a request to `target` (its path and query as sent).
std::int64_t body_limit(const ServerOptions& options, std::string_view target);

class Server {
 public:
  Server(ServerOptions options, const Pipeline& pipeline, Logger& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Errors: Code::unavailable when the address cannot be bound.
  Status listen();
  std::uint16_t port() const;

  // Serves until SIGTERM/SIGINT or stop(), then drains: stops accepting, closes idle
  // connections, lets in-flight requests finish within shutdown_grace_ms. Returns true
  // when everything finished in time.
  bool run();
  // Starts the graceful shutdown from any thread.
  void stop();

  // The network threads' io_contexts, the first one being run() by the calling thread:
  // for clients that live on them (a Redis connection per thread). They exist from
  // construction until the Server is destroyed and run only during run().
  std::vector<boost::asio::io_context*> contexts();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatd::http
