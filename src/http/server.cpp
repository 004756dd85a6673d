#include "http/server.hpp"

#include "core/scope_exit.hpp"
#include "core/send_now.hpp"
#include "http/framing.hpp"
#include "http/wire.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <limits>
#include <list>
#include <optional>
#include <thread>
#include <vector>

namespace chatd::http {

std::int64_t body_limit(const ServerOptions& options, std::string_view target) {
  if (!options.large_body_prefix.empty() &&
      target.substr(0, options.large_body_prefix.size()) == options.large_body_prefix)
    return std::max(options.max_body_bytes, options.large_body_bytes);
  return options.max_body_bytes;
}

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Clock = std::chrono::steady_clock;

// One open connection, registered with its network thread so that the thread's sweeper
// can enforce its deadline and shutdown can close it when idle. Touched only from that
// thread. One sweep per thread every kSweepInterval replaces a timer per I/O operation.
struct ClientConnection {
  Socket* socket = nullptr;
  bool idle = true;
  Clock::time_point idle_since = Clock::now();
  bool timed_out = false;
  Clock::time_point deadline = Clock::time_point::max();

  void expires_after(std::int64_t ms) {
    deadline = Clock::now() + std::chrono::milliseconds(ms);
    timed_out = false;
  }
  void expires_never() { deadline = Clock::time_point::max(); }
};

constexpr auto kSweepInterval = 100ms;
// While draining, a connection idle for this long is closed. Not at once: a load balancer
// may be sending the next request on it at this very moment, and a request that meets a
// closing connection fails (a POST is not retried). A balancer that closes its idle
// connections to chatd sooner than this (nginx: keepalive_timeout 1s in the upstream) never
// meets one; a request that arrives meanwhile is answered with "Connection: close".
constexpr auto kDrainIdleGrace = 2s;

struct NetworkThread {
  // Declared before the io_context so that it outlives it: ~io_context destroys the
  // sessions still suspended (after a missed drain deadline), and each takes itself off
  // this list as it goes.
  std::list<ClientConnection*> connections;
  asio::io_context ioc{1};
  std::thread thread;
  // While the thread has no connection its sweeper sleeps on this timer (null otherwise),
  // and the first connection registered wakes it: an idle server wakes no CPU.
  asio::steady_timer* sleeping_sweeper = nullptr;
};

std::string_view buffered(const beast::flat_buffer& buffer) {
  auto data = buffer.data();
  return {static_cast<const char*>(data.data()), data.size()};
}

template <class S>
std::string peer_address(const S& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  return addr.to_string();
}

// The state of one streamed response body, shared by the handler's writes, the heartbeat
// and the watcher that notices the client going away. Everything runs on the
// connection's network thread; the session waits for both helpers before moving on.
struct StreamState final : ResponseStream {
  StreamState(Socket& s, ClientConnection& e, std::int64_t write_timeout_ms, bool chunked_body, Response& response)
      : socket(s),
        entry(e),
        write_timeout(write_timeout_ms),
        chunked(chunked_body),
        signal(s.get_executor()),
        res(response) {
    signal.expires_at(asio::steady_timer::time_point::max());
  }

  void respond_instead(bhttp::status status, std::string content_type, std::string body) override {
    if (started) return;
    replacement.emplace();
    replacement->status = status;
    replacement->content_type = std::move(content_type);
    replacement->body = std::move(body);
  }

  asio::awaitable<bool> write(std::string_view data) override {
    while (writing && !gone) co_await wait();
    if (gone) co_return false;
    if (data.empty()) co_return true;  // an empty chunk would end the body
    co_return co_await write_now(data);
  }
  bool closed() const override { return gone; }
  void on_close(std::function<void()> fn) override {
    if (gone) {
      if (fn) fn();
      return;
    }
    close_fn = std::move(fn);
  }

  static constexpr std::size_t kKeptFrameBytes = 512;

  // Drops the response's header fields and lines but X-Request-Id (for the stream_end log line).
  void keep_only_request_id() {
    std::string id(res.header("X-Request-Id"));
    res.clear();
    res.extra_head.clear();
    res.extra_head.shrink_to_fit();
    if (!id.empty()) res.add_line("X-Request-Id", id);
  }

