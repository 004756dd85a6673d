// The Redis connection against a real redis-server of the test's own: commands, pipelining,
// the in-flight bound, AUTH and SELECT, publish/subscribe, a server that goes away and comes
// back, and one that never answers.
#include "redis/connection.hpp"

#include "redis/endpoint.hpp"
#include "redis_testing.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <cstdio>

namespace chatd::redis {
namespace {

namespace asio = boost::asio;

using unit::drive;

class RedisConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()) << "redis-server could not be started (scripts/install-deps)"; }

  std::shared_ptr<Connection> connect(ConnectionOptions options = {}) {
    auto local = unit::local_redis(server_.port());
    options.endpoint.host = local.endpoint.host;
    options.endpoint.port = local.endpoint.port;
    options.backoff_min = local.backoff_min;
    options.backoff_max = local.backoff_max;
    auto c = std::make_shared<Connection>(ioc_, options, log_);
    c->start();
    drive(ioc_, [&] { return c->ready(); });
    return c;
  }

  Result<Reply> call(Connection& c, std::vector<std::string> args) {
    std::optional<Result<Reply>> out;
    asio::co_spawn(
        ioc_, [&]() -> asio::awaitable<void> { out.emplace(co_await c.command(std::move(args))); }, asio::detached);
    drive(ioc_, [&] { return out.has_value(); });
    return std::move(*out);
  }

  unit::RedisServer server_;
  asio::io_context ioc_;
  Logger log_{LogLevel::error, LogFormat::json, ::fileno(stderr)};
};

TEST_F(RedisConnectionTest, CommandsAnswerWithTheirReplies) {
  auto c = connect();
  auto set = call(*c, {"SET", "k", std::string("v\0w", 3)});
  ASSERT_TRUE(set);
  EXPECT_EQ(set.value().type, Reply::Type::status);
  EXPECT_EQ(set.value().str, "OK");
  auto get = call(*c, {"GET", "k"});
  ASSERT_TRUE(get);
  EXPECT_EQ(get.value().str, std::string("v\0w", 3));  // binary-safe
  EXPECT_EQ(call(*c, {"GET", "missing"}).value().type, Reply::Type::nil);
  EXPECT_EQ(call(*c, {"INCRBY", "n", "41"}).value().integer, 41);
  auto list = call(*c, {"EVAL", "return {1, 'two', {3}}", "0"});
  ASSERT_EQ(list.value().elements.size(), 3u);
  EXPECT_EQ(list.value().elements[1].str, "two");
  EXPECT_EQ(list.value().elements[2].elements[0].integer, 3);
  // A Redis error is a reply to read, not a failure of the connection.
  auto bad = call(*c, {"NOSUCHCOMMAND"});
  ASSERT_TRUE(bad);
  EXPECT_TRUE(bad.value().is_error());
  EXPECT_TRUE(c->ready());
  c->stop();
}

TEST_F(RedisConnectionTest, ManyCommandsAtOnceArePipelinedAndEachGetsItsOwnAnswer) {
  auto c = connect();
  constexpr int kCount = 200;
  std::vector<std::optional<Result<Reply>>> out(kCount);
  for (int i = 0; i < kCount; ++i)
    asio::co_spawn(
        ioc_,
        [&, i]() -> asio::awaitable<void> {
          std::vector<std::string> echo = {"ECHO", std::to_string(i)};
          out[static_cast<std::size_t>(i)].emplace(co_await c->command(std::move(echo)));
        },
        asio::detached);
  drive(ioc_, [&] { return std::all_of(out.begin(), out.end(), [](const auto& o) { return o.has_value(); }); });
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)]->value().str, std::to_string(i));
  c->stop();
}

TEST_F(RedisConnectionTest, CommandsBeyondTheInFlightBoundFailAtOnce) {
  ConnectionOptions options;
  options.max_in_flight = 2;
  auto c = connect(options);
  std::vector<std::optional<Result<Reply>>> out(3);
  for (std::size_t i = 0; i < 3; ++i)
    asio::co_spawn(
        ioc_,
        [&, i]() -> asio::awaitable<void> {
          std::vector<std::string> ping = {"PING"};
          out[i].emplace(co_await c->command(std::move(ping)));
        },
        asio::detached);
  drive(ioc_, [&] { return out[0] && out[1] && out[2]; });
  EXPECT_TRUE(*out[0]);
  EXPECT_TRUE(*out[1]);
  ASSERT_FALSE(*out[2]);
  EXPECT_EQ(out[2]->error().code, Code::unavailable);
  c->stop();
}

TEST_F(RedisConnectionTest, AServerThatGoesAwayFailsCommandsUntilItIsBack) {
  auto c = connect();
  ASSERT_TRUE(call(*c, {"SET", "before", "1"}));
  server_.stop();
  drive(ioc_, [&] { return !c->ready(); });  // the drop is noticed
  auto during = call(*c, {"PING"});
  ASSERT_FALSE(during);
  EXPECT_EQ(during.error().code, Code::unavailable);
  ASSERT_TRUE(server_.start());
  drive(ioc_, [&] { return c->ready(); });
  EXPECT_EQ(c->connects(), 2u);
  EXPECT_EQ(call(*c, {"PING"}).value().str, "PONG");
  c->stop();
}

TEST_F(RedisConnectionTest, AuthenticatesAndSelectsItsDatabase) {
  server_.stop();
  ASSERT_TRUE(server_.start("s3cret:pass"));
  ConnectionOptions options;
  options.endpoint.password = "s3cret:pass";
  options.endpoint.db = 3;
  auto c = connect(options);
  ASSERT_TRUE(call(*c, {"SET", "where", "db3"}));
  EXPECT_EQ(call(*c, {"SELECT", "0"}).value().str, "OK");
  EXPECT_EQ(call(*c, {"GET", "where"}).value().type, Reply::Type::nil);
  EXPECT_EQ(call(*c, {"SELECT", "3"}).value().str, "OK");
  EXPECT_EQ(call(*c, {"GET", "where"}).value().str, "db3");
  c->stop();
}

