#include "http/server.hpp"

#include <gtest/gtest.h>

namespace chatd::http {
namespace {

// /v1 bodies (which carry images) have their own, larger limit; every other path the general one.
TEST(ServerBodyLimit, TheLargeLimitAppliesUnderItsPrefixOnly) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  EXPECT_EQ(body_limit(o, "/v1/chat/completions"), 1000);  // no prefix configured
  o.large_body_prefix = "/v1/";
  o.large_body_bytes = 5000;
  EXPECT_EQ(body_limit(o, "/v1/chat/completions"), 5000);
  EXPECT_EQ(body_limit(o, "/v1/embeddings?x=1"), 5000);
  EXPECT_EQ(body_limit(o, "/v1"), 1000);
  EXPECT_EQ(body_limit(o, "/conversations/1/messages"), 1000);
  EXPECT_EQ(body_limit(o, "/x/v1/chat/completions"), 1000);
  o.large_body_bytes = 10;  // never below the general limit
  EXPECT_EQ(body_limit(o, "/v1/chat/completions"), 1000);
}

}  // namespace
}  // namespace chatd::http