  asio::awaitable<bool> write_now(std::string_view data) {
    writing = true;
    frame.clear();
    if (!started) {
      started = true;
      serialize_response(res, true, frame);
      keep_only_request_id();  // the head is on its way: a long stream need not hold it
    }
    if (chunked) {
      char size[20];
      int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      frame.append(size, static_cast<std::size_t>(n));
    }
    frame.append(data);
    if (chunked) frame += "\r\n";
    boost::system::error_code ec;
    entry.expires_after(write_timeout);
    co_await asio::async_write(socket, asio::buffer(frame), asio::redirect_error(asio::use_awaitable, ec));
    entry.expires_never();
    // The first frame holds the head (a kilobyte or more): let an idle stream give it back.
    if (frame.capacity() > kKeptFrameBytes) std::string().swap(frame);
    writing = false;
    if (ec) {
      mark_gone();
    } else {
      bytes += data.size();
      last_write = Clock::now();
    }
    wake();
    co_return !gone;
  }

  void mark_gone() {
    if (gone) return;
    gone = true;
    auto fn = std::exchange(close_fn, {});
    if (fn) fn();
    wake();
  }
  asio::awaitable<void> wait() {
    boost::system::error_code ec;
    co_await signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  void wake() { signal.cancel(); }

  Socket& socket;
  ClientConnection& entry;
  std::int64_t write_timeout;
  bool chunked;
  asio::steady_timer signal;  // cancelled to wake whoever waits for a change
  std::string frame;
  bool writing = false;
  bool gone = false;
  bool finished = false;
  int helpers = 0;  // watcher and heartbeat still running
  asio::steady_timer* heartbeat_timer = nullptr;
  std::string early_bytes;  // the next request, when the client pipelined it
  std::function<void()> close_fn;
  Clock::time_point last_write = Clock::now();
  std::size_t bytes = 0;
  Response& res;
  bool started = false;  // the head was written
  struct Replacement {
    bhttp::status status;
    std::string content_type;
    std::string body;
  };
  std::optional<Replacement> replacement;
};

// Reads from the client while the body streams: EOF or an error means it went away. Bytes
// of a pipelined next request are kept for the session (up to a bound; beyond it the
// watcher stops reading and the socket's own buffer holds the rest).
// It waits for readability first, so an idle stream holds no read buffer.
asio::awaitable<void> watch_client(std::shared_ptr<StreamState> s, std::size_t max_early) {
  constexpr std::size_t kRead = 4096;
  while (!s->finished && s->early_bytes.size() < max_early) {
    boost::system::error_code ec;
    co_await s->socket.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    std::size_t n = 0;
    const std::size_t before = s->early_bytes.size();
    if (!ec && !s->finished) {
      s->early_bytes.resize(before + kRead);
      n = co_await s->socket.async_read_some(asio::buffer(s->early_bytes.data() + before, kRead),
                                             asio::redirect_error(asio::use_awaitable, ec));
    }
    s->early_bytes.resize(before + n);
    if (ec) {
      if (!s->finished) s->mark_gone();
      break;
    }
  }
  --s->helpers;
  s->wake();
}

asio::awaitable<void> send_heartbeats(std::shared_ptr<StreamState> s, std::string text,
                                      std::chrono::milliseconds every) {
  asio::steady_timer timer(s->socket.get_executor());
  s->heartbeat_timer = &timer;
  while (!s->finished && !s->gone) {
    timer.expires_after(every);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (s->finished || s->gone) break;
    if (s->started && !s->writing && Clock::now() - s->last_write >= every - 50ms) co_await s->write_now(text);
  }
  s->heartbeat_timer = nullptr;
  --s->helpers;
  s->wake();
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, const Pipeline& p, Logger& l) : options(std::move(o)), pipeline(p), log(l) {
    int n = options.threads < 1 ? 1 : options.threads;
    for (int i = 0; i < n; ++i) threads.push_back(std::make_unique<NetworkThread>());
    acceptor = std::make_unique<tcp::acceptor>(threads[0]->ioc);
  }

  asio::awaitable<void> accept_loop();
  NetworkThread& next_home();  // round-robin
  void start_session(NetworkThread& home, Socket socket);
  asio::awaitable<void> session(NetworkThread& home, Socket socket);
  // Writes a streamed body after its head; false when the connection cannot be reused.
  asio::awaitable<bool> stream_body(Socket& socket, ClientConnection& entry, beast::flat_buffer& buffer, Response& res,
                                    bool chunked);
  asio::awaitable<void> sweep(NetworkThread& home);
  asio::awaitable<void> drain();
  void begin_shutdown();

