#include "redis/connection.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

namespace chatd::redis {

namespace asio = boost::asio;

struct Connection::Pending {
  explicit Pending(asio::io_context& ioc) : timer(ioc) {}
  asio::steady_timer timer;  // woken by the reply; expiring means no answer in time
  std::optional<Result<Reply>> result;
};

namespace {

Connection* owner(const redisAsyncContext* ctx) { return static_cast<Connection*>(ctx->data); }

// Handshake replies: the last one (PING or SELECT) makes the connection ready.
void* const kHandshakeStep = nullptr;
void* const kHandshakeLast = reinterpret_cast<void*>(1);

}  // namespace

Connection::Connection(asio::io_context& ioc, ConnectionOptions options, Logger& log)
    : ioc_(ioc), options_(std::move(options)), log_(log), retry_timer_(ioc), connect_timer_(ioc) {}

Connection::~Connection() {
  if (ctx_) {
    redisAsyncContext* c = ctx_;
    ctx_ = nullptr;
    c->onDisconnect = nullptr;
    redisAsyncFree(c);
  }
}

void Connection::start() {
  asio::dispatch(ioc_, [self = shared_from_this()] { self->connect(); });
}

void Connection::start_subscriber(std::vector<std::string> channels, MessageFn on_message,
                                  std::function<void()> on_subscribed) {
  channels_ = std::move(channels);
  on_message_ = std::move(on_message);
  on_subscribed_ = std::move(on_subscribed);
  start();
}

void Connection::stop() {
  stopped_ = true;
  ready_ = false;
  retry_timer_.cancel();
  connect_timer_.cancel();
  if (ctx_) {
    redisAsyncContext* c = ctx_;
    ctx_ = nullptr;
    c->onDisconnect = nullptr;
    redisAsyncFree(c);  // pending commands get their callbacks with no reply: they fail
  }
}

// The host is resolved asynchronously (hiredis would block in getaddrinfo), then hiredis
// connects to the address without blocking.
void Connection::connect() {
  if (stopped_ || ctx_) return;
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(ioc_);
  std::uint64_t attempt = ++generation_;
  resolver->async_resolve(
      options_.endpoint.host, std::to_string(options_.endpoint.port),
      [self = shared_from_this(), resolver, attempt](const boost::system::error_code& ec,
                                                     const asio::ip::tcp::resolver::results_type& results) {
        if (self->stopped_ || attempt != self->generation_) return;
        if (ec || results.empty()) return self->closed("cannot resolve " + self->options_.endpoint.host);
        self->open(results.begin()->endpoint().address().to_string());
      });
}

void Connection::open(const std::string& ip) {
  ctx_ = redisAsyncConnect(ip.c_str(), options_.endpoint.port);
  if (!ctx_) return closed("out of memory");
  if (ctx_->err) {
    std::string why = ctx_->errstr;
    redisAsyncFree(ctx_);
    ctx_ = nullptr;
    return closed(why);
  }
  ++generation_;
  ctx_->data = this;
  ctx_->ev.data = this;
  ctx_->ev.addRead = add_read;
  ctx_->ev.delRead = del_read;
  ctx_->ev.addWrite = add_write;
  ctx_->ev.delWrite = del_write;
  ctx_->ev.cleanup = cleanup;
  socket_.emplace(ioc_, ctx_->c.fd);
  redisAsyncSetConnectCallback(ctx_, on_connect);
  redisAsyncSetDisconnectCallback(ctx_, on_disconnect);
  send_handshake();
  add_write(this);  // the socket becoming writable is how hiredis learns that it connected
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), attempt = generation_](const boost::system::error_code& ec) {
    if (ec || attempt != self->generation_ || self->ready_ || !self->ctx_) return;
    redisAsyncContext* c = self->ctx_;
    self->ctx_ = nullptr;
    c->onDisconnect = nullptr;
    redisAsyncFree(c);
    self->closed("no answer within the connect timeout");
  });
}

