#include "llm/http_client.hpp"

#include "config/url.hpp"
#include "core/ascii.hpp"
#include "core/send_now.hpp"
#include "llm/upstream_parser.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace chatd::llm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

// Where a request goes, split out of its URL.
struct Target {
  bool tls = false;
  std::string host;  // without brackets, lowercased
  std::uint16_t port = 0;
  std::string host_header;
  std::string path;    // the request target: path and query
  std::string origin;  // scheme://host:port, the pool key
};

std::optional<Target> parse_target(std::string_view url, std::string& error) {
  auto parsed = config::parse_url(url, error);
  if (!parsed) return std::nullopt;
  if (parsed->scheme != "http" && parsed->scheme != "https") {
    error = "the scheme must be http or https";
    return std::nullopt;
  }
  if (parsed->has_userinfo) {
    error = "credentials in the URL are not supported";
    return std::nullopt;
  }
  if (parsed->host.host.empty()) {
    error = "the URL has no host";
    return std::nullopt;
  }
  Target t;
  t.tls = parsed->scheme == "https";
  const long default_port = t.tls ? 443 : 80;
  const long port = parsed->host.port.value_or(default_port);
  t.port = static_cast<std::uint16_t>(port);
  t.host = ascii_lower(parsed->host.host);
  const std::string authority = parsed->host.ipv6 ? "[" + t.host + "]" : t.host;
  t.host_header = port == default_port ? authority : authority + ":" + std::to_string(port);
  t.path = parsed->path.empty() ? "/" : parsed->path;
  if (parsed->query) t.path += "?" + *parsed->query;
  t.origin = parsed->scheme + "://" + authority + ":" + std::to_string(port);
  return t;
}

bool is_token(std::string_view s) {
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

bool is_field_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The client owns the framing headers; a caller setting them would desynchronise the stream.
constexpr std::array<std::string_view, 4> kReservedHeaders = {"host", "content-length", "connection",
                                                              "transfer-encoding"};

// The first read of an answer: its head, and the whole of a small answer.
constexpr std::size_t kFirstRead = 4096;

// Serialises the request head and body into `out`. Returns what is wrong with the request
// (an empty string when nothing is).
std::string serialize_request(const UpstreamRequest& r, const Target& t, const std::string& user_agent,
                              std::string& out) {
  if (!is_token(r.method)) return "the request method is not a token";
  bool has_user_agent = false;
  for (const auto& [name, value] : r.headers) {
    if (!is_token(name) || !is_field_value(value)) return "request header '" + name + "' is malformed";
    for (auto reserved : kReservedHeaders) {
      if (beast::iequals(name, reserved)) return "request header '" + name + "' is set by the client";
    }
    if (beast::iequals(name, "user-agent")) has_user_agent = true;
  }
  out.clear();
  out.reserve(256 + r.body.size());
  out.append(r.method).append(" ").append(t.path).append(" HTTP/1.1\r\nHost: ").append(t.host_header);
  out.append("\r\nConnection: keep-alive\r\n");
  if (!has_user_agent && !user_agent.empty()) out.append("User-Agent: ").append(user_agent).append("\r\n");
  const bool bodyless = beast::iequals(r.method, "GET") || beast::iequals(r.method, "HEAD");
  if (!r.body.empty() || !bodyless) out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  for (const auto& [name, value] : r.headers) out.append(name).append(": ").append(value).append("\r\n");
  out.append("\r\n").append(r.body);
  return {};
}

// What went wrong, safe to show: framing errors are the upstream's fault, the rest is the
// connection's (`otherwise`).
std::string_view describe(const error_code& ec, std::string_view otherwise) {
  if (ec == bhttp::error::header_limit) return "the upstream response head is too large";
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return "the upstream sent a malformed response";
  }
  return otherwise;
}

// `ms` after `t`, saturating instead of overflowing for huge budgets.
Clock::time_point after(Clock::time_point t, std::int64_t ms) {
  constexpr std::int64_t kCap = std::int64_t{100} * 365 * 24 * 3600 * 1000;  // a century
  return t + std::chrono::milliseconds(std::clamp<std::int64_t>(ms, 0, kCap));
}