  ServerOptions options;
  const Pipeline& pipeline;
  Logger& log;
  std::vector<std::unique_ptr<NetworkThread>> threads;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::uint16_t bound_port = 0;
  std::atomic<bool> draining{false};
  std::atomic<bool> drained_in_time{true};
  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::int64_t> active_requests{0};
  std::size_t next_thread = 0;
};

Server::Server(ServerOptions options, const Pipeline& pipeline, Logger& log)
    : impl_(std::make_unique<Impl>(std::move(options), pipeline, log)) {}

Server::~Server() = default;

Status Server::listen() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return fail(Code::invalid_argument, "bad listen address " + impl_->options.host);
  tcp::endpoint endpoint(address, impl_->options.port);
  auto& acc = *impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(Code::unavailable, "cannot listen on " + impl_->options.host + ":" +
                                       std::to_string(impl_->options.port) + ": " + ec.message());
  }
  impl_->bound_port = acc.local_endpoint().port();
  return ok();
}

std::uint16_t Server::port() const { return impl_->bound_port; }

void Server::stop() {
  asio::post(impl_->threads[0]->ioc, [impl = impl_.get()] { impl->begin_shutdown(); });
}

std::vector<asio::io_context*> Server::contexts() {
  std::vector<asio::io_context*> out;
  for (auto& t : impl_->threads) out.push_back(&t->ioc);
  return out;
}

bool Server::run() {
  auto& main = *impl_->threads[0];
  asio::signal_set signals(main.ioc, SIGINT, SIGTERM);
  signals.async_wait([impl = impl_.get()](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    impl->log.info("server.signal").num("signal", sig);
    impl->begin_shutdown();
  });
  asio::co_spawn(main.ioc, impl_->accept_loop(), [impl = impl_.get()](const std::exception_ptr& e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      impl->log.error("server.accept_failed").str("error", ex.what());
    }
  });
  for (auto& t : impl_->threads) asio::co_spawn(t->ioc, impl_->sweep(*t), asio::detached);
  for (std::size_t i = 1; i < impl_->threads.size(); ++i) {
    auto* t = impl_->threads[i].get();
    t->thread = std::thread([t] {
      auto guard = asio::make_work_guard(t->ioc);
      t->ioc.run();
    });
  }
  {
    auto guard = asio::make_work_guard(main.ioc);
    main.ioc.run();
  }
  for (std::size_t i = 1; i < impl_->threads.size(); ++i) impl_->threads[i]->thread.join();
  return impl_->drained_in_time.load();
}

void Server::Impl::begin_shutdown() {
  if (draining.exchange(true)) return;
  log.info("server.draining")
      .num("open_connections", open_connections.load())
      .num("active_requests", active_requests.load());
  // Connections the kernel has already accepted are served (their requests may be on the
  // way), then the listener closes: new connections are refused, which a load balancer
  // retries elsewhere. Idle connections are closed by the sweepers (kDrainIdleGrace).
  boost::system::error_code ec;
  acceptor->non_blocking(true, ec);
  while (!ec) {
    NetworkThread& home = next_home();
    Socket socket(home.ioc.get_executor());
    acceptor->accept(socket, ec);
    if (!ec) start_session(home, std::move(socket));
  }
  acceptor->close(ec);
  asio::co_spawn(threads[0]->ioc, drain(), asio::detached);
}

asio::awaitable<void> Server::Impl::drain() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.shutdown_grace_ms);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (open_connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(10ms);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (open_connections.load() > 0) {
    drained_in_time = false;
    log.warn("server.drain_timeout").num("open_connections", open_connections.load());
  }
  log.info("server.stopped");
  for (auto& t : threads) t->ioc.stop();
}

