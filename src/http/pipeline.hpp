#pragma once
// The middleware chain in request order: request id -> client IP -> CORS -> route ->
// content type / JSON body -> handler; then security headers, CORS and request-id
// headers and one access-log line on the way out. `handle` is a plain function from a
// request to a response, so it is unit-tested without sockets.

#include "config/config.hpp"
#include "core/log.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace chatd::http {

struct Peer {
  std::string ip;  // textual socket peer address
  bool tls = false;
};

struct PipelineOptions {
  std::vector<std::string> cors_origins;
  std::vector<config::Network> trusted_proxies;
  std::int64_t max_body_bytes = 1048576;
};

class Pipeline {
 public:
  Pipeline(const Router& router, PipelineOptions options, Logger& log);

  boost::asio::awaitable<Response> handle(const Request& req, const Peer& peer) const;

  // A response for a request the transport refused before it reached a handler (413,
  // malformed framing): the same headers and access-log line as any other response.
  Response reject(const Request& head, const Peer& peer, const Error& error) const;

  // Exposed for tests.
  std::string client_ip(const Request& req, const Peer& peer) const;
  static bool valid_request_id(std::string_view id);

 private:
  Context begin(const Request& req, const Peer& peer) const;
  void finish(Context& ctx, Response& res) const;
  bool origin_allowed(std::string_view origin) const;

  const Router& router_;
  PipelineOptions options_;
  Logger& log_;
};

}  // namespace chatd::http
