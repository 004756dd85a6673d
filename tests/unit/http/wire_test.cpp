#include "http/wire.hpp"

#include <gtest/gtest.h>

namespace chatd::http {
namespace {

TEST(Wire, SerialisesStatusHeadersAndBody) {
  Response res = json_response(bhttp::status::created, {{"a", 1}});
  res.set("X-Request-Id", "r1");
  res.prepare_payload();
  std::string out;
  serialize_response(res, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Id: r1\r\nContent-Length: 7\r\n\r\n"
            "{\"a\":1}");
}

TEST(Wire, ExtraHeadLinesFollowTheFields) {
  Response res = json_response(bhttp::status::ok, {{"a", 1}});
  res.add_line("X-Request-Id", "r2");
  res.add_line("X-Frame-Options", "DENY");
  res.prepare_payload();
  std::string out;
  serialize_response(res, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
            "X-Request-Id: r2\r\nX-Frame-Options: DENY\r\n\r\n{\"a\":1}");
  out.clear();
  serialize_response(res, true, out);
  EXPECT_TRUE(out.ends_with("X-Frame-Options: DENY\r\n\r\n")) << out;
}

TEST(Wire, HeaderReadsFieldsThenLines) {
  Response res = empty_response(bhttp::status::no_content);
  res.set("X-Frame-Options", "SAMEORIGIN");
  res.add_line("x-frame-options", "DENY");
  res.add_line("Retry-After", "30");
  res.add_line("RateLimit-Limit", "2");
  EXPECT_EQ(res.header("X-Frame-Options"), "SAMEORIGIN");  // a field first
  EXPECT_EQ(res.header("retry-after"), "30");              // names are case-insensitive
  EXPECT_EQ(res.header("RateLimit-Limit"), "2");           // the last line too
  EXPECT_EQ(res.header("RateLimit"), "");                  // whole names only
  EXPECT_EQ(res.header("Missing"), "");
}

TEST(Wire, HeadOnlyOmitsBody) {
  Response res = json_response(bhttp::status::ok, {{"a", 1}});
  res.prepare_payload();
  std::string out;
  serialize_response(res, true, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n");
}

TEST(Wire, KeepAliveFalseAddsConnectionClose) {
  Response res = empty_response(bhttp::status::no_content);
  res.keep_alive(false);
  std::string out;
  serialize_response(res, false, out);
  EXPECT_NE(out.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(out.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u);
}

}  // namespace
}  // namespace chatd::http