// AUTH and SELECT go first in the queue, before anything a caller sends; a PING (or the
// SUBSCRIBE of a subscriber) ends the handshake.
void Connection::send_handshake() {
  const Endpoint& e = options_.endpoint;
  if (!e.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!e.username.empty()) auth.push_back(e.username);
    auth.push_back(e.password);
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : auth) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAsyncCommandArgv(ctx_, on_handshake, kHandshakeStep, static_cast<int>(argv.size()), argv.data(), lens.data());
  }
  if (e.db != 0) {
    std::string db = std::to_string(e.db);
    const char* argv[] = {"SELECT", db.c_str()};
    std::size_t lens[] = {6, db.size()};
    redisAsyncCommandArgv(ctx_, on_handshake, kHandshakeStep, 2, argv, lens);
  }
  if (!channels_.empty()) {
    std::vector<const char*> argv = {"SUBSCRIBE"};
    std::vector<std::size_t> lens = {9};
    for (const auto& ch : channels_) {
      argv.push_back(ch.data());
      lens.push_back(ch.size());
    }
    redisAsyncCommandArgv(ctx_, on_subscribed, nullptr, static_cast<int>(argv.size()), argv.data(), lens.data());
    return;
  }
  const char* ping[] = {"PING"};
  std::size_t ping_len[] = {4};
  redisAsyncCommandArgv(ctx_, on_handshake, kHandshakeLast, 1, ping, ping_len);
}

void Connection::closed(std::string_view why) {
  bool was_ready = ready_;
  ready_ = false;
  if (stopped_) return;
  // One line when a working connection drops, one when a first attempt fails; the retries
  // of an outage stay quiet until it ends.
  if (was_ready || backoff_.count() == 0)
    log_.warn("redis.disconnected")
        .str("host", options_.endpoint.host)
        .num("port", options_.endpoint.port)
        .str("error", std::string(why));
  schedule_reconnect();
}

void Connection::schedule_reconnect() {
  if (stopped_) return;
  backoff_ = backoff_.count() == 0 ? options_.backoff_min : std::min(backoff_ * 2, options_.backoff_max);
  retry_timer_.expires_after(backoff_);
  retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->connect();
  });
}

bool Connection::send(const std::vector<std::string>& args, std::uint64_t id) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  // hiredis's privdata carries the command's id (never a pointer: a late answer to a command
  // that timed out must not reach a newer one), and is never dereferenced.
  void* privdata = reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));  // NOLINT(performance-no-int-to-ptr)
  return redisAsyncCommandArgv(ctx_, on_reply, privdata, static_cast<int>(argv.size()), argv.data(), lens.data()) ==
         REDIS_OK;
}

asio::awaitable<Result<Reply>> Connection::command(std::vector<std::string> args) {
  auto self = shared_from_this();  // alive until the answer, whatever happens meanwhile
  if (!ready_ || !ctx_ || !channels_.empty()) co_return fail(Code::unavailable, "Redis is not connected");
  if (in_flight_ >= options_.max_in_flight)
    co_return fail(Code::unavailable, "too many Redis commands are waiting for an answer");
  std::uint64_t id = next_id_++;
  if (!send(args, id)) co_return fail(Code::unavailable, "the command could not be sent to Redis");
  auto pending = std::make_shared<Pending>(ioc_);
  pending_.emplace(id, pending);
  ++in_flight_;
  pending->timer.expires_after(options_.command_timeout);
  boost::system::error_code ec;
  co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (pending->result) co_return std::move(*pending->result);
  pending_.erase(id);  // its answer, should it come, is dropped
  co_return fail(Code::unavailable, "Redis did not answer in time");
}

void Connection::on_connect(const redisAsyncContext* ctx, int status) {
  Connection* self = owner(ctx);
  if (!self || status == REDIS_OK) return;  // ready once the handshake is answered
  // hiredis frees the context after this callback, without calling on_disconnect.
  std::string why = ctx->errstr;
  self->ctx_ = nullptr;
  self->closed(why);
}

void Connection::on_disconnect(const redisAsyncContext* ctx, int) {
  Connection* self = owner(ctx);
  if (!self) return;
  std::string why = ctx->err ? ctx->errstr : "closed by the server";
  self->ctx_ = nullptr;  // hiredis frees it when this returns
  self->closed(why);
}

void Connection::on_reply(redisAsyncContext* ctx, void* reply, void* privdata) {
  Connection* self = owner(ctx);
  if (!self) return;
  if (self->in_flight_ > 0) --self->in_flight_;
  auto it = self->pending_.find(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(privdata)));
  if (it == self->pending_.end()) return;  // it timed out
  auto pending = std::move(it->second);
  self->pending_.erase(it);
  if (reply)
    pending->result = copy_reply(*static_cast<redisReply*>(reply));
  else
    pending->result = fail(Code::unavailable, "the connection to Redis was lost");
  pending->timer.cancel();
}

