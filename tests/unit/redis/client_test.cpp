// redis::Client: one connection per io_context, chosen by the context the calling coroutine
// runs on; publish from any thread; the subscriber's catch-up hook after a reconnection.
#include "redis/client.hpp"

#include "redis_testing.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

namespace chatd::redis {
namespace {

namespace asio = boost::asio;

using unit::drive;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()) << "redis-server could not be started (scripts/install-deps)"; }

  ConnectionOptions options() { return unit::local_redis(server_.port()); }

  Result<Reply> call(Client& client, asio::io_context& ioc, std::vector<std::string> args) {
    std::optional<Result<Reply>> out;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await client.command(std::move(args))); }, asio::detached);
    drive(ioc, [&] { return out.has_value(); });
    return std::move(*out);
  }

  // Retries until Redis answers (the connections connect once the context runs).
  Result<Reply> call_when_ready(Client& client, asio::io_context& ioc, const std::vector<std::string>& args) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto r = call(client, ioc, args);
      if (r || std::chrono::steady_clock::now() > deadline) return r;
      ioc.run_for(std::chrono::milliseconds(10));
    }
  }

  unit::RedisServer server_;
  Logger log_{LogLevel::error, LogFormat::json, ::fileno(stderr)};
};

TEST_F(RedisClientTest, EachContextUsesItsOwnConnection) {
  asio::io_context a, b, stranger;
  Client client(options(), log_);
  client.attach({&a, &b});
  ASSERT_TRUE(call_when_ready(client, a, {"CLIENT", "SETNAME", "from-a"}));
  ASSERT_TRUE(call_when_ready(client, b, {"CLIENT", "SETNAME", "from-b"}));
  EXPECT_EQ(call(client, a, {"CLIENT", "GETNAME"}).value().str, "from-a");
  EXPECT_EQ(call(client, b, {"CLIENT", "GETNAME"}).value().str, "from-b");
  // A coroutine on a context the client was not attached to has no connection.
  auto none = call(client, stranger, {"PING"});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Code::unavailable);
  client.stop();
}

TEST_F(RedisClientTest, PingSaysWhetherRedisAnswers) {
  asio::io_context ioc;
  Client client(options(), log_);
  client.attach({&ioc});
  ASSERT_TRUE(call_when_ready(client, ioc, {"PING"}));
  auto ping = [&] {
    std::optional<Status> st;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { st.emplace(co_await client.ping()); }, asio::detached);
    drive(ioc, [&] { return st.has_value(); });
    return *st;
  };
  EXPECT_TRUE(ping());
  server_.stop();
  auto down = ping();
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Code::unavailable);
  client.stop();
}

TEST_F(RedisClientTest, PublishedMessagesReachTheSubscriberAndAReconnectionIsAnnounced) {
  asio::io_context ioc;
  Client client(options(), log_);
  std::vector<std::string> heard;
  int subscribed = 0;
  client.subscribe(
      {"chatd:test"},
      [&](std::string_view channel, std::string_view message) {
        heard.push_back(std::string(channel) + "=" + std::string(message));
      },
      [&] { ++subscribed; });
  client.attach({&ioc});
  drive(ioc, [&] { return subscribed == 1; });
  ASSERT_TRUE(call_when_ready(client, ioc, {"PING"}));
  // From another thread, as a worker would.
  std::thread([&] { client.publish("chatd:test", "hello"); }).join();
  drive(ioc, [&] { return !heard.empty(); });
  EXPECT_EQ(heard, std::vector<std::string>{"chatd:test=hello"});

  server_.stop();
  ASSERT_TRUE(server_.start());
  drive(ioc, [&] { return subscribed == 2; });  // the hook runs again: messages may have been missed
  ASSERT_TRUE(call_when_ready(client, ioc, {"PING"}));
  client.publish("chatd:test", "again");
  drive(ioc, [&] { return heard.size() == 2; });
  EXPECT_EQ(heard.back(), "chatd:test=again");
  client.stop();
}

}  // namespace
}  // namespace chatd::redis
