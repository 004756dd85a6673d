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