asio::awaitable<void> Server::Impl::accept_loop() {
  log.info("server.listening")
      .str("address", options.host)
      .num("port", bound_port)
      .num("threads", static_cast<std::int64_t>(threads.size()));
  for (;;) {
    NetworkThread& home = next_home();
    boost::system::error_code ec;
    Socket socket(home.ioc.get_executor());
    co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      start_session(home, std::move(socket));  // even when draining: the client is connected
      if (draining.load()) co_return;
      continue;
    }
    if (draining.load() || ec == asio::error::operation_aborted) co_return;
    // EMFILE and friends: back off briefly instead of spinning.
    log.warn("server.accept_error").str("error", ec.message());
    asio::steady_timer pause(acceptor->get_executor(), 50ms);
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

NetworkThread& Server::Impl::next_home() {
  NetworkThread& home = *threads[next_thread];
  next_thread = (next_thread + 1) % threads.size();
  return home;
}

void Server::Impl::start_session(NetworkThread& home, Socket socket) {
  boost::system::error_code ec;
  if (open_connections.load() >= options.max_connections) {
    log.warn("server.connection_refused").str("reason", "max_connections");
    socket.close(ec);
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  open_connections.fetch_add(1);
  asio::co_spawn(home.ioc, session(home, std::move(socket)), [this](const std::exception_ptr& e) {
    open_connections.fetch_sub(1);
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log.error("server.session_failed").str("error", ex.what());
    }
  });
}

asio::awaitable<void> Server::Impl::sweep(NetworkThread& home) {
  asio::steady_timer timer(home.ioc);
  for (;;) {
    boost::system::error_code ec;
    if (home.connections.empty()) {
      // Nothing to sweep: sleep until session() registers a connection (and cancels this
      // wait), rather than wake this thread every kSweepInterval for nothing.
      timer.expires_at(asio::steady_timer::time_point::max());
      home.sleeping_sweeper = &timer;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      home.sleeping_sweeper = nullptr;
      continue;  // that connection may already be gone
    }
    timer.expires_after(kSweepInterval);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    auto now = Clock::now();
    bool closing_idle = draining.load();
    for (ClientConnection* c : home.connections) {
      if (c->deadline <= now) {
        c->timed_out = true;
        c->deadline = Clock::time_point::max();
        c->socket->cancel(ec);
      } else if (closing_idle && c->idle && now - c->idle_since >= kDrainIdleGrace && c->socket->available(ec) == 0) {
        c->socket->cancel(ec);
      }
    }
  }
}

asio::awaitable<bool> Server::Impl::stream_body(Socket& socket, ClientConnection& entry, beast::flat_buffer& buffer,
                                                Response& res, bool chunked) {
  auto started = Clock::now();
  // Nothing of the next request has arrived yet: free the read buffer while the body streams
  // (a long, idle stream should not hold it); the next read allocates it again.
  if (buffer.size() == 0) buffer.shrink_to_fit();
  auto state = std::make_shared<StreamState>(socket, entry, options.body_timeout_ms, chunked, res);
  state->helpers = 1;
  asio::co_spawn(socket.get_executor(), watch_client(state, static_cast<std::size_t>(options.max_header_bytes)),
                 asio::detached);
  if (!res.heartbeat.empty() && res.heartbeat_interval.count() > 0) {
    ++state->helpers;
    asio::co_spawn(socket.get_executor(), send_heartbeats(state, res.heartbeat, res.heartbeat_interval),
                   asio::detached);
  }
  bool failed = false;
  try {
    co_await res.stream(*state);
  } catch (const std::exception& e) {
    failed = true;
    log.error("http.stream_failed").str("error", e.what());
  }
  // Let an in-flight heartbeat finish, then stop both helpers and wait for them: they
  // reference the socket.
  while (state->writing) co_await state->wait();
  state->finished = true;
  state->close_fn = {};
  if (state->heartbeat_timer) state->heartbeat_timer->cancel();
  boost::system::error_code ec;
  socket.cancel(ec);
  while (state->helpers > 0) co_await state->wait();
  bool reusable = !state->gone && !failed && (chunked || !state->started);
  if (!state->gone && !state->started && (state->replacement || !failed)) {
    // Nothing was streamed: send the handler's replacement, or an empty stream.
    if (state->replacement) {
      res.stream = nullptr;
      res.chunked(false);
      res.result(state->replacement->status);
      res.set(bhttp::field::content_type, state->replacement->content_type);
      res.body() = std::move(state->replacement->body);
      res.prepare_payload();
    }
    std::string head;
    serialize_response(res, !state->replacement, head);
    if (!state->replacement && chunked) head += "0\r\n\r\n";
    entry.expires_after(options.body_timeout_ms);
    co_await asio::async_write(socket, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
    entry.expires_never();
    if (ec || (!state->replacement && !chunked)) reusable = false;
  } else if (!state->gone && chunked && state->started) {
    // A handler that failed ends the body without the last chunk, so the client sees a
    // truncated response instead of a complete one.
    if (!failed) {
      static constexpr std::string_view kLastChunk = "0\r\n\r\n";
      entry.expires_after(options.body_timeout_ms);
      co_await asio::async_write(socket, asio::buffer(kLastChunk.data(), kLastChunk.size()),
                                 asio::redirect_error(asio::use_awaitable, ec));
      entry.expires_never();
      if (ec) reusable = false;
    }
  }
  if (reusable && !state->early_bytes.empty()) {
    auto room = buffer.prepare(state->early_bytes.size());
    asio::buffer_copy(room, asio::buffer(state->early_bytes));
    buffer.commit(state->early_bytes.size());
  }
  log.info("http.stream_end")
      .str("request_id", res.header("X-Request-Id"))
      .num("duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count())
      .num("status", res.result_int())
      .num("bytes", static_cast<std::int64_t>(state->bytes))
      .boolean("client_gone", state->gone);
  co_return reusable;
}

asio::awaitable<void> Server::Impl::session(NetworkThread& home, Socket socket) {
  Peer peer{peer_address(socket), false};
  ClientConnection entry{&socket};
  home.connections.push_front(&entry);
  ScopeExit unregister([&home, it = home.connections.begin()] { home.connections.erase(it); });
  if (home.sleeping_sweeper) home.sleeping_sweeper->cancel();

  beast::flat_buffer buffer;
  std::string out;  // serialised response, reused across requests
  boost::system::error_code ec;
  auto max_body = static_cast<std::uint64_t>(options.max_body_bytes);
  const auto max_head = static_cast<std::size_t>(options.max_header_bytes);
  // Serialises `res` and sends what the socket takes at once (usually all of it: no trip
  // through a coroutine of its own); write_rest() waits to send the rest.
  auto send_at_once = [&](const Response& res) {
    out.clear();
    serialize_response(res, false, out);
    return send_now(socket.native_handle(), out);
  };
  auto write_rest = [&](std::size_t sent) -> asio::awaitable<void> {
    entry.expires_after(options.body_timeout_ms);
    co_await asio::async_write(socket, asio::buffer(out.data() + sent, out.size() - sent),
                               asio::redirect_error(asio::use_awaitable, ec));
    entry.expires_never();
  };

  // A refusal, written after the loop, that ends the connection: after a framing error the
  // byte stream cannot be trusted to hold another request. Prepared by a plain function, so
  // that the errors' temporaries stay out of this frame, which every connection carries.
  bool linger = false;
  std::optional<Response> rejection;
  auto refuse = [&](const Request& head, const Error& error) {
    linger = true;
    rejection.emplace(pipeline.reject(head, peer, error));
    rejection->keep_alive(false);
  };
  auto refuse_head = [&](const Request& head, boost::optional<std::uint64_t> content_length) {
    max_body = static_cast<std::uint64_t>(body_limit(options, head.target()));
    auto problem = head_problem(head, content_length ? std::optional(*content_length) : std::nullopt, max_body);
    if (problem) refuse(head, *problem);
    return problem.has_value();
  };

  for (;;) {
    // Idle: wait for the first byte of the next request. While draining, the sweeper closes
    // a socket idle for kDrainIdleGrace.
    if (buffer.size() == 0) {
      entry.idle = true;
      entry.idle_since = Clock::now();
      entry.expires_after(options.idle_timeout_ms);
      std::size_t n =
          co_await socket.async_read_some(buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
      entry.idle = false;
      if (ec) break;
      buffer.commit(n);
    }
    entry.idle = false;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    // The body limit is applied after the head, so an oversized Content-Length gets 413
    // from the check below rather than a parse error.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    // The whole head must arrive within the header timeout, however slowly it drips.
    entry.expires_after(options.header_timeout_ms);
    // Beast joins obsolete folded lines without saying so: see the head as it was sent
    // first. A client that goes away early leaves what it sent to the parser's judgement.
    while (head_length(buffered(buffer)) == 0 && buffer.size() < max_head) {
      std::size_t n =
          co_await socket.async_read_some(buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      buffer.commit(n);
    }
    if (ec && (ec != asio::error::eof || entry.timed_out)) break;  // gone or too slow
    const bool folded = has_obsolete_line_folding(buffered(buffer).substr(0, head_length(buffered(buffer))));
    // The whole head is buffered (the usual case): parsed here. Otherwise (too large, or the
    // client went away mid-head) Beast's read says what went wrong.
    bool parsed = false;
    if (!ec && head_length(buffered(buffer)) != 0) {
      boost::system::error_code put;
      const std::size_t used = parser.put(buffer.data(), put);
      if (put != bhttp::error::need_more) {
        buffer.consume(used);
        ec = put;
        parsed = put || parser.is_header_done();
      }
    }
    if (!parsed)
      co_await bhttp::async_read_header(socket, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        refuse(parser.get(), fail(Code::too_large, "the request head is too large", "headers_too_large"));
      } else if (entry.timed_out || ec == asio::error::eof || ec == asio::error::connection_reset ||
                 ec == asio::error::operation_aborted || ec == bhttp::error::end_of_stream ||
                 ec == bhttp::error::partial_message) {
        // The client went away or was too slow: nothing useful to answer.
      } else {
        refuse(parser.get(), fail(Code::invalid_argument, "malformed HTTP request", "bad_request"));
      }
      break;
    }

    const Request& head = parser.get();
    if (folded) {
      refuse(head, fail(Code::invalid_argument, "obsolete line folding in the request head", "bad_request"));
      break;
    }
    if (refuse_head(head, parser.content_length())) break;
    parser.body_limit(max_body);
    if (!parser.is_done()) {
      auto expect = head.find(bhttp::field::expect);
      if (expect != head.end() && beast::iequals(expect->value(), "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        entry.expires_after(options.body_timeout_ms);
        co_await asio::async_write(socket, asio::buffer(kContinue.data(), kContinue.size()),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
      }
      entry.expires_after(options.body_timeout_ms);
      // Beast's read loop, with one more check between reads: a chunk-size line that is
      // already malformed is refused at once rather than when a line end arrives, if ever.
      parser.eager(true);
      for (;;) {
        if (buffer.size() > 0) {
          buffer.consume(parser.put(buffer.data(), ec));
          if (ec == bhttp::error::need_more) ec = {};
          if (ec || parser.is_done()) break;
        }
        if (parser.chunked() && starts_malformed_chunk_size(buffered(buffer))) {
          ec = bhttp::error::bad_chunk;
          break;
        }
        std::size_t n =
            co_await socket.async_read_some(buffer.prepare(65536), asio::redirect_error(asio::use_awaitable, ec));
        buffer.commit(n);
        if (ec == asio::error::eof) {
          ec = {};
          parser.put_eof(ec);  // partial_message: the body was cut short
          if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
          break;
        }
        if (ec) break;
      }
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          refuse(parser.get(),
                 fail(Code::too_large, "the request body exceeds " + std::to_string(max_body) + " bytes"));
        } else if (!entry.timed_out && ec != asio::error::eof && ec != asio::error::connection_reset &&
                   ec != bhttp::error::partial_message && ec != asio::error::operation_aborted) {
          refuse(parser.get(), fail(Code::invalid_argument, "malformed request body", "bad_request"));
        }
        break;
      }
    }

    Request req = parser.release();
    entry.expires_never();  // a handler bounds its own work
    active_requests.fetch_add(1);
    Response res = co_await pipeline.handle(req, peer);
    bool streamed = static_cast<bool>(res.stream) && req.method() != bhttp::verb::head;
    bool keep_alive = req.keep_alive() && !draining.load() && (!streamed || req.version() >= 11);
    res.keep_alive(keep_alive);
    if (streamed) {
      const bool chunked = req.version() >= 11;
      // Nothing reads the request any more (handlers' streams keep what they need): a long
      // stream does not hold its headers and body.
      req = {};
      if (!co_await stream_body(socket, entry, buffer, res, chunked)) keep_alive = false;
    } else if (const std::size_t sent = send_at_once(res); sent < out.size()) {
      co_await write_rest(sent);
    }
    if (res.after_send) co_await res.after_send();
    active_requests.fetch_sub(1);
    if (ec || !keep_alive) break;
  }
  if (rejection) {
    if (const std::size_t sent = send_at_once(*rejection); sent < out.size()) co_await write_rest(sent);
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
  if (linger) {
    // Closing with unread request bytes makes the kernel send a reset that can destroy the
    // error response before the client reads it; read and discard a bounded amount first.
    entry.expires_after(2000);
    // On the heap, not in this coroutine's frame, which every connection carries.
    constexpr std::size_t kSink = 16384;
    auto sink = std::make_unique_for_overwrite<char[]>(kSink);
    std::size_t discarded = 0;
    while (discarded < std::size_t{4} * 1024 * 1024) {
      std::size_t n = co_await socket.async_read_some(asio::buffer(sink.get(), kSink),
                                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      discarded += n;
    }
  }
  socket.close(ec);
}

}  // namespace chatd::http