// A buffer that response bodies are parsed into, held only while a read is under way (an
// idle stream holds none), from a small per-thread pool so that reads do not go through
// malloc. Not zero-filled: the parser writes before anything reads.
class Scratch {
 public:
  explicit Scratch(std::size_t size) : size_(std::max<std::size_t>(size, 1)) {
    auto& spare = pool();
    for (auto it = spare.begin(); it != spare.end(); ++it) {
      if (it->second == size_) {
        data_ = std::move(it->first);
        spare.erase(it);
        return;
      }
    }
    data_ = std::make_unique_for_overwrite<char[]>(size_);
  }
  ~Scratch() {
    auto& spare = pool();
    if (data_ && spare.size() < kSpare) spare.emplace_back(std::move(data_), size_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  char* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::size_t kSpare = 4;
  static std::vector<std::pair<std::unique_ptr<char[]>, std::size_t>>& pool() {
    thread_local std::vector<std::pair<std::unique_ptr<char[]>, std::size_t>> spare;
    return spare;
  }
  std::unique_ptr<char[]> data_;
  std::size_t size_;
};

// One socket to one origin, used only on the io_context it was opened on (`home`).
struct UpstreamConnection {
  UpstreamConnection(const asio::any_io_executor& ex, asio::execution_context& home_context, ssl::context* tls_context,
                     std::size_t buffer_limit)
      : socket(ex), home(&home_context), buffer(buffer_limit) {
    if (tls_context) tls.emplace(socket, *tls_context);
  }

  // Closes without a TLS close_notify: nothing waits for the peer.
  void close() {
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  tcp::socket socket;
  std::optional<ssl::stream<tcp::socket&>> tls;  // declared after `socket`: destroyed first
  asio::execution_context* home;
  beast::flat_buffer buffer;  // bytes read past the parsed part of the current response
  Clock::time_point idle_since{};
};

// A request waiting for a connection slot of a full origin. Woken (its timer cancelled on its
// own executor) with a slot, possibly with an idle connection of its io_context; or by its
// exchange's deadline or cancellation.
struct Waiter {
  Waiter(const asio::any_io_executor& ex, asio::execution_context& home_context)
      : timer(ex, Clock::time_point::max()), home(&home_context) {}
  asio::steady_timer timer;
  asio::execution_context* home;
  bool granted = false;                      // guarded by the state's mutex
  std::unique_ptr<UpstreamConnection> conn;  // guarded by the state's mutex
};

void wake(const std::shared_ptr<Waiter>& w) {
  asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
}

// Closes a connection on its own io_context (at once when that is the caller's). Posting to
// another io_context assumes it is not being destroyed meanwhile: chatd stops and destroys
// its network threads together, after the last send().
void dispose(std::unique_ptr<UpstreamConnection> c, const asio::execution_context* here) {
  if (!c) return;
  if (c->home == here) {
    c->close();
    return;
  }
  auto ex = c->socket.get_executor();
  asio::post(ex, [shared = std::shared_ptr<UpstreamConnection>(std::move(c))] { shared->close(); });
}

}  // namespace

namespace detail {

struct HttpClientState {
  struct Origin {
    std::size_t open = 0;                                   // busy + idle connections, and slots handed to waiters
    std::vector<std::unique_ptr<UpstreamConnection>> idle;  // oldest first
    std::deque<std::shared_ptr<Waiter>> waiters;            // first come, first served
  };

  HttpClientOptions options;
  std::unique_ptr<ssl::context> tls;
  std::mutex mutex;
  bool closed = false;  // the HttpClient is gone: pool nothing more
  std::unordered_map<std::string, Origin> origins;
};

}  // namespace detail

namespace {

using State = detail::HttpClientState;

// Drops a State's idle connections of an io_context when that io_context is destroyed, so
// that no socket outlives the io_context it belongs to whatever the order of destruction.
class IdleGuard final : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;

  explicit IdleGuard(asio::execution_context& context) : asio::execution_context::service(context) {}

  // Returns false once the io_context is being destroyed: pool nothing more on it.
  bool watch(const std::shared_ptr<State>& state) {
    std::lock_guard lock(mutex_);
    if (shut_down_) return false;
    std::erase_if(states_, [](const std::weak_ptr<State>& w) { return w.expired(); });
    for (const auto& w : states_) {
      if (!w.owner_before(state) && !state.owner_before(w)) return true;
    }
    states_.push_back(state);
    return true;
  }

 private:
  void shutdown() override {
    std::vector<std::weak_ptr<State>> states;
    {
      std::lock_guard lock(mutex_);
      shut_down_ = true;
      states.swap(states_);
    }
    for (const auto& weak : states) {
      auto state = weak.lock();
      if (!state) continue;
      std::vector<std::unique_ptr<UpstreamConnection>> doomed;
      {
        std::lock_guard lock(state->mutex);
        for (auto& [key, origin] : state->origins) {
          for (auto& c : origin.idle) {
            if (c->home == &context()) doomed.push_back(std::move(c));
          }
          std::size_t before = origin.idle.size();
          std::erase_if(origin.idle, [](const std::unique_ptr<UpstreamConnection>& c) { return !c; });
          origin.open -= before - origin.idle.size();
        }
      }
      for (auto& c : doomed) c->close();
    }
  }

  std::mutex mutex_;
  bool shut_down_ = false;
  std::vector<std::weak_ptr<State>> states_;
};

// Under the lock: frees one slot of `o`, handing it to the first waiter if there is one.
void free_slot(State::Origin& o) {
  if (!o.waiters.empty()) {
    auto w = std::move(o.waiters.front());
    o.waiters.pop_front();
    w->granted = true;
    wake(w);
    return;
  }
  if (o.open > 0) --o.open;
}

struct Lease {
  bool slot = false;                         // a slot of the origin is ours
  std::unique_ptr<UpstreamConnection> conn;  // an idle connection to reuse (with the slot)
  std::shared_ptr<Waiter> waiter;            // no slot yet: wait on this
};

// An idle connection of `home`, else a new slot, else a place in the queue. Connections that
// are to be closed land in `doomed` (to be closed outside the lock).
Lease take(State& s, const std::string& origin, const asio::any_io_executor& ex, asio::execution_context& home,
           std::vector<std::unique_ptr<UpstreamConnection>>& doomed) {
  std::lock_guard lock(s.mutex);
  auto& o = s.origins[origin];
  const auto now = Clock::now();
  const auto ttl = std::chrono::milliseconds(s.options.idle_ttl_ms);
  std::size_t expired = 0;
  for (auto& c : o.idle) {
    if (now - c->idle_since >= ttl) {
      doomed.push_back(std::move(c));
      ++expired;
    }
  }
  std::erase_if(o.idle, [](const std::unique_ptr<UpstreamConnection>& c) { return !c; });
  for (std::size_t i = 0; i < expired; ++i) free_slot(o);

  Lease lease;
  for (auto it = o.idle.rbegin(); it != o.idle.rend(); ++it) {
    if ((*it)->home == &home) {
      lease.slot = true;
      lease.conn = std::move(*it);
      o.idle.erase(std::next(it).base());
      return lease;
    }
  }
  if (o.open < s.options.max_connections) {
    ++o.open;
    lease.slot = true;
    return lease;
  }
  if (!o.idle.empty()) {
    // Full, but an idle connection of another io_context holds a slot: close it, take the slot.
    doomed.push_back(std::move(o.idle.front()));
    o.idle.erase(o.idle.begin());
    lease.slot = true;
    return lease;
  }
  lease.waiter = std::make_shared<Waiter>(ex, home);
  o.waiters.push_back(lease.waiter);
  return lease;
}

// After the waiter woke: what it was granted (nothing when its deadline or cancellation woke it).
Lease leave(State& s, const std::string& origin, Waiter& w) {
  std::lock_guard lock(s.mutex);
  Lease lease;
  if (w.granted) {
    lease.slot = true;
    lease.conn = std::move(w.conn);
    return lease;
  }
  auto& waiters = s.origins[origin].waiters;
  std::erase_if(waiters, [&](const std::shared_ptr<Waiter>& x) { return x.get() == &w; });
  return lease;
}

// Returns a slot and its connection (if any): to a waiter of the same io_context, to the idle
// pool, or closes it.
void give_back(const std::shared_ptr<State>& s, const std::string& origin, std::unique_ptr<UpstreamConnection> conn,
               bool reusable, asio::execution_context& home) {
  reusable = reusable && conn;
  // Connections finished while their io_context is being destroyed are closed, not pooled.
  if (reusable) reusable = asio::use_service<IdleGuard>(home).watch(s);
  {
    std::lock_guard lock(s->mutex);
    auto& o = s->origins[origin];
    if (reusable && !s->closed) {
      for (auto it = o.waiters.begin(); it != o.waiters.end(); ++it) {
        if ((*it)->home == &home) {
          auto w = std::move(*it);
          o.waiters.erase(it);
          w->granted = true;
          w->conn = std::move(conn);
          wake(w);
          return;
        }
      }
      // Idle connections count towards max_connections (o.open), which bounds them too.
      if (o.waiters.empty()) {
        conn->idle_since = Clock::now();
        o.idle.push_back(std::move(conn));
        return;
      }
    }
    free_slot(o);
  }
  if (conn) conn->close();
}

class Exchange;

// Enforces the deadlines of the exchanges running on one io_context: one sweep every
// kSweepInterval while any is registered, instead of a timer per exchange, which was armed,
// re-armed for each phase and cancelled at the end (each of those posted a handler and cost
// the event loop a trip, several per request). A deadline is therefore enforced up to
// kSweepInterval late. Touched only from its io_context's thread (each io_context of chatd
// and of the tests is run by one thread).
class DeadlineSweeper final : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;
  static constexpr auto kSweepInterval = std::chrono::milliseconds(100);

  explicit DeadlineSweeper(asio::execution_context& context) : asio::execution_context::service(context) {}

  // Watches `e` (running on `ex`, an executor of this service's io_context) until remove().
  void add(Exchange& e, const asio::any_io_executor& ex);
  void remove(Exchange& e);

 private:
  void shutdown() override;
  void arm();
  void sweep();

  Exchange* head_ = nullptr;  // an intrusive list: adding and removing allocate nothing
  std::optional<asio::steady_timer> timer_;
  bool armed_ = false;
  bool shut_down_ = false;
};

// One request/response exchange: owns the connection (and its slot) from send() until the
// body ends or the response is dropped.
class Exchange {
 public:
  Exchange(std::shared_ptr<State> state, Target target, Timeouts timeouts, Cancellation& cancel,
           const asio::any_io_executor& ex)
      : state_(std::move(state)),
        target_(std::move(target)),
        timeouts_(timeouts),
        cancel_(cancel),
        ex_(ex),
        home_(&asio::query(ex, asio::execution::context)),
        start_(Clock::now()),
        resolver_(ex) {}
  ~Exchange() { end(false); }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Connects (or reuses a pooled connection), writes the request and reads the response head.
  asio::awaitable<Status> open(const std::string& wire, bool head_request);
  // The next piece of the body; "" at its end.
  asio::awaitable<Result<std::string>> read_body();

