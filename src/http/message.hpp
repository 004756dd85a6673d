#pragma once
// The request/response types handlers see, and the per-request context that the
// middleware fills in before a handler runs.

#include "core/principal.hpp"
#include "core/result.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// Path parameters captured by the router, in pattern order ({id} -> "id").
class PathParams {
 public:
  void add(std::string_view name, std::string value) { items_.emplace_back(name, std::move(value)); }
  // "" when absent.
  const std::string& get(std::string_view name) const;
  void clear() { items_.clear(); }

 private:
  std::vector<std::pair<std::string_view, std::string>> items_;
};

struct Context {
  explicit Context(const Request& request) : req(request) {}

  const Request& req;
  std::string request_id;
  std::string client_ip;
  bool secure = false;          // TLS, or X-Forwarded-Proto: https from a trusted proxy
  std::string_view route;       // the matched pattern, e.g. "/conversations/{id}"
  std::string_view path;        // target without the query string
  std::string_view query;       // after '?', without it
  PathParams params;
  nlohmann::json body;          // the parsed JSON body for routes that take one
  std::chrono::steady_clock::time_point started;
  std::string error_note;       // an internal cause for the access log; never sent
  std::optional<Principal> principal;  // set for routes with Access::user / admin
  std::string user_agent() const;

  // The value of query parameter `name` (percent-decoded); nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

// A JSON response with the given status.
Response json_response(bhttp::status status, const nlohmann::json& body);
// A response with no body (204 and friends).
Response empty_response(bhttp::status status);

}  // namespace chatd::http
