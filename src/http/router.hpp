#pragma once
// The one route table: every endpoint with its method, pattern and handler. Patterns
// are literal segments and `{name}` parameters ("/conversations/{id}/messages").

#include "http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace chatd::http {

using Handler = std::function<boost::asio::awaitable<Response>(Context&)>;

// What a route needs from its caller; checked in one place (Pipeline::handle).
enum class Access {
  anonymous,  // anyone
  user,       // a valid access token of an active session
  admin,      // the same, with role admin
  api,        // an access token or an API key (the OpenAI-compatible /v1 routes)
  // An access token is checked when one is sent (401 when it is not valid); without an
  // Authorization header the handler runs with no principal and decides (POST /auth/logout
  // of a browser session, which may come with its cookie only).
  optional_user,
};

struct Route {
  bhttp::verb method;
  std::string pattern;
  Handler handler;
  bool json_body = false;  // the route takes a JSON body: 415 / 400 are checked before the handler
  Access access = Access::anonymous;
  std::string rate_bucket = {};       // per-IP bucket of CHATD_RATE_LIMITS applied before the handler
  bool global_limit = true;           // the per-IP `global` bucket applies (off for health checks)
  std::string user_rate_bucket = {};  // bucket applied per authenticated user, after authentication
  std::size_t index = 0;              // its place in the table (set by Router::add): the metrics' slot
};

struct Match {
  const Route* route = nullptr;  // null: no route for this method
  bool path_known = false;       // some route has this path (so: 405, not 404)
  std::string allow;             // "GET, HEAD" style list when path_known
};

class Router {
 public:
  // Throws std::invalid_argument for a malformed or duplicate (method, pattern) pair:
  // the route table is fixed at startup, so that is a programming error.
  void add(Route route);

  // Matches a path (no query string). HEAD falls back to GET. Captured parameters go
  // into `params` (percent-decoded).
  Match match(bhttp::verb method, std::string_view path, PathParams& params) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Pattern {
    std::vector<std::string> segments;  // "{name}" marks a parameter
    std::vector<const Route*> routes;   // one per method
  };
  std::vector<std::unique_ptr<Route>> routes_;
  std::unordered_map<std::string, std::size_t> literal_;  // pattern without parameters -> index
  std::vector<Pattern> patterns_;
};

// Splits "/a/b/c" into {"a","b","c"}; "/" gives {}. Returns false for an empty segment
// other than none at all ("/a//b", "/a/").
bool split_path(std::string_view path, std::vector<std::string_view>& out);

}  // namespace chatd::http