  int status() const { return parser_->status(); }
  // The parser keeps the connection's keep-alive semantics in its own state, not in the
  // fields, so reuse is decided the same way afterwards.
  void release_head() {
    if (parser_) parser_->release_head();
  }

  std::optional<std::string> header(std::string_view name) const { return parser_->header(name); }

  // The response is being dropped: a body already read to its end still lets the connection
  // be reused; anything else closes it.
  void drop() {
    if (!ended_ && !error_ && parser_ && parser_->is_done()) complete();
    end(false);
  }

  // For DeadlineSweeper: the deadline passed when it is at or before `now`; then the exchange
  // is stopped (its pending operation fails at once, as timed out).
  void check_deadline(Clock::time_point now) {
    if (deadline_ > now) return;
    deadline_ = Clock::time_point::max();
    timed_out_ = true;
    abort();
  }

 private:
  friend class DeadlineSweeper;
  asio::awaitable<Status> acquire();
  asio::awaitable<Status> connect();
  void arm(Clock::time_point phase_deadline, std::int64_t phase_ms);
  void abort();
  void complete();
  void end(bool reusable);
  bool stopped() const { return timed_out_ || cancel_.cancelled(); }
  Error failure(const error_code& ec, std::string_view detail, std::string_view step) const;

  std::shared_ptr<State> state_;
  Target target_;
  Timeouts timeouts_;
  Cancellation& cancel_;
  asio::any_io_executor ex_;
  asio::execution_context* home_;
  Clock::time_point start_;
  Clock::time_point deadline_ = Clock::time_point::max();  // of the current phase (or the total)
  std::int64_t budget_ms_ = 0;                             // the budget of the armed deadline, for the error detail
  DeadlineSweeper* sweeper_ = nullptr;                     // set while the sweeper watches this exchange
  Exchange* prev_ = nullptr;                               // the sweeper's list
  Exchange* next_ = nullptr;
  bool timed_out_ = false;
  bool waiting_for_slot_ = false;
  tcp::resolver resolver_;
  std::shared_ptr<Waiter> waiter_;
  std::unique_ptr<UpstreamConnection> conn_;
  bool has_slot_ = false;
  bool registered_ = false;
  bool ended_ = false;
  std::optional<UpstreamParser> parser_;
  std::optional<Error> error_;  // sticky: a broken body stays broken
};

void Exchange::arm(Clock::time_point phase_deadline, std::int64_t phase_ms) {
  const auto total_deadline = after(start_, timeouts_.total_ms);
  deadline_ = total_deadline;
  budget_ms_ = timeouts_.total_ms;
  if (phase_deadline < total_deadline) {
    deadline_ = phase_deadline;
    budget_ms_ = phase_ms;
  }
  if (sweeper_ == nullptr) asio::use_service<DeadlineSweeper>(*home_).add(*this, ex_);
}

void DeadlineSweeper::add(Exchange& e, const asio::any_io_executor& ex) {
  if (shut_down_) return;  // the io_context is going away: nothing will run to time out
  e.sweeper_ = this;
  e.prev_ = nullptr;
  e.next_ = head_;
  if (head_ != nullptr) head_->prev_ = &e;
  head_ = &e;
  if (!timer_) timer_.emplace(ex);
  if (!armed_) arm();
}

void DeadlineSweeper::remove(Exchange& e) {
  if (e.sweeper_ != this) return;
  if (e.prev_ != nullptr) {
    e.prev_->next_ = e.next_;
  } else {
    head_ = e.next_;
  }
  if (e.next_ != nullptr) e.next_->prev_ = e.prev_;
  e.sweeper_ = nullptr;
  e.prev_ = e.next_ = nullptr;
  // The timer stays armed: it stops at its next sweep if nothing is left to watch. Cancelling
  // it here would post a handler per request.
}

void DeadlineSweeper::arm() {
  armed_ = true;
  timer_->expires_after(kSweepInterval);
  timer_->async_wait([this](const error_code& ec) {
    armed_ = false;
    if (ec || shut_down_) return;
    sweep();
    if (head_ != nullptr) arm();
  });
}

void DeadlineSweeper::sweep() {
  const auto now = Clock::now();
  // check_deadline() closes sockets and cancels operations, whose handlers are posted, not
  // run here: the list does not change while it is walked.
  for (Exchange* e = head_; e != nullptr; e = e->next_) e->check_deadline(now);
}

void DeadlineSweeper::shutdown() {
  shut_down_ = true;
  // Exchanges destroyed from here on (with the frames of the io_context's coroutines) leave
  // nothing behind.
  while (head_ != nullptr) remove(*head_);
  // The timer goes now, while every service of the io_context still exists: its own service
  // (created after this one) is destroyed before this one, so a timer destroyed with this
  // service would use it after it is gone. Its pending wait is dropped by the scheduler.
  timer_.reset();
  armed_ = false;
}

// Stops whatever is in flight; the pending operation then fails at once.
void Exchange::abort() {
  resolver_.cancel();
  if (waiter_) waiter_->timer.cancel();
  if (conn_) conn_->close();
}

Error Exchange::failure(const error_code& ec, std::string_view detail, std::string_view step) const {
  Error e;
  if (timed_out_) {
    e = fail(Code::timeout, (waiting_for_slot_ ? "no connection to the upstream became free within "
                                               : "the upstream did not answer within ") +
                                std::to_string(budget_ms_) + " ms");
  } else if (cancel_.cancelled()) {
    e = fail(Code::upstream, "the upstream call was cancelled");
  } else {
    e = fail(Code::upstream, std::string(detail));
  }
  e.internal = target_.origin + ": " + std::string(step);
  if (ec) e.internal += ": " + ec.message();
  return e;
}

asio::awaitable<Status> Exchange::acquire() {
  if (stopped()) co_return failure({}, "", "before sending");
  std::vector<std::unique_ptr<UpstreamConnection>> doomed;
  Lease lease = take(*state_, target_.origin, ex_, *home_, doomed);
  for (auto& c : doomed) dispose(std::move(c), home_);
  if (lease.waiter) {
    waiter_ = std::move(lease.waiter);
    waiting_for_slot_ = true;
    error_code ec;
    co_await waiter_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    lease = leave(*state_, target_.origin, *waiter_);
    waiter_.reset();
  }
  has_slot_ = lease.slot;
  conn_ = std::move(lease.conn);
  if (stopped() || !has_slot_) co_return failure({}, "", "waiting for a free connection");
  waiting_for_slot_ = false;
  co_return ok();
}

asio::awaitable<Status> Exchange::connect() {
  const std::size_t buffer_limit = state_->options.max_head_bytes + std::size_t{64} * 1024;
  conn_ = std::make_unique<UpstreamConnection>(ex_, *home_, target_.tls ? state_->tls.get() : nullptr, buffer_limit);
  error_code ec;
  std::vector<tcp::endpoint> endpoints;
  const auto literal = asio::ip::make_address(target_.host, ec);
  const bool is_literal = !ec;
  if (is_literal) {
    endpoints.emplace_back(literal, target_.port);
  } else {
    ec = {};
    const std::string port = std::to_string(target_.port);
    auto results = co_await resolver_.async_resolve(target_.host, port, asio::redirect_error(asio::use_awaitable, ec));
    if (stopped()) co_return failure(ec, "", "resolve");
    if (ec) co_return failure(ec, "cannot resolve the upstream host", "resolve");
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  if (const auto& allow = state_->options.allow_address) {
    std::string refused;
    std::erase_if(endpoints, [&](const tcp::endpoint& endpoint) {
      if (allow(endpoint.address())) return false;
      refused += (refused.empty() ? "" : ", ") + endpoint.address().to_string();
      return true;
    });
    if (endpoints.empty()) {
      Error e = failure({}, "the upstream address is not allowed", "connect");
      e.reason = std::string(kAddressNotAllowed);
      e.internal += ": the address filter refused every address (not public): " + refused;
      co_return e;
    }
  }
  // One address after the other (not asio::async_connect): closing the socket on a deadline
  // must end the attempt, not move on to the next address.
  ec = asio::error::host_not_found;
  for (const auto& endpoint : endpoints) {
    if (stopped()) break;
    error_code ignored;
    conn_->socket.close(ignored);
    conn_->socket.open(endpoint.protocol(), ec);
    if (ec) continue;
    co_await conn_->socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) break;
  }
  if (stopped()) co_return failure(ec, "", "connect");
  if (ec) co_return failure(ec, "cannot connect to the upstream", "connect");
  conn_->socket.set_option(tcp::no_delay(true), ec);
  if (!conn_->tls) co_return ok();

  auto& stream = *conn_->tls;
  if (!is_literal) {
    // SNI carries host names only (RFC 6066), never address literals.
    if (SSL_set_tlsext_host_name(stream.native_handle(), target_.host.c_str()) != 1) {
      co_return failure({}, "the TLS handshake with the upstream failed", "SNI");
    }
  }
  stream.set_verify_mode(ssl::verify_peer);
  stream.set_verify_callback(ssl::host_name_verification(target_.host));
  co_await stream.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec || stopped()) co_return failure(ec, "the TLS handshake with the upstream failed", "TLS handshake");
  co_return ok();
}

