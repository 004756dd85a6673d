#include "http/router.hpp"

#include <gtest/gtest.h>

namespace chatd::http {
namespace {

Handler noop() {
  return [](Context&) -> boost::asio::awaitable<Response> { co_return empty_response(bhttp::status::no_content); };
}

Router table() {
  Router r;
  r.add({bhttp::verb::get, "/healthz", noop()});
  r.add({bhttp::verb::get, "/conversations", noop()});
  r.add({bhttp::verb::post, "/conversations", noop(), true});
  r.add({bhttp::verb::get, "/conversations/{id}", noop()});
  r.add({bhttp::verb::patch, "/conversations/{id}", noop(), true});
  r.add({bhttp::verb::delete_, "/conversations/{id}", noop()});
  r.add({bhttp::verb::get, "/conversations/{id}/messages", noop()});
  r.add({bhttp::verb::get, "/auth/sessions/current", noop()});
  r.add({bhttp::verb::delete_, "/auth/sessions/{id}", noop()});
  r.add({bhttp::verb::get, "/", noop()});
  return r;
}

TEST(Router, MatchesLiteralRoutes) {
  Router r = table();
  PathParams p;
  Match m = r.match(bhttp::verb::get, "/healthz", p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/healthz");
  m = r.match(bhttp::verb::get, "/", p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/");
}

TEST(Router, CapturesParameters) {
  Router r = table();
  PathParams p;
  Match m = r.match(bhttp::verb::get, "/conversations/abc-123/messages", p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/conversations/{id}/messages");
  EXPECT_EQ(p.get("id"), "abc-123");
  EXPECT_EQ(p.get("missing"), "");
}

TEST(Router, DecodesPercentEncodedParameters) {
  Router r = table();
  PathParams p;
  Match m = r.match(bhttp::verb::get, "/conversations/a%2Fb%20c", p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(p.get("id"), "a/b c");
}

TEST(Router, LiteralBeatsParameter) {
  Router r = table();
  PathParams p;
  Match m = r.match(bhttp::verb::get, "/auth/sessions/current", p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/auth/sessions/current");
  m = r.match(bhttp::verb::delete_, "/auth/sessions/current", p);
  // DELETE is declared only on the parameter pattern; the literal path owns GET only.
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, HEAD");
}

TEST(Router, UnknownPathIsNotKnown) {
  Router r = table();
  PathParams p;
  for (const char* path :
       {"/nope", "/healthz/", "/conversations//messages", "//healthz", "", "healthz", "/conversations/x/messages/y"}) {
    Match m = r.match(bhttp::verb::get, path, p);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_FALSE(m.path_known) << path;
  }
}

TEST(Router, WrongMethodListsAllowed) {
  Router r = table();
  PathParams p;
  Match m = r.match(bhttp::verb::put, "/conversations/7", p);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, HEAD, PATCH, DELETE");
  m = r.match(bhttp::verb::delete_, "/conversations", p);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
}

TEST(Router, HeadFallsBackToGet) {
  Router r = table();
  PathParams p;
  Match m = r.match(bhttp::verb::head, "/healthz", p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, bhttp::verb::get);
}

TEST(Router, RejectsDuplicateAndMalformedRoutes) {
  Router r = table();
  EXPECT_THROW(r.add({bhttp::verb::get, "/healthz", noop()}), std::invalid_argument);
  EXPECT_THROW(r.add({bhttp::verb::get, "/conversations/{other}", noop()}), std::invalid_argument);
  EXPECT_THROW(r.add({bhttp::verb::get, "no-slash", noop()}), std::invalid_argument);
  EXPECT_THROW(r.add({bhttp::verb::get, "/a//b", noop()}), std::invalid_argument);
}

TEST(Router, SplitPath) {
  std::vector<std::string_view> parts;
  ASSERT_TRUE(split_path("/a/b/c", parts));
  EXPECT_EQ(parts, (std::vector<std::string_view>{"a", "b", "c"}));
  ASSERT_TRUE(split_path("/", parts));
  EXPECT_TRUE(parts.empty());
  EXPECT_FALSE(split_path("/a/", parts));
  EXPECT_FALSE(split_path("a", parts));
}

}  // namespace
}  // namespace chatd::http
