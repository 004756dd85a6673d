// UpstreamParser: the head of an upstream's answer (status, fields kept packed, looked up
// case-insensitively, dropped on request), its body written into the caller's window, and
// Beast's framing (Content-Length, chunks, keep-alive) underneath.

#include "llm/upstream_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace chatd::llm {
namespace {

namespace bhttp = boost::beast::http;

struct Parsed {
  std::string body;
  bool ok = true;  // false when the parser reported an error other than need_buffer
};

// Feeds `wire` to `parser`, emptying a window of `window` bytes into the body each time it fills.
Parsed parse(UpstreamParser& parser, std::string_view wire, std::size_t window) {
  Parsed out;
  std::string& body = out.body;
  std::string room(window, '\0');
  while (!parser.is_done()) {
    parser.body.data = room.data();
    parser.body.size = room.size();
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    wire.remove_prefix(used);
    body.append(room.data(), room.size() - parser.body.size);
    if (ec == bhttp::error::need_buffer) continue;
    if (ec == bhttp::error::need_more && wire.empty()) break;
    if (ec && ec != bhttp::error::need_more) {
      out.ok = false;
      break;
    }
    if (used == 0 && wire.empty()) break;
  }
  return out;
}

TEST(UpstreamParser, KeepsTheStatusAndFindsFieldsByNameInAnyCase) {
  UpstreamParser parser;
  const Parsed r = parse(parser,
                         "HTTP/1.1 429 Too Many Requests\r\n"
                         "Content-Type: application/json\r\n"
                         "retry-after: 3\r\n"
                         "Retry-After: 9\r\n"
                         "X-Empty:\r\n"
                         "Content-Length: 2\r\n"
                         "\r\n"
                         "{}",
                         64);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.status(), 429);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(parser.header("content-type"), "application/json");
  EXPECT_EQ(parser.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(parser.header("Retry-After"), "3");  // the first of two
  EXPECT_EQ(parser.header("x-empty"), "");
  EXPECT_EQ(parser.header("content-length"), "2");
  EXPECT_EQ(parser.header("retry-after-ms"), std::nullopt);
  EXPECT_EQ(parser.header("content-typ"), std::nullopt);
  EXPECT_TRUE(parser.keep_alive());

  parser.release_head();
  EXPECT_EQ(parser.header("content-type"), std::nullopt);
  EXPECT_EQ(parser.status(), 429);
  EXPECT_TRUE(parser.keep_alive());
}

TEST(UpstreamParser, WritesTheBodyIntoTheWindowAndAsksForRoomWhenItIsFull) {
  UpstreamParser parser;
  const std::string text(1000, 'x');
  const Parsed r = parse(parser, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n" + text, 7);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(r.body, text);
  EXPECT_FALSE(parser.keep_alive());
  EXPECT_EQ(parser.header("connection"), "close");
}

TEST(UpstreamParser, WithoutAWindowTheBodyWaits) {
  UpstreamParser parser;
  const std::string_view wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  boost::beast::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(parser.is_header_done());
  const std::string_view rest = wire.substr(used);
  used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
  EXPECT_EQ(ec, bhttp::error::need_buffer);
  EXPECT_EQ(used, 0u);
  EXPECT_FALSE(parser.is_done());
}

TEST(UpstreamParser, DechunksAChunkedBody) {
  constexpr std::string_view kChunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
  UpstreamParser parser;
  const Parsed r = parse(parser, kChunked, 4);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(r.body, "hello, world");
  EXPECT_TRUE(parser.keep_alive());
}

TEST(UpstreamParser, RefusesAMalformedHeadAndAHeadOverItsLimit) {
  {
    UpstreamParser parser;
    EXPECT_FALSE(parse(parser, "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n", 16).ok);
  }
  {
    UpstreamParser parser;
    parser.header_limit(64);
    const std::string wire = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100, 'a') + "\r\n\r\n";
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    EXPECT_EQ(ec, bhttp::error::header_limit);
  }
}

}  // namespace
}  // namespace chatd::llm
