#pragma once
// What the Redis tests share: a redis-server of their own (redis_server.hpp), options that
// reach it with short reconnection delays, and driving an io_context until something holds.

#include "redis/connection.hpp"
#include "redis_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>

namespace chatd::unit {

// Runs the context until `done` holds; fails the test (instead of hanging) after 10 s.
template <class Pred>
void drive(boost::asio::io_context& ioc, Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "gave up waiting";
    ioc.run_one_for(std::chrono::milliseconds(10));
  }
}

inline redis::ConnectionOptions local_redis(std::uint16_t port) {
  redis::ConnectionOptions o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = port;
  o.backoff_min = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(100);
  return o;
}

}  // namespace chatd::unit