asio::awaitable<Status> Exchange::open(const std::string& wire, bool head_request) {
  registered_ = true;
  cancel_.on_cancel([this] { abort(); });
  arm(after(start_, timeouts_.connect_ms), timeouts_.connect_ms);
  Status acquired = co_await acquire();
  if (!acquired) co_return acquired;
  for (int attempt = 0;; ++attempt) {
    const bool reused = conn_ != nullptr;
    if (!reused) {
      if (attempt > 0) arm(after(Clock::now(), timeouts_.connect_ms), timeouts_.connect_ms);
      Status connected = co_await connect();
      if (!connected) co_return connected;
    }
    arm(after(Clock::now(), timeouts_.first_byte_ms), timeouts_.first_byte_ms);
    error_code ec;
    std::string_view step = "write the request";
    if (conn_->tls) {
      co_await asio::async_write(*conn_->tls, asio::buffer(wire), asio::redirect_error(asio::use_awaitable, ec));
    } else if (const std::size_t sent = send_now(conn_->socket.native_handle(), wire); sent < wire.size()) {
      co_await asio::async_write(conn_->socket, asio::buffer(wire.data() + sent, wire.size() - sent),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec) {
      step = "read the response head";
      parser_.emplace();
      parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_head_bytes));
      // No limit here: the caller bounds what it keeps (read_all). Not boost::none, which
      // Beast 1.74 compares as less than any Content-Length.
      parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      if (head_request) parser_->skip(true);
      // Room for a whole small answer in the first read (Beast reads 512 bytes into an
      // empty buffer): a completion of a few hundred bytes then needs one receive, not a
      // second one through the reactor. read_body() gives the room back before it waits.
      conn_->buffer.reserve(kFirstRead);
      if (conn_->tls) {
        co_await bhttp::async_read_header(*conn_->tls, conn_->buffer, *parser_,
                                          asio::redirect_error(asio::use_awaitable, ec));
      } else {
        co_await bhttp::async_read_header(conn_->socket, conn_->buffer, *parser_,
                                          asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    if (!ec && !stopped()) {
      // No body came with the head: wait for it holding no buffer (a TLS stream waits in
      // read_some, past read_body()'s own give-back).
      if (conn_->buffer.size() == 0) conn_->buffer.shrink_to_fit();
      arm(Clock::time_point::max(), timeouts_.total_ms);
      co_return ok();
    }
    // A pooled connection the server closed while it sat idle: nothing of an answer came
    // back, so the request cannot have been answered; try once more on a fresh connection.
    if (reused && attempt == 0 && !stopped() && conn_->buffer.size() == 0 && ec != bhttp::error::header_limit) {
      conn_->close();
      conn_.reset();
      parser_.reset();
      continue;
    }
    co_return failure(ec, describe(ec, "the connection to the upstream broke"), step);
  }
}

void Exchange::complete() {
  const bool reusable = parser_->keep_alive() && conn_ && conn_->buffer.size() == 0;
  end(reusable);
}

void Exchange::end(bool reusable) {
  if (ended_) return;
  ended_ = true;
  if (registered_) cancel_.on_cancel({});
  if (sweeper_ != nullptr) sweeper_->remove(*this);
  if (waiter_) {
    // Dropped while queued for a slot: leave the queue, and pass on a slot granted meanwhile.
    Lease lease = leave(*state_, target_.origin, *waiter_);
    waiter_.reset();
    has_slot_ = has_slot_ || lease.slot;
    if (lease.conn) conn_ = std::move(lease.conn);
  }
  reusable = reusable && !stopped();
  if (has_slot_) {
    has_slot_ = false;
    give_back(state_, target_.origin, std::move(conn_), reusable, *home_);
  } else if (conn_) {
    conn_->close();
  }
}

asio::awaitable<Result<std::string>> Exchange::read_body() {
  if (error_) co_return *error_;
  if (ended_) co_return std::string();
  UpstreamParser::Window& body = parser_->body;
  for (;;) {
    if (parser_->is_done()) {
      complete();
      co_return std::string();
    }
    error_code ec;
    std::optional<Scratch> chunk;  // the body buffer, taken only when bytes are there for it
    std::size_t n = 0;             // body bytes in it
    // A stream waiting for its next piece holds no body buffer. Over plain TCP: first let
    // the parser take what it can from the bytes already buffered without one (chunk
    // framing); unless they hold body bytes, wait until the socket has something before
    // taking a buffer. (TLS may hold decrypted bytes the socket does not show, so it reads
    // straight away.)
    if (!conn_->tls && !stopped()) {
      bool wait = true;
      body.data = nullptr;
      body.size = 0;
      // put() takes one step at a time (a chunk header, ...): repeat while it moves on.
      while (conn_->buffer.size() > 0 && !parser_->is_done()) {
        error_code put;
        const std::size_t used = parser_->put(conn_->buffer.data(), put);
        conn_->buffer.consume(used);
        if (put == bhttp::error::need_buffer) {
          wait = false;  // body bytes are waiting for a buffer
        } else if (put && put != bhttp::error::need_more) {
          ec = put;  // malformed: reported below
        }
        if (put || used == 0) break;
      }
      if (!ec && parser_->is_done()) continue;
      if (!ec && !wait) {
        // Body bytes are buffered already (an answer that came with its head): handed over
        // here. Beast's read would find them too, but post its completion: a trip through
        // the event loop for bytes in hand.
        chunk.emplace(state_->options.max_chunk_bytes);
        body.data = chunk->data();
        body.size = chunk->size();
        while (conn_->buffer.size() > 0 && body.size > 0 && !parser_->is_done()) {
          error_code put;
          const std::size_t used = parser_->put(conn_->buffer.data(), put);
          conn_->buffer.consume(used);
          if (put != bhttp::error::need_more && put != bhttp::error::need_buffer) ec = put;
          if (ec || used == 0) break;
        }
        n = chunk->size() - body.size;
        body.data = nullptr;
        body.size = 0;
        // Nothing taken after all: read as below.
      }
      if (!ec && wait) {
        // Bytes already there (an answer sent in one go): read them at once, without a
        // trip through the reactor. Otherwise wait holding no buffer at all.
        error_code probe;
        if (conn_->socket.available(probe) == 0 || probe) {
          conn_->buffer.shrink_to_fit();
          co_await conn_->socket.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
        }
      }
    }
    if (!ec && n == 0 && !stopped()) {
      chunk.emplace(state_->options.max_chunk_bytes);
      body.data = chunk->data();
      body.size = chunk->size();
      if (conn_->tls) {
        co_await bhttp::async_read_some(*conn_->tls, conn_->buffer, *parser_,
                                        asio::redirect_error(asio::use_awaitable, ec));
      } else {
        co_await bhttp::async_read_some(conn_->socket, conn_->buffer, *parser_,
                                        asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec == bhttp::error::need_buffer) ec = {};
      n = chunk->size() - body.size;
      body.data = nullptr;
      body.size = 0;
    }
    if (ec || stopped()) {
      error_ =
          failure(ec, describe(ec, "the connection to the upstream broke while reading the body"), "read the body");
      end(false);
      co_return *error_;
    }
    if (n > 0) {
      std::string out(chunk->data(), n);
      chunk.reset();
      if (parser_->is_done()) complete();
      co_return out;
    }
  }
}

class Response final : public UpstreamResponse {
 public:
  explicit Response(std::unique_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}
  ~Response() override { exchange_->drop(); }
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  int status() const override { return exchange_->status(); }
  std::optional<std::string> header(std::string_view name) const override { return exchange_->header(name); }
  asio::awaitable<Result<std::string>> read_some() override { return exchange_->read_body(); }
  void release_head() override { exchange_->release_head(); }

 private:
  std::unique_ptr<Exchange> exchange_;
};

}  // namespace

HttpClient::HttpClient(HttpClientOptions options) : state_(std::make_shared<detail::HttpClientState>()) {
  options.max_connections = std::max<std::size_t>(options.max_connections, 1);
  state_->options = std::move(options);
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_client);
  if (SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION) != 1) {
    throw std::runtime_error("cannot require TLS 1.2 for upstream connections");
  }
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  error_code ec;
  if (state_->options.ca_file) {
    tls->load_verify_file(*state_->options.ca_file, ec);
    if (ec) throw std::runtime_error("cannot load the CA file " + *state_->options.ca_file + ": " + ec.message());
  } else {
    tls->set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("cannot load the system CA certificates: " + ec.message());
  }
  tls->set_verify_mode(ssl::verify_peer);
  state_->tls = std::move(tls);
}

