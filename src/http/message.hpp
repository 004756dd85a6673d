#pragma once
// The request/response types handlers see, and the per-request context that the
// middleware fills in before a handler runs.

#include "core/principal.hpp"
#include "core/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;

// The body of a streamed response (SSE), written after the head; see Response::stream.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Sends `data` to the client (one chunk). Completes when the bytes are handed to the
  // kernel, so a slow reader slows the writer down instead of growing a buffer; a reader
  // that takes no bytes for the body timeout is cut off. Returns false once the client is
  // gone; later writes return false at once.
  virtual boost::asio::awaitable<bool> write(std::string_view data) = 0;
  // True once the client closed the connection or a write failed.
  virtual bool closed() const = 0;
  // `fn` runs once, on this thread, as soon as the client goes away while the stream is
  // open (the transport watches the socket even while nothing is written). Replaces any
  // earlier function; an empty one clears it.
  virtual void on_close(std::function<void()> fn) = 0;
  // Before the first write only: answer with this ordinary response instead of a stream
  // (the head is sent lazily, at the first write). Lets a handler report an error that
  // happens before any byte of the stream, such as an upstream failing at once, with a
  // proper status. Ignored once something was written.
  virtual void respond_instead(bhttp::status status, std::string content_type, std::string body) = 0;
};

using StreamBody = std::function<boost::asio::awaitable<void>(ResponseStream&)>;

struct Response : bhttp::response<bhttp::string_body> {
  using Base = bhttp::response<bhttp::string_body>;
  using Base::Base;
  Response() = default;
  Response(Base&& base) : Base(std::move(base)) {}  // NOLINT: implicit on purpose

  // When set, the head is sent first (chunked) and this function then writes the body; the
  // string body is ignored. `heartbeat` (e.g. an SSE comment) is written whenever nothing
  // else was written for `heartbeat_interval`, so proxies keep the connection open.
  StreamBody stream;
  std::string heartbeat;
  std::chrono::milliseconds heartbeat_interval{15000};
  // When set, the transport runs this once the response was written (or its writing failed),
  // before it reads the connection's next request: bookkeeping the client need not wait for.
  std::function<boost::asio::awaitable<void>()> after_send;

  // Header lines the pipeline adds to every response (request id, security and rate-limit
  // headers), already in wire form ("Name: value\r\n" each), sent after the fields: one
  // string instead of a field node (an allocation and a sorted insert) each. Read them back
  // with header().
  std::string extra_head;
  // The value of header `name` (case-insensitive): the first field of that name, else the
  // first line of extra_head; "" when neither holds it.
  std::string_view header(std::string_view name) const;
  // Appends the line "name: value" to extra_head.
  void add_line(std::string_view name, std::string_view value);
};

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
  bool secure = false;                 // TLS, or X-Forwarded-Proto: https from a trusted proxy
  std::string_view route;              // the matched pattern, e.g. "/conversations/{id}"
  std::size_t route_index = kNoRoute;  // the matched route's Route::index
  static constexpr std::size_t kNoRoute = static_cast<std::size_t>(-1);
  std::string_view path;   // target without the query string
  std::string_view query;  // after '?', without it
  PathParams params;
  nlohmann::json body;  // the parsed JSON body for routes that take one
  std::chrono::steady_clock::time_point started;
  std::string error_note;              // an internal cause for the access log; never sent
  std::optional<Principal> principal;  // set once an access token (or API key) was accepted;
                                       // the handler may move it out (nothing reads it after)
  std::string user_agent() const;

  // The value of query parameter `name` (percent-decoded); nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
  // The value of cookie `name` from the Cookie header lines (RFC 6265 section 5.4: "a=b; c=d",
  // a quoted value unquoted); the first one when it comes more than once; nullopt when absent.
  std::optional<std::string> cookie(std::string_view name) const;
};

// The name of the first query parameter whose percent-decoded value holds a NUL
// character ("query" when a name does); nullopt when none does.
std::optional<std::string> query_param_holding_nul(std::string_view query);

// A JSON response with the given status.
Response json_response(bhttp::status status, const nlohmann::json& body);
// A response with no body (204 and friends).
Response empty_response(bhttp::status status);

}  // namespace chatd::http
