// chatd_min_proxy: the least an Asio coroutine proxy can do, a reference row for bench/chat.sh.
//
//   chatd_min_proxy LISTEN_PORT UPSTREAM_PORT UPSTREAM_PATH
//
// One thread, one io_context, the same event loop and coroutines as chatd's network threads
// (Boost.Asio, awaitable, one connection to the upstream per client connection, TCP_NODELAY),
// and nothing else: each request's body is passed to 127.0.0.1:UPSTREAM_PORT as a POST to
// UPSTREAM_PATH and the upstream's body comes back in a 200. No HTTP parser beyond finding the
// end of the head and Content-Length, no authentication, no JSON, no accounting.
//
// Why: at concurrency 1 on a small VM, a request's latency depends on how many idle vCPUs
// must be woken along its way as much as on the work done, and the bare nginx proxy and
// chatd differ in both. This proxy has chatd's architecture without chatd's work, so the
// rounds separate the two: what it adds over nginx is the architecture's, what chatd adds
// over it is chatd's own work. Not a server for anything else: it trusts its client.

// clang-format off
#include <utility>  // before Boost 1.81's awaitable.hpp, which uses std::exchange without including it
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The Content-Length of a head ("" if none): 0.
std::size_t content_length(std::string_view head) {
  constexpr std::string_view name = "content-length:";
  for (std::size_t at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) {
    std::string_view line = head.substr(at + 2, name.size());
    if (iequals(line, name)) return std::strtoul(head.data() + at + 2 + name.size(), nullptr, 10);
  }
  return 0;
}

// Reads one message (head and Content-Length body) into `buf`, which may already hold some
// of it; returns where its body starts and its length. Bytes after it stay in `buf`.
awaitable<std::pair<std::size_t, std::size_t>> read_message(tcp::socket& s, std::string& buf) {
  for (;;) {
    const std::size_t head_end = buf.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const std::size_t body_at = head_end + 4;
      const std::size_t length = content_length(std::string_view(buf).substr(0, head_end + 2));
      if (buf.size() >= body_at + length) co_return std::pair{body_at, length};
    }
    std::array<char, 8192> chunk;
    const std::size_t n = co_await s.async_read_some(asio::buffer(chunk), use_awaitable);
    buf.append(chunk.data(), n);
  }
}

awaitable<void> session(tcp::socket client, tcp::endpoint upstream_at, std::string path) {
  try {
    tcp::socket upstream(client.get_executor());
    co_await upstream.async_connect(upstream_at, use_awaitable);
    upstream.set_option(tcp::no_delay(true));
    client.set_option(tcp::no_delay(true));
    std::string from_client;
    std::string from_upstream;
    std::string out;
    for (;;) {
      auto [body_at, length] = co_await read_message(client, from_client);
      out.assign("POST ").append(path).append(" HTTP/1.1\r\nHost: upstream\r\nContent-Type: application/json\r\n");
      out.append("Content-Length: ").append(std::to_string(length)).append("\r\n\r\n");
      out.append(from_client, body_at, length);
      from_client.erase(0, body_at + length);
      co_await asio::async_write(upstream, asio::buffer(out), use_awaitable);
      auto [answer_at, answer_length] = co_await read_message(upstream, from_upstream);
      out.assign("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ");
      out.append(std::to_string(answer_length)).append("\r\n\r\n").append(from_upstream, answer_at, answer_length);
      from_upstream.erase(0, answer_at + answer_length);
      co_await asio::async_write(client, asio::buffer(out), use_awaitable);
    }
  } catch (const std::exception&) {
    // the client (or the upstream) closed the connection
  }
}

awaitable<void> accept_all(tcp::acceptor& acceptor, tcp::endpoint upstream_at, std::string path) {
  for (;;) {
    tcp::socket s = co_await acceptor.async_accept(use_awaitable);
    asio::co_spawn(acceptor.get_executor(), session(std::move(s), upstream_at, path), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: chatd_min_proxy LISTEN_PORT UPSTREAM_PORT UPSTREAM_PATH\n");
    return 2;
  }
  try {
    const auto port = [](const char* text) { return static_cast<unsigned short>(std::atoi(text)); };
    asio::io_context ioc(1);
    const auto loopback = asio::ip::make_address("127.0.0.1");
    tcp::acceptor acceptor(ioc, tcp::endpoint(loopback, port(argv[1])));
    asio::co_spawn(ioc, accept_all(acceptor, tcp::endpoint(loopback, port(argv[2])), argv[3]), asio::detached);
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chatd_min_proxy: %s\n", e.what());
    return 1;
  }
}