HttpClient::~HttpClient() {
  std::vector<std::unique_ptr<UpstreamConnection>> doomed;
  {
    std::lock_guard lock(state_->mutex);
    state_->closed = true;
    for (auto& [key, origin] : state_->origins) {
      for (auto& c : origin.idle) {
        doomed.push_back(std::move(c));
        free_slot(origin);
      }
      origin.idle.clear();
    }
  }
  for (auto& c : doomed) dispose(std::move(c), nullptr);
}

namespace {

// The last few URLs this thread sent to, parsed: a provider sends every request to the same
// one or two URLs, and parsing one cost as much as writing the request.
std::optional<Target> cached_target(const std::string& url, std::string& problem) {
  struct Entry {
    std::string url;
    Target target;
  };
  constexpr std::size_t kEntries = 8;
  thread_local std::array<Entry, kEntries> entries;
  thread_local std::size_t next = 0;
  for (const Entry& e : entries)
    if (!e.url.empty() && e.url == url) return e.target;
  auto target = parse_target(url, problem);
  if (target) {
    entries[next] = Entry{url, *target};
    next = (next + 1) % kEntries;
  }
  return target;
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> HttpClient::send(UpstreamRequest request, Timeouts timeouts,
                                                                            Cancellation& cancel) {
  std::string problem;
  auto target = cached_target(request.url, problem);
  if (!target) {
    Error e = fail(Code::upstream, "the upstream URL is not valid");
    e.internal = problem;
    co_return e;
  }
  std::string wire;
  problem = serialize_request(request, *target, state_->options.user_agent, wire);
  if (!problem.empty()) co_return internal_error(problem);
  const bool head_request = beast::iequals(request.method, "HEAD");

  auto ex = co_await asio::this_coro::executor;
  auto exchange = std::make_unique<Exchange>(state_, std::move(*target), timeouts, cancel, ex);
  Status opened = co_await exchange->open(wire, head_request);
  if (!opened) co_return opened.error();
  std::unique_ptr<UpstreamResponse> response = std::make_unique<Response>(std::move(exchange));
  co_return std::move(response);
}

}  // namespace chatd::llm
