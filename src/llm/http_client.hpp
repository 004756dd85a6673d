#pragma once
// The real Transport: HTTP/1.1 over Boost.Beast, TLS through OpenSSL (system CA store or a
// given CA file, SNI, host name verification, TLS 1.2 minimum), keep-alive connections pooled
// per origin (scheme://host:port) and per io_context, per-phase timeouts and cancellation
// that closes the socket at once.
//
// Threading: send() may be called concurrently from coroutines on different io_contexts (one
// network thread each). A connection is only ever used on the io_context that opened it:
// idle connections are kept per io_context, and the shared bookkeeping sits behind a mutex.

#include "llm/transport.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chatd::llm {

namespace detail {
struct HttpClientState;  // shared with the exchanges still running; defined in the .cpp
}

// Error::reason of a send() refused because no address of the host passed
// HttpClientOptions::allow_address (Code::upstream).
inline constexpr std::string_view kAddressNotAllowed = "address_not_allowed";

struct HttpClientOptions {
  // At most this many connections (busy or idle, on any io_context) to one origin at once.
  // A request beyond that waits for a free connection within its connect timeout and then
  // fails with Code::timeout ("no connection to the upstream became free within N ms").
  // Every connection that may be reused is kept while idle, for at most idle_ttl_ms.
  std::size_t max_connections = 64;
  // Idle connections older than this are closed instead of reused.
  std::int64_t idle_ttl_ms = 30000;
  std::string user_agent = std::string("chatd/") + CHATD_VERSION;
  // A PEM file of trusted CA certificates instead of the system store (which honours
  // SSL_CERT_FILE and SSL_CERT_DIR).
  std::optional<std::string> ca_file;
  // Larger response heads are refused with Code::upstream.
  std::size_t max_head_bytes = std::size_t{64} * 1024;
  // read_some() hands out at most this many body bytes at a time.
  std::size_t max_chunk_bytes = std::size_t{64} * 1024;
  // Which addresses may be connected to; empty allows all. Asked about every address of the
  // host (resolved, or the literal) right before connecting, and only the allowed ones are
  // tried: the address checked is the address connected to, so a DNS answer cannot change
  // between the check and the connect. When none is allowed, send() fails with Code::upstream,
  // reason kAddressNotAllowed. Pooled connections were checked when they were opened. Called
  // on the sending io_context's thread, possibly from several threads at once.
  std::function<bool(const boost::asio::ip::address&)> allow_address;
};

class HttpClient final : public Transport {
 public:
  // Throws std::runtime_error when the TLS setup fails (for example an unreadable ca_file):
  // a startup failure.
  explicit HttpClient(HttpClientOptions options = {});
  // Closes the idle connections (each on its own io_context). Responses still alive keep
  // working; their connections are closed instead of pooled when they end.
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // See Transport::send. Must be awaited on an io_context executor. A pooled connection that
  // turns out dead before any response byte arrived is retried once on a fresh connection.
  // Timeouts: connect_ms covers waiting for a free connection, DNS, TCP connect and the TLS
  // handshake; first_byte_ms runs from the start of writing the request until the response
  // head is in; total_ms from the call until the end of the body. Expiry gives Code::timeout;
  // every other failure (and cancellation) Code::upstream with the cause in Error::internal.
  boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> send(UpstreamRequest request, Timeouts timeouts,
                                                                         Cancellation& cancel) override;

 private:
  std::shared_ptr<detail::HttpClientState> state_;
};

}  // namespace chatd::llm