void Connection::on_handshake(redisAsyncContext* ctx, void* reply, void* privdata) {
  Connection* self = owner(ctx);
  if (!self || !reply) return;  // the context is being freed
  const auto* r = static_cast<redisReply*>(reply);
  if (r->type == REDIS_REPLY_ERROR) {
    self->log_.error("redis.handshake_failed").str("error", std::string(r->str, r->len));
    redisAsyncDisconnect(ctx);  // on_disconnect follows, then a retry with backoff
    return;
  }
  if (privdata != kHandshakeLast) return;
  self->ready_ = true;
  ++self->connects_;
  if (self->backoff_.count() != 0 || self->connects_ > 1)
    self->log_.info("redis.connected")
        .str("host", self->options_.endpoint.host)
        .num("port", self->options_.endpoint.port);
  self->backoff_ = std::chrono::milliseconds(0);
}

// Every reply of a subscription: ["subscribe", channel, count] once per channel, then
// ["message", channel, payload] for each publication.
void Connection::on_subscribed(redisAsyncContext* ctx, void* reply, void*) {
  Connection* self = owner(ctx);
  if (!self || !reply) return;
  const auto* r = static_cast<redisReply*>(reply);
  if (r->type == REDIS_REPLY_ERROR) {
    self->log_.error("redis.subscribe_failed").str("error", std::string(r->str, r->len));
    redisAsyncDisconnect(ctx);
    return;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || !r->element[0]->str) return;
  std::string_view kind(r->element[0]->str, r->element[0]->len);
  if (kind == "subscribe") {
    if (!self->ready_) {
      self->ready_ = true;
      ++self->connects_;
      if (self->backoff_.count() != 0 || self->connects_ > 1)
        self->log_.info("redis.connected").str("host", self->options_.endpoint.host).str("mode", "subscriber");
      self->backoff_ = std::chrono::milliseconds(0);
      if (self->on_subscribed_) self->on_subscribed_();
    }
    return;
  }
  if (kind == "message" && r->element[1]->str && r->element[2]->str && self->on_message_)
    self->on_message_(std::string_view(r->element[1]->str, r->element[1]->len),
                      std::string_view(r->element[2]->str, r->element[2]->len));
}

// The adapter: hiredis says when it wants to read or write; the socket is watched with
// async_wait and hiredis does the I/O. Waits are re-armed while hiredis still wants them
// (its event-library adapters keep their events persistent).
void Connection::arm_read() {
  if (reading_ || !want_read_ || !socket_) return;
  reading_ = true;
  socket_->async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this(), attempt = generation_](const boost::system::error_code& ec) {
                        if (attempt != self->generation_) return;
                        self->reading_ = false;
                        if (ec || !self->ctx_) return;
                        redisAsyncHandleRead(self->ctx_);
                        self->arm_read();
                      });
}

void Connection::arm_write() {
  if (writing_ || !want_write_ || !socket_) return;
  writing_ = true;
  socket_->async_wait(asio::posix::stream_descriptor::wait_write,
                      [self = shared_from_this(), attempt = generation_](const boost::system::error_code& ec) {
                        if (attempt != self->generation_) return;
                        self->writing_ = false;
                        if (ec || !self->ctx_) return;
                        redisAsyncHandleWrite(self->ctx_);
                        self->arm_write();
                      });
}

void Connection::add_read(void* p) {
  auto* self = static_cast<Connection*>(p);
  self->want_read_ = true;
  self->arm_read();
}

void Connection::del_read(void* p) { static_cast<Connection*>(p)->want_read_ = false; }

void Connection::add_write(void* p) {
  auto* self = static_cast<Connection*>(p);
  self->want_write_ = true;
  self->arm_write();
}

void Connection::del_write(void* p) { static_cast<Connection*>(p)->want_write_ = false; }

// hiredis frees the context (and closes its socket): forget the socket without closing it.
void Connection::cleanup(void* p) {
  auto* self = static_cast<Connection*>(p);
  ++self->generation_;  // waits still pending on the old socket end as no-ops
  self->want_read_ = self->want_write_ = self->reading_ = self->writing_ = false;
  if (self->socket_) {
    self->socket_->release();
    self->socket_.reset();
  }
}

}  // namespace chatd::redis
