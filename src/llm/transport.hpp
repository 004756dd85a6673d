#pragma once
// How providers talk HTTP to an upstream. `Transport` is the seam: the real one is
// llm::HttpClient (Beast + OpenSSL, pooled keep-alive connections, timeouts); unit tests of
// providers plug in a fake that replays canned wire bytes in arbitrary chunk splits.

#include "core/result.hpp"
#include "llm/cancel.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::llm {

struct UpstreamRequest {
  std::string method = "POST";
  // Absolute URL: http(s)://host[:port]/path[?query]. The client adds Host, Content-Length,
  // Connection and User-Agent; `headers` holds the rest (authorisation, content type, ...).
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct Timeouts {
  std::int64_t connect_ms = 10000;     // TCP connect + TLS handshake
  std::int64_t first_byte_ms = 30000;  // request sent -> response head received
  std::int64_t total_ms = 120000;      // whole exchange, body included
};

class UpstreamResponse {
 public:
  virtual ~UpstreamResponse() = default;
  virtual int status() const = 0;
  // The first header called `name` (case-insensitive), if any.
  virtual std::optional<std::string> header(std::string_view name) const = 0;
  // The next piece of the (de-chunked) body as it arrives; an empty string at the end of the body.
  // Errors: Code::timeout (the total deadline passed), Code::upstream (connection lost,
  // malformed framing, or cancelled: check Cancellation::cancelled()).
  virtual boost::asio::awaitable<Result<std::string>> read_some() = 0;
  // The caller needs no more of the head: header() answers nothing from now on, and a long
  // stream does not hold the header fields. Status and connection reuse are unaffected.
  virtual void release_head() {}
};

// Reads the rest of a body, at most `limit` bytes (more is Code::upstream).
boost::asio::awaitable<Result<std::string>> read_all(UpstreamResponse& response, std::size_t limit);

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `request` and waits for the response head. The returned response reads the body; the
  // connection goes back to the pool only when the body was read to its end. Errors (all before
  // any response byte, so a retry is safe): Code::upstream (DNS, connect, TLS, malformed
  // response head, cancelled) and Code::timeout (connect or first-byte deadline).
  // `cancel` must outlive the response.
  virtual boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> send(UpstreamRequest request,
                                                                                 Timeouts timeouts,
                                                                                 Cancellation& cancel) = 0;
};

}  // namespace chatd::llm
