#include "llm/http_client.hpp"

#include "../run_awaitable.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

namespace chatd::llm {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Polls `pred` until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

// ---------------------------------------------------------------------------------------------
// A throw-away PKI made with the OpenSSL C API: a CA and server certificates it signs.

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer` (self-signed when null). A CA when
// `san` is empty, else a server certificate with that subjectAltName.
Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, const std::string& san) {
  static std::atomic<long> serial{1};
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (san.empty()) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    add_extension(cert.get(), signer, NID_subject_alt_name, san);
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
  }
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string cert_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  return bio_string(bio);
}

std::string key_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(bio);
}

struct Ca {
  Pkey key{EVP_EC_gen("P-256")};
  Cert cert;
  std::string file;  // PEM file holding the CA certificate

  explicit Ca(const std::string& name) {
    cert = make_cert(key.get(), name, nullptr, nullptr, "");
    file = (std::filesystem::temp_directory_path() /
            ("chatd-http-client-test-" + std::to_string(::getpid()) + "-" + name + ".pem"))
               .string();
    std::ofstream(file) << cert_pem(cert.get());
  }
  ~Ca() { std::remove(file.c_str()); }

  // A server TLS context presenting a certificate for `san` signed by this CA.
  std::shared_ptr<ssl::context> server_context(const std::string& san) const {
    Pkey server_key(EVP_EC_gen("P-256"));
    Cert server_cert = make_cert(server_key.get(), "test server", cert.get(), key.get(), san);
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    std::string chain = cert_pem(server_cert.get());
    std::string private_key = key_pem(server_key.get());
    ctx->use_certificate_chain(asio::buffer(chain));
    ctx->use_private_key(asio::buffer(private_key), ssl::context::pem);
    return ctx;
  }
};

// ---------------------------------------------------------------------------------------------
// A scripted HTTP/1.1 server on 127.0.0.1:0 with its own thread and io_context.

enum class Script {
  ok,                   // 200 with a Content-Length body, keep-alive
  chunked_slowly,       // chunked body written a few bytes at a time with pauses
  close_after_answer,   // answers like `ok`, then closes the connection (no Connection: close)
  ok_connection_close,  // answers like `ok` with Connection: close, then reads on (never answers again)
  never_answer,         // reads the request, then waits for the client to go away
  dribble,              // a Content-Length body of 100 bytes, one byte every 50 ms
  slow,                 // answers like `ok` after 300 ms
  huge_head,            // a 100 KiB response head
  stream_then_hold,     // a chunked head and one chunk, then waits for the client to go away
  until_close,          // a body delimited by closing the connection
  silent,               // accepts and never reads or writes
};

constexpr std::string_view kChunkedWire =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    "6\r\ndata: \r\n"
    "5;ext=1\r\nfirst\r\n"
    "1\r\n\n\r\n"
    "d\r\ndata: second\n\r\n"
    "0\r\nTrailer: x\r\n\r\n";
constexpr std::string_view kChunkedBody = "data: first\ndata: second\n";

class TestServer {
 public:
  explicit TestServer(Script script, std::shared_ptr<ssl::context> tls = nullptr)
      : script_(script), tls_(std::move(tls)), acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestServer() {
    ioc_.stop();
    thread_.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& host = "127.0.0.1", const std::string& path = "/v1/chat") const {
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_) + path;
  }
  int accepted() const { return accepted_.load(); }
  int open_now() const { return open_.load(); }
  int max_open() const { return max_open_.load(); }
  int closed() const { return closed_.load(); }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  SteadyClock::time_point last_close() const {
    std::lock_guard lock(mutex_);
    return last_close_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket socket(ioc_);
      co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++accepted_;
      int now_open = ++open_;
      int seen = max_open_.load();
      while (now_open > seen && !max_open_.compare_exchange_weak(seen, now_open)) {
      }
      asio::co_spawn(ioc_, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    if (script_ == Script::silent) {
      co_await wait_for_eof(socket);
    } else if (tls_) {
      ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
      error_code ec;
      co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) co_await serve(stream);
    } else {
      co_await serve(socket);
    }
    --open_;
    {
      std::lock_guard lock(mutex_);
      last_close_ = SteadyClock::now();
    }
    ++closed_;  // after last_close_: a test seeing the count sees the time
  }

  template <class Stream>
  asio::awaitable<void> wait_for_eof(Stream& stream) {
    char sink[512];
    error_code ec;
    while (!ec) co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
  }

  template <class Stream>
  asio::awaitable<bool> put(Stream& stream, std::string_view bytes) {
    error_code ec;
    co_await asio::async_write(stream, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream) {
    std::string buffer;
    const std::string ok_answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\n\r\nhello";
    for (;;) {
      error_code ec;
      std::size_t n = co_await asio::async_read_until(stream, asio::dynamic_buffer(buffer), "\r\n\r\n",
                                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      std::string head = buffer.substr(0, n);
      buffer.erase(0, n);
      std::size_t length = 0;
      if (auto at = head.find("Content-Length: "); at != std::string::npos) {
        length = std::stoul(head.substr(at + 16));
      }
      if (buffer.size() < length) {
        co_await asio::async_read(stream, asio::dynamic_buffer(buffer), asio::transfer_exactly(length - buffer.size()),
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(head + buffer.substr(0, length));
      }
      buffer.erase(0, length);

      switch (script_) {
        case Script::ok:
          if (!co_await put(stream, ok_answer)) co_return;
          break;
        case Script::slow:
          co_await pause(300ms);
          if (!co_await put(stream, ok_answer)) co_return;
          break;
        case Script::close_after_answer: co_await put(stream, ok_answer); co_return;
        case Script::ok_connection_close:
          co_await put(stream, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\nX-Test: yes\r\n\r\nhello");
          co_await wait_for_eof(stream);  // a client that pooled this connection would hang here
          co_return;
        case Script::chunked_slowly:
          for (std::size_t i = 0; i < kChunkedWire.size(); i += 3) {
            if (!co_await put(stream, kChunkedWire.substr(i, 3))) co_return;
            co_await pause(1ms);
          }
          break;
        case Script::never_answer: co_await wait_for_eof(stream); co_return;
        case Script::dribble: {
          if (!co_await put(stream, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")) co_return;
          for (int i = 0; i < 100; ++i) {
            co_await pause(50ms);
            if (!co_await put(stream, "x")) co_return;
          }
          break;
        }
        case Script::huge_head: {
          std::string big =
              "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100 * 1024, 'a') + "\r\nContent-Length: 0\r\n\r\n";
          if (!co_await put(stream, big)) co_return;
          break;
        }
        case Script::stream_then_hold:
          if (!co_await put(stream, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")) co_return;
          co_await wait_for_eof(stream);
          co_return;
        case Script::until_close: co_await put(stream, "HTTP/1.1 200 OK\r\n\r\nuntil the end"); co_return;
        case Script::silent: co_return;
      }
    }
  }

  Script script_;
  std::shared_ptr<ssl::context> tls_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
  std::atomic<int> closed_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  SteadyClock::time_point last_close_{};
};

// ---------------------------------------------------------------------------------------------
// Client side helpers.

using unit::run;

struct Fetched {
  int status = 0;
  std::string body;
  std::optional<std::string> x_test;
};

UpstreamRequest post(const std::string& url) {
  UpstreamRequest request;
  request.url = url;
  request.body = "{}";
  request.headers.emplace_back("Content-Type", "application/json");
  return request;
}

asio::awaitable<Result<Fetched>> fetch(HttpClient& client, std::string url, Timeouts timeouts = {}) {
  Cancellation cancel;
  UpstreamRequest request = post(url);
  auto sent = co_await client.send(std::move(request), timeouts, cancel);
  if (!sent) co_return sent.error();
  std::unique_ptr<UpstreamResponse> response = std::move(sent.value());
  auto body = co_await read_all(*response, 1 << 20);
  if (!body) co_return body.error();
  Fetched out;
  out.status = response->status();
  out.body = body.value();
  out.x_test = response->header("x-test");
  co_return out;
}

// Like fetch(), but gives up the head before reading the body, as a provider does on a 2xx.
asio::awaitable<Result<Fetched>> fetch_releasing_head(HttpClient& client, std::string url) {
  Cancellation cancel;
  Timeouts timeouts;
  timeouts.first_byte_ms = 2000;
  auto sent = co_await client.send(post(url), timeouts, cancel);
  if (!sent) co_return sent.error();
  std::unique_ptr<UpstreamResponse> response = std::move(sent.value());
  Fetched out;
  out.status = response->status();
  response->release_head();
  out.x_test = response->header("x-test");
  auto body = co_await read_all(*response, 1 << 20);
  if (!body) co_return body.error();
  out.body = body.value();
  co_return out;
}

class HttpClientTest : public ::testing::Test {
 protected:
  Result<Fetched> get(HttpClient& client, const std::string& url, Timeouts timeouts = {}) {
    return run(ioc, fetch(client, url, timeouts));
  }
  // Starts `task` on `ioc` without running it; `done` gets its result.
  void spawn(asio::awaitable<Result<Fetched>> task, std::function<void(Result<Fetched>)> done) {
    asio::co_spawn(ioc, deliver(std::move(task), std::move(done)), [](const std::exception_ptr& e) {
      if (e) std::rethrow_exception(e);
    });
  }
  static asio::awaitable<void> deliver(asio::awaitable<Result<Fetched>> task,
                                       std::function<void(Result<Fetched>)> done) {
    Result<Fetched> r = co_await std::move(task);
    done(std::move(r));
  }
  asio::io_context ioc;
};

// ---------------------------------------------------------------------------------------------

TEST_F(HttpClientTest, ContentLengthAnswer) {
  TestServer server(Script::ok);
  HttpClient client;
  auto r = get(client, server.url() + "?stream=true");
  ASSERT_TRUE(r) << r.error().detail << " / " << r.error().internal;
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().body, "hello");
  EXPECT_EQ(r.value().x_test, "yes");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string& wire = requests[0];
  EXPECT_EQ(wire.rfind("POST /v1/chat?stream=true HTTP/1.1\r\n", 0), 0u) << wire;
  EXPECT_NE(wire.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("\r\nContent-Length: 2\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("\r\nConnection: keep-alive\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("\r\nUser-Agent: chatd/"), std::string::npos) << wire;
  EXPECT_NE(wire.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << wire;
  EXPECT_EQ(wire.substr(wire.size() - 6), "\r\n\r\n{}");
}

TEST_F(HttpClientTest, ChunkedAnswerInTinyPiecesIsDechunkedAndBounded) {
  TestServer server(Script::chunked_slowly);
  HttpClientOptions options;
  options.max_chunk_bytes = 4;
  HttpClient client(options);
  std::vector<std::string> pieces;
  auto task = [&]() -> asio::awaitable<Status> {
    Cancellation cancel;
    UpstreamRequest request = post(server.url());
    auto sent = co_await client.send(std::move(request), Timeouts{}, cancel);
    if (!sent) co_return sent.error();
    std::unique_ptr<UpstreamResponse> response = std::move(sent.value());
    for (;;) {
      auto piece = co_await response->read_some();
      if (!piece) co_return piece.error();
      if (piece.value().empty()) co_return ok();
      pieces.push_back(piece.value());
    }
  };
  auto r = run(ioc, task());
  ASSERT_TRUE(r) << r.error().detail << " / " << r.error().internal;
  std::string joined;
  for (const auto& p : pieces) {
    EXPECT_LE(p.size(), 4u);
    joined += p;
  }
  EXPECT_EQ(joined, kChunkedBody);
  EXPECT_GT(pieces.size(), 6u);  // handed out as it arrived, not in one piece
  // Read to its end, the connection went back to the pool.
  auto again = get(client, server.url());
  ASSERT_TRUE(again) << again.error().internal;
  EXPECT_EQ(again.value().body, kChunkedBody);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, ReusesAKeepAliveConnection) {
  TestServer server(Script::ok);
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    auto r = get(client, server.url());
    ASSERT_TRUE(r) << r.error().internal;
    EXPECT_EQ(r.value().body, "hello");
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(HttpClientTest, ReleasingTheHeadKeepsStatusAndConnectionReuse) {
  TestServer server(Script::ok);
  HttpClient client;
  for (int i = 0; i < 2; ++i) {
    auto r = run(ioc, fetch_releasing_head(client, server.url()));
    ASSERT_TRUE(r) << r.error().internal;
    EXPECT_EQ(r.value().status, 200);
    EXPECT_EQ(r.value().body, "hello");
    EXPECT_EQ(r.value().x_test, std::nullopt);  // the fields are gone
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, ReleasingTheHeadStillHonoursConnectionClose) {
  TestServer server(Script::ok_connection_close);
  HttpClient client;
  for (int i = 0; i < 2; ++i) {
    auto r = run(ioc, fetch_releasing_head(client, server.url()));
    ASSERT_TRUE(r) << r.error().detail << " / " << r.error().internal;
    EXPECT_EQ(r.value().body, "hello");
  }
  // Connection: close was seen before the fields went: the connection was not pooled (the
  // server never answers a second request on it).
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(HttpClientTest, RetriesOnceWhenTheServerClosedAPooledConnection) {
  TestServer server(Script::close_after_answer);
  HttpClient client;
  auto first = get(client, server.url());
  ASSERT_TRUE(first) << first.error().internal;
  ASSERT_TRUE(eventually([&] { return server.closed() == 1; }));
  auto second = get(client, server.url());
  ASSERT_TRUE(second) << second.error().detail << " / " << second.error().internal;
  EXPECT_EQ(second.value().body, "hello");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(HttpClientTest, IdleConnectionsOlderThanTheTtlAreNotReused) {
  TestServer server(Script::ok);
  HttpClientOptions options;
  options.idle_ttl_ms = 0;
  HttpClient client(options);
  ASSERT_TRUE(get(client, server.url()));
  ASSERT_TRUE(get(client, server.url()));
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }));
}

TEST_F(HttpClientTest, FirstByteTimeout) {
  TestServer server(Script::never_answer);
  HttpClient client;
  Timeouts timeouts;
  timeouts.first_byte_ms = 200;
  auto r = get(client, server.url(), timeouts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::timeout);
  EXPECT_EQ(r.error().detail, "the upstream did not answer within 200 ms");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }));
  EXPECT_EQ(server.accepted(), 1);  // no retry of a fresh connection
}

// Deadlines are swept per io_context while an exchange is registered: the sweeper stops when
// none is left (so that the io_context runs out of work) and starts again with the next one.
TEST_F(HttpClientTest, DeadlinesHoldAgainAfterTheSweeperStopped) {
  TestServer server(Script::never_answer);
  HttpClient client;
  Timeouts timeouts;
  timeouts.first_byte_ms = 150;
  for (int i = 0; i < 2; ++i) {
    auto r = get(client, server.url(), timeouts);  // returns once the io_context has no work left
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::timeout);
    EXPECT_EQ(r.error().detail, "the upstream did not answer within 150 ms");
  }
  EXPECT_TRUE(eventually([&] { return server.closed() == 2; }));
}

TEST_F(HttpClientTest, TotalTimeoutWhileTheBodyDribbles) {
  TestServer server(Script::dribble);
  HttpClient client;
  Timeouts timeouts;
  timeouts.total_ms = 400;
  auto r = get(client, server.url(), timeouts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::timeout);
  EXPECT_EQ(r.error().detail, "the upstream did not answer within 400 ms");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }));
}

TEST_F(HttpClientTest, ConnectTimeoutWhenTheTlsHandshakeNeverCompletes) {
  TestServer server(Script::silent);
  HttpClient client;
  Timeouts timeouts;
  timeouts.connect_ms = 200;
  auto r = get(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/", timeouts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::timeout);
  EXPECT_EQ(r.error().detail, "the upstream did not answer within 200 ms");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }));
}

TEST_F(HttpClientTest, ConnectionRefusedIsAnUpstreamError) {
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  HttpClient client;
  auto r = get(client, "http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::upstream);
  EXPECT_EQ(r.error().detail, "cannot connect to the upstream");
  EXPECT_NE(r.error().internal.find("refused"), std::string::npos) << r.error().internal;
}

TEST_F(HttpClientTest, AnAddressFilterRefusingEveryAddressFailsBeforeConnecting) {
  TestServer server(Script::ok);
  HttpClientOptions options;
  std::vector<std::string> asked;
  options.allow_address = [&](const asio::ip::address& address) {
    asked.push_back(address.to_string());
    return !address.is_loopback();
  };
  HttpClient client(options);
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto r = get(client, server.url(host));
    ASSERT_FALSE(r) << host;
    EXPECT_EQ(r.error().code, Code::upstream);
    EXPECT_EQ(r.error().reason, kAddressNotAllowed);
    EXPECT_EQ(r.error().detail, "the upstream address is not allowed");
    EXPECT_NE(r.error().internal.find("not public"), std::string::npos) << r.error().internal;
    EXPECT_NE(r.error().internal.find("127.0.0.1"), std::string::npos) << r.error().internal;
  }
  EXPECT_FALSE(asked.empty());
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(HttpClientTest, AnAddressFilterAllowingTheAddressConnects) {
  TestServer server(Script::ok);
  HttpClientOptions options;
  std::vector<std::string> asked;
  options.allow_address = [&](const asio::ip::address& address) {
    asked.push_back(address.to_string());
    return address.is_loopback();
  };
  HttpClient client(options);
  auto r = get(client, server.url());
  ASSERT_TRUE(r) << r.error().detail << " / " << r.error().internal;
  EXPECT_EQ(r.value().body, "hello");
  EXPECT_EQ(asked, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, CancellationMidBodyClosesTheConnectionAtOnce) {
  TestServer server(Script::stream_then_hold);
  HttpClient client;
  Cancellation cancel;
  SteadyClock::time_point cancelled_at{};
  std::optional<Result<std::string>> first;
  std::optional<Result<std::string>> second;
  auto task = [&]() -> asio::awaitable<Status> {
    UpstreamRequest request = post(server.url());
    auto sent = co_await client.send(std::move(request), Timeouts{}, cancel);
    if (!sent) co_return sent.error();
    std::unique_ptr<UpstreamResponse> response = std::move(sent.value());
    first.emplace(co_await response->read_some());
    // Cancel while the next read waits for bytes that never come.
    asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
    timer.async_wait([&](const error_code&) {
      cancelled_at = SteadyClock::now();
      cancel.cancel();
    });
    second.emplace(co_await response->read_some());
    co_return ok();
  };
  auto r = run(ioc, task());
  ASSERT_TRUE(r) << r.error().internal;
  ASSERT_TRUE(first && first->has_value());
  EXPECT_EQ(first->value(), "first");
  ASSERT_TRUE(second && !second->has_value());
  EXPECT_EQ(second->error().code, Code::upstream);
  EXPECT_EQ(second->error().detail, "the upstream call was cancelled");
  ASSERT_TRUE(eventually([&] { return server.closed() == 1; }));
  EXPECT_LT(server.last_close() - cancelled_at, 1s);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, CancelledBeforeSendingFailsAtOnce) {
  TestServer server(Script::ok);
  HttpClient client;
  Cancellation cancel;
  cancel.cancel();
  auto task = [&]() -> asio::awaitable<Status> {
    UpstreamRequest request = post(server.url());
    auto sent = co_await client.send(std::move(request), Timeouts{}, cancel);
    if (!sent) co_return sent.error();
    co_return ok();
  };
  auto r = run(ioc, task());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::upstream);
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(HttpClientTest, AResponseDroppedEarlyClosesItsConnection) {
  TestServer server(Script::stream_then_hold);
  HttpClient client;
  auto task = [&]() -> asio::awaitable<Status> {
    Cancellation cancel;
    UpstreamRequest request = post(server.url());
    auto sent = co_await client.send(std::move(request), Timeouts{}, cancel);
    if (!sent) co_return sent.error();
    std::unique_ptr<UpstreamResponse> response = std::move(sent.value());
    auto piece = co_await response->read_some();
    if (!piece) co_return piece.error();
    co_return ok();
  };
  auto r = run(ioc, task());
  ASSERT_TRUE(r) << r.error().internal;
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }));
}

TEST_F(HttpClientTest, AtMostMaxConnectionsPerOrigin) {
  TestServer server(Script::slow);
  HttpClientOptions options;
  options.max_connections = 2;
  HttpClient client(options);
  std::vector<std::optional<Result<Fetched>>> results(3);
  ioc.restart();
  for (auto& slot : results) {
    spawn(fetch(client, server.url()), [&slot](Result<Fetched> r) { slot.emplace(std::move(r)); });
  }
  ioc.run();
  for (auto& r : results) {
    ASSERT_TRUE(r && r->has_value()) << (r ? r->error().internal : "not finished");
    EXPECT_EQ(r->value().body, "hello");
  }
  EXPECT_LE(server.max_open(), 2);
  EXPECT_EQ(server.accepted(), 2);  // the third request waited and reused a connection
}

TEST_F(HttpClientTest, WaitingForAFreeConnectionEndsAtTheConnectTimeout) {
  TestServer server(Script::never_answer);
  HttpClientOptions options;
  options.max_connections = 1;
  HttpClient client(options);
  Timeouts holder;
  holder.first_byte_ms = 1500;
  Timeouts waiter;
  waiter.connect_ms = 200;
  std::optional<Result<Fetched>> held;
  std::optional<Result<Fetched>> waited;
  ioc.restart();
  spawn(fetch(client, server.url(), holder), [&](Result<Fetched> r) { held.emplace(std::move(r)); });
  spawn(fetch(client, server.url(), waiter), [&](Result<Fetched> r) {
    waited.emplace(std::move(r));
    EXPECT_FALSE(held.has_value());  // gave up while the other still held the only connection
  });
  ioc.run();
  ASSERT_TRUE(waited && !waited->has_value());
  EXPECT_EQ(waited->error().code, Code::timeout);
  EXPECT_EQ(waited->error().detail, "no connection to the upstream became free within 200 ms");
  ASSERT_TRUE(held && !held->has_value());
  EXPECT_EQ(held->error().code, Code::timeout);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, OversizedHeadIsRefused) {
  TestServer server(Script::huge_head);
  HttpClient client;
  auto r = get(client, server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::upstream);
  EXPECT_EQ(r.error().detail, "the upstream response head is too large");
}

TEST_F(HttpClientTest, BodyUntilCloseIsReadAndNotPooled) {
  TestServer server(Script::until_close);
  HttpClient client;
  auto r = get(client, server.url());
  ASSERT_TRUE(r) << r.error().internal;
  EXPECT_EQ(r.value().body, "until the end");
  auto again = get(client, server.url());
  ASSERT_TRUE(again) << again.error().internal;
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(HttpClientTest, ReadAllEnforcesItsLimit) {
  TestServer server(Script::ok);
  HttpClient client;
  auto task = [&]() -> asio::awaitable<Result<std::string>> {
    Cancellation cancel;
    UpstreamRequest request = post(server.url());
    auto sent = co_await client.send(std::move(request), Timeouts{}, cancel);
    if (!sent) co_return sent.error();
    std::unique_ptr<UpstreamResponse> response = std::move(sent.value());
    co_return co_await read_all(*response, 4);
  };
  auto r = run(ioc, task());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::upstream);
}

TEST_F(HttpClientTest, MalformedRequestsAreRefusedBeforeConnecting) {
  TestServer server(Script::ok);
  HttpClient client;
  Cancellation cancel;
  auto send = [&](UpstreamRequest request) -> Status {
    auto task = [&]() -> asio::awaitable<Status> {
      auto sent = co_await client.send(std::move(request), Timeouts{}, cancel);
      if (!sent) co_return sent.error();
      co_return ok();
    };
    return run(ioc, task());
  };
  UpstreamRequest injected = post(server.url());
  injected.headers.emplace_back("X-Evil", "a\r\nHost: b");
  EXPECT_EQ(send(injected).error().code, Code::internal);
  UpstreamRequest framing = post(server.url());
  framing.headers.emplace_back("Content-Length", "5");
  EXPECT_EQ(send(framing).error().code, Code::internal);
  EXPECT_EQ(send(post("ftp://127.0.0.1/")).error().code, Code::upstream);
  EXPECT_EQ(send(post("http://user:pw@127.0.0.1/")).error().code, Code::upstream);
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(HttpClientTest, PooledConnectionsStayOnTheirIoContext) {
  TestServer server(Script::ok);
  HttpClient client;
  asio::io_context other;
  ASSERT_TRUE(get(client, server.url()));
  ASSERT_TRUE(run(other, fetch(client, server.url())));
  ASSERT_TRUE(get(client, server.url()));
  ASSERT_TRUE(run(other, fetch(client, server.url())));
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(HttpClientTest, ThreadsShareTheConnectionBound) {
  TestServer server(Script::ok);
  HttpClientOptions options;
  options.max_connections = 1;
  HttpClient client(options);
  std::atomic<int> succeeded{0};
  auto worker = [&] {
    asio::io_context own;
    for (int i = 0; i < 15; ++i) {
      auto r = run(own, fetch(client, server.url()));
      if (r && r.value().body == "hello") ++succeeded;
    }
  };
  std::thread a(worker);
  std::thread b(worker);
  a.join();
  b.join();
  EXPECT_EQ(succeeded.load(), 30);
  EXPECT_EQ(server.requests().size(), 30u);
}

TEST_F(HttpClientTest, IdleConnectionsCloseWithTheirIoContext) {
  TestServer server(Script::ok);
  HttpClient client;
  {
    asio::io_context short_lived;
    ASSERT_TRUE(run(short_lived, fetch(client, server.url())));
  }
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }));
  ASSERT_TRUE(get(client, server.url()));
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(HttpClientTest, IdleConnectionsCloseWithTheClient) {
  TestServer server(Script::ok);
  {
    HttpClient client;
    ASSERT_TRUE(get(client, server.url()));
  }
  ioc.restart();
  ioc.poll();  // the close was posted to the connection's io_context
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }));
}

// ---------------------------------------------------------------------------------------------
// TLS

TEST_F(HttpClientTest, TlsWithATrustedCaAndMatchingNames) {
  Ca ca("trusted-ca");
  TestServer server(Script::ok, ca.server_context("DNS:localhost,IP:127.0.0.1"));
  HttpClientOptions options;
  options.ca_file = ca.file;
  HttpClient client(options);
  auto by_name = get(client, server.url("localhost"));
  ASSERT_TRUE(by_name) << by_name.error().detail << " / " << by_name.error().internal;
  EXPECT_EQ(by_name.value().body, "hello");
  auto by_address = get(client, server.url("127.0.0.1"));
  ASSERT_TRUE(by_address) << by_address.error().detail << " / " << by_address.error().internal;
  auto again = get(client, server.url("localhost"));
  ASSERT_TRUE(again) << again.error().internal;
  EXPECT_EQ(server.accepted(), 2);  // one per origin, reused
}

TEST_F(HttpClientTest, TlsHonoursSslCertFileForTheSystemStore) {
  Ca ca("env-ca");
  TestServer server(Script::ok, ca.server_context("DNS:localhost"));
  ::setenv("SSL_CERT_FILE", ca.file.c_str(), 1);
  HttpClient client;
  ::unsetenv("SSL_CERT_FILE");
  auto r = get(client, server.url("localhost"));
  ASSERT_TRUE(r) << r.error().detail << " / " << r.error().internal;
}

TEST_F(HttpClientTest, TlsWithAnUntrustedCaFails) {
  Ca ca("server-ca");
  Ca stranger("other-ca");
  TestServer server(Script::ok, ca.server_context("DNS:localhost,IP:127.0.0.1"));
  HttpClientOptions options;
  options.ca_file = stranger.file;
  HttpClient client(options);
  auto r = get(client, server.url("localhost"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::upstream);
  EXPECT_EQ(r.error().detail, "the TLS handshake with the upstream failed");
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST_F(HttpClientTest, TlsWithAMismatchedHostNameFails) {
  Ca ca("name-ca");
  TestServer server(Script::ok, ca.server_context("DNS:other.example"));
  HttpClientOptions options;
  options.ca_file = ca.file;
  HttpClient client(options);
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    auto r = get(client, server.url(host));
    ASSERT_FALSE(r) << host;
    EXPECT_EQ(r.error().code, Code::upstream);
    EXPECT_EQ(r.error().detail, "the TLS handshake with the upstream failed");
  }
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST(HttpClientOptionsTest, AnUnreadableCaFileStopsTheStart) {
  HttpClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(HttpClient{options}, std::runtime_error);
}

}  // namespace
}  // namespace chatd::llm
