#pragma once
// The middleware chain in request order: request id -> client IP -> CORS -> route ->
// content type / JSON body -> handler; then security headers, CORS and request-id
// headers and one access-log line on the way out. `handle` is a plain function from a
// request to a response, so it is unit-tested without sockets.

#include "config/config.hpp"
#include "core/authenticator.hpp"
#include "core/log.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "limits/rate_limiter.hpp"
#include "observability/metrics.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <optional>
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
  std::map<std::string, config::RateLimit> rate_limits;  // CHATD_RATE_LIMITS, every bucket
};

// Who checks the callers of routes and counts their requests; they outlive the pipeline.
struct Guards {
  Authenticator& users;          // access tokens: Access::user, admin and optional_user
  Authenticator& api;            // access tokens or API keys: Access::api (/v1)
  limits::RateLimiter& limiter;  // the buckets of CHATD_RATE_LIMITS
};

// The path of the first member of a request body ("messages[2].content") whose text, or
// whose name, holds a NUL character, which neither database can store; nullopt when none.
std::optional<std::string> field_holding_nul(const nlohmann::json& body);
// False when JSON text `json_text` cannot hold a NUL in any string (it lacks the escape
// \u0000, the only way a NUL gets into JSON text): field_holding_nul() would find none.
bool may_hold_nul(std::string_view json_text);

class Pipeline {
 public:
  // The route table must be complete: the metrics keep a slot per route.
  Pipeline(const Router& router, PipelineOptions options, Guards guards, Logger& log, obs::Metrics& metrics);

  // Asked for a request that no route takes, before the 404: the web UI answers browser
  // navigations to its own paths with its page (nullopt: the usual 404).
  using Fallback = std::function<std::optional<Response>(const Context&)>;
  void set_fallback(Fallback fallback) { fallback_ = std::move(fallback); }

  boost::asio::awaitable<Response> handle(const Request& req, const Peer& peer) const;

  // A response for a request the transport refused before it reached a handler (413,
  // malformed framing): the same headers and access-log line as any other response.
  Response reject(const Request& head, const Peer& peer, const Error& error) const;

  // Exposed for tests.
  std::string client_ip(const Request& req, const Peer& peer) const;
  static bool valid_request_id(std::string_view id);

  // Requests by route and status, and their durations (for GET /metrics).
  const obs::HttpMetrics& http_metrics() const { return http_metrics_; }

 private:
  Context begin(const Request& req, const Peer& peer) const;
  void finish(Context& ctx, Response& res) const;
  bool origin_allowed(std::string_view origin) const;
  bool peer_trusted(const Peer& peer) const;

  // Checks the route's caller: sets ctx.principal, or returns the refusal (401, 403, 503).
  boost::asio::awaitable<std::optional<Response>> authorize(Context& ctx, const Route& route) const;
  // The same without a coroutine when the answer is at hand (a malformed header, a cached
  // credential): sets `refused` (nullopt: admitted) and returns true; false (nothing done)
  // when authorize() must run.
  bool authorize_now(Context& ctx, const Route& route, std::optional<Response>& refused) const;
  Authenticator& authenticator_for(const Route& route) const;
  std::optional<Response> admit(Context& ctx, const Route& route, Result<Principal> principal) const;
  // Applies the route's per-IP buckets; returns the decision whose headers the response
  // carries (nullopt when the route is not limited) and whether the request may go on.
  boost::asio::awaitable<std::optional<limits::Decision>> limit(const Context& ctx, const Route& route) const;
  boost::asio::awaitable<std::optional<limits::Decision>> limit_user(const Context& ctx, const Route& route) const;
  // The same without a coroutine, when the limiter answers at once (the in-process one):
  // sets `decision` and returns true; false (nothing counted) when limit() must run instead.
  bool limit_now(const Context& ctx, const Route& route, std::optional<limits::Decision>& decision) const;
  bool limit_user_now(const Context& ctx, const Route& route, std::optional<limits::Decision>& decision) const;
  // The rule of a bucket (null: not limited), and of the route's per-user bucket for this caller.
  const config::RateLimit* rule_for(std::string_view bucket) const;
  const config::RateLimit* user_rule(const Context& ctx, const Route& route) const;
  // Counts a bucket's decision (a refusal in the metrics) into the one the response shows.
  void count(std::string_view bucket, const limits::Decision& d, std::optional<limits::Decision>& shown) const;

  const Router& router_;
  PipelineOptions options_;
  Logger& log_;
  obs::Metrics& metrics_;
  obs::HttpMetrics http_metrics_;
  std::size_t web_ui_slot_;  // the web UI's page served for a path no route takes
  Guards guards_;
  Fallback fallback_;
};

}  // namespace chatd::http