TEST_F(RedisConnectionTest, AWrongPasswordNeverBecomesReady) {
  server_.stop();
  ASSERT_TRUE(server_.start("right"));
  ConnectionOptions options;
  options.endpoint = {"127.0.0.1", server_.port(), "", "wrong", 0};
  options.backoff_min = std::chrono::milliseconds(20);
  auto c = std::make_shared<Connection>(ioc_, options, log_);
  c->start();
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) ioc_.run_one_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(c->ready());
  EXPECT_EQ(c->connects(), 0u);
  c->stop();
}

TEST_F(RedisConnectionTest, SubscribersGetWhatIsPublished) {
  auto publisher = connect();
  std::vector<std::pair<std::string, std::string>> got;
  ConnectionOptions options;
  options.endpoint = {"127.0.0.1", server_.port(), "", "", 0};
  auto subscriber = std::make_shared<Connection>(ioc_, options, log_);
  subscriber->start_subscriber({"chatd:a", "chatd:b"}, [&](std::string_view ch, std::string_view msg) {
    got.emplace_back(std::string(ch), std::string(msg));
  });
  drive(ioc_, [&] { return subscriber->ready(); });
  EXPECT_EQ(call(*publisher, {"PUBLISH", "chatd:b", "hello"}).value().integer, 1);
  EXPECT_EQ(call(*publisher, {"PUBLISH", "other", "not for us"}).value().integer, 0);
  EXPECT_EQ(call(*publisher, {"PUBLISH", "chatd:a", "again"}).value().integer, 1);
  drive(ioc_, [&] { return got.size() == 2; });
  EXPECT_EQ(got[0], (std::pair<std::string, std::string>{"chatd:b", "hello"}));
  EXPECT_EQ(got[1], (std::pair<std::string, std::string>{"chatd:a", "again"}));
  // A subscriber takes no commands.
  EXPECT_FALSE(call(*subscriber, {"PING"}));
  // It subscribes again after a reconnect.
  server_.stop();
  ASSERT_TRUE(server_.start());
  drive(ioc_, [&] {
    return subscriber->connects() == 2 && subscriber->ready() && publisher->connects() == 2 && publisher->ready();
  });
  EXPECT_EQ(call(*publisher, {"PUBLISH", "chatd:a", "after"}).value().integer, 1);
  drive(ioc_, [&] { return got.size() == 3; });
  EXPECT_EQ(got[2].second, "after");
  subscriber->stop();
  publisher->stop();
}

// A server that accepts connections and never says anything.
class SilentServer {
 public:
  explicit SilentServer(asio::io_context& ioc) : acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}) { accept(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      sockets_.push_back(std::move(s));
      accept();
    });
  }
  asio::ip::tcp::acceptor acceptor_;
  std::vector<asio::ip::tcp::socket> sockets_;
};

TEST(RedisConnection, AServerThatNeverAnswersIsNotReadyAndNothingHangs) {
  asio::io_context ioc;
  Logger log(LogLevel::error, LogFormat::json, ::fileno(stderr));
  SilentServer silent(ioc);
  ConnectionOptions options;
  options.endpoint = {"127.0.0.1", silent.port(), "", "", 0};
  options.connect_timeout = std::chrono::milliseconds(50);
  options.backoff_min = std::chrono::milliseconds(20);
  auto c = std::make_shared<Connection>(ioc, options, log);
  c->start();
  std::optional<Result<Reply>> out;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        std::vector<std::string> ping = {"PING"};
        out.emplace(co_await c->command(std::move(ping)));
      },
      asio::detached);
  drive(ioc, [&] { return out.has_value(); });
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().code, Code::unavailable);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) ioc.run_one_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(c->ready());
  c->stop();
}

TEST(RedisEndpoint, ReadsTheUrlsTheSettingsAccept) {
  auto plain = parse_endpoint("redis://cache.internal:6380/2");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain.value().host, "cache.internal");
  EXPECT_EQ(plain.value().port, 6380);
  EXPECT_EQ(plain.value().db, 2);
  EXPECT_TRUE(plain.value().password.empty());
  auto user = parse_endpoint("redis://chatd:p%40ss%3Aword@127.0.0.1:6379");
  ASSERT_TRUE(user);
  EXPECT_EQ(user.value().username, "chatd");
  EXPECT_EQ(user.value().password, "p@ss:word");
  EXPECT_EQ(user.value().db, 0);
  auto password_only = parse_endpoint("redis://secret@[::1]:6379/0");
  ASSERT_TRUE(password_only);
  EXPECT_EQ(password_only.value().host, "::1");
  EXPECT_TRUE(password_only.value().username.empty());
  EXPECT_EQ(password_only.value().password, "secret");
}

TEST(RedisEndpoint, RefusesTlsAndMalformedUrlsWithoutShowingThePassword) {
  auto tls = parse_endpoint("rediss://user:hunter2@cache:6380");
  ASSERT_FALSE(tls);
  EXPECT_NE(tls.error().detail.find("rediss://"), std::string::npos);
  EXPECT_EQ(tls.error().detail.find("hunter2"), std::string::npos);
  for (const char* bad : {"http://cache:6379", "redis://cache", "redis://:6379", "redis://cache:6379/x",
                          "redis://cache:6379/-1", "redis://cache:6379?db=1"}) {
    auto r = parse_endpoint(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Code::invalid_argument);
    }
  }
}

}  // namespace
}  // namespace chatd::redis
