#include "http/framing.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <gtest/gtest.h>

#include <string>

namespace chatd::http {
namespace {

// The head of `text` as Beast parses it (the transport's parser), or a failed test.
Request parse_head(std::string_view text) {
  bhttp::request_parser<bhttp::string_body> parser;
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(text.data(), text.size()), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_header_done());
  return parser.release();
}

TEST(Framing, HeadLengthEndsAfterTheBlankLine) {
  EXPECT_EQ(head_length("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), 27u);
  EXPECT_EQ(head_length("GET / HTTP/1.0\r\n\r\n"), 18u);
  EXPECT_EQ(head_length("GET / HTTP/1.1\r\nHost: x\r\n"), 0u);
  EXPECT_EQ(head_length("GET / HTTP/1.1\nHost: x\n\n"), 0u);
  EXPECT_EQ(head_length(""), 0u);
}

TEST(Framing, FoldedHeaderLineIsObsoleteLineFolding) {
  EXPECT_TRUE(has_obsolete_line_folding("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"));
  EXPECT_TRUE(has_obsolete_line_folding("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n"));
  // Whitespace before the first field is refused the same way (RFC 9112 section 2.2).
  EXPECT_TRUE(has_obsolete_line_folding("GET / HTTP/1.1\r\n Host: x\r\n\r\n"));
  // Beast accepts the folded head and joins the lines: without this check chatd would serve it.
  EXPECT_EQ(parse_head("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n")["X-A"], "a b");
}

TEST(Framing, OrdinaryHeadsAreNotFolded) {
  EXPECT_FALSE(has_obsolete_line_folding("GET / HTTP/1.1\r\nHost: x\r\nX-A: a b\t c\r\n\r\n"));
  EXPECT_FALSE(has_obsolete_line_folding("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_FALSE(has_obsolete_line_folding(""));
  // Only the head is looked at: a body may start with anything.
  std::string_view request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n\r\n ";
  EXPECT_FALSE(has_obsolete_line_folding(request.substr(0, head_length(request))));
}

TEST(Framing, MalformedChunkSizeIsSeenBeforeItsLineEnds) {
  EXPECT_TRUE(starts_malformed_chunk_size("zz"));
  EXPECT_TRUE(starts_malformed_chunk_size("-1"));
  EXPECT_TRUE(starts_malformed_chunk_size("0x2"));
  EXPECT_TRUE(starts_malformed_chunk_size("2\n{}\n"));  // a bare LF ends no chunk-size line
  EXPECT_TRUE(starts_malformed_chunk_size("\r\nzz"));   // after the CRLF that ended a chunk's data
  EXPECT_TRUE(starts_malformed_chunk_size("2x"));
  EXPECT_TRUE(starts_malformed_chunk_size(" 2\r\n"));
}

TEST(Framing, ChunkSizeThatMayStillBeValidIsLeftToTheParser) {
  EXPECT_FALSE(starts_malformed_chunk_size(""));
  EXPECT_FALSE(starts_malformed_chunk_size("\r"));
  EXPECT_FALSE(starts_malformed_chunk_size("\r\n"));
  EXPECT_FALSE(starts_malformed_chunk_size("1a2B"));
  EXPECT_FALSE(starts_malformed_chunk_size("\r\n1a"));
  EXPECT_FALSE(starts_malformed_chunk_size("5\r"));
  EXPECT_FALSE(starts_malformed_chunk_size("5;name=value"));
  EXPECT_FALSE(starts_malformed_chunk_size("5 ;name"));
  EXPECT_FALSE(starts_malformed_chunk_size("0\r\nX-Trailer: 1\r\n"));  // trailers are the parser's
}

TEST(Framing, HeadProblemsInTheTransportsOrder) {
  EXPECT_FALSE(head_problem(parse_head("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"), 3, 10));

  auto coding = head_problem(parse_head("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
                             std::nullopt, 10);
  ASSERT_TRUE(coding);
  EXPECT_EQ(coding->code, Code::invalid_argument);
  EXPECT_EQ(coding->reason, "bad_request");
  EXPECT_EQ(coding->detail, "ambiguous request framing: Transfer-Encoding other than chunked");

  auto missing_host = head_problem(parse_head("GET / HTTP/1.1\r\n\r\n"), std::nullopt, 10);
  ASSERT_TRUE(missing_host);
  EXPECT_EQ(missing_host->detail, "ambiguous request framing: Host is missing");

  auto types = head_problem(parse_head("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nContent-Type: a/b\r\n\r\n"),
                            std::nullopt, 10);
  ASSERT_TRUE(types);
  EXPECT_EQ(types->detail, "Content-Type is repeated");

  auto gzip =
      head_problem(parse_head("POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n\r\n"), std::nullopt, 10);
  ASSERT_TRUE(gzip);
  EXPECT_EQ(gzip->code, Code::unsupported);
  EXPECT_EQ(gzip->reason, "unsupported_media_type");
  EXPECT_FALSE(
      head_problem(parse_head("POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: identity\r\n\r\n"), std::nullopt, 10));

  auto large = head_problem(parse_head("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"), 11, 10);
  ASSERT_TRUE(large);
  EXPECT_EQ(large->code, Code::too_large);
  EXPECT_EQ(large->detail, "the request body exceeds 10 bytes");
}

}  // namespace
}  // namespace chatd::http
