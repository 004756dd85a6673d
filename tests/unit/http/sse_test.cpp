// What chatd writes to its clients as server-sent events, read back by the same parser that
// reads upstream streams (and that follows the browsers' rules).
#include "http/sse.hpp"

#include "llm/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd::http {
namespace {

std::vector<llm::SseEvent> read_events(std::string_view stream) {
  llm::SseParser p;
  std::vector<llm::SseEvent> out;
  EXPECT_TRUE(p.feed(stream, out).has_value());
  return out;
}

TEST(SseWriter, FormatsEvents) {
  EXPECT_EQ(sse_format("delta", "{\"text\":\"hi\"}"), "event: delta\ndata: {\"text\":\"hi\"}\n\n");
  EXPECT_EQ(sse_format("delta", "a\nb"), "event: delta\ndata: a\ndata: b\n\n");
  EXPECT_EQ(sse_format("", "x"), "data: x\n\n");
  EXPECT_EQ(sse_format("e", ""), "event: e\ndata:\n\n");
  EXPECT_EQ(sse_format("bad\nevent", "x"), "event: bad\ndata: x\n\n");
  EXPECT_EQ(sse_comment("ping"), ": ping\n\n");
  EXPECT_EQ(sse_comment(""), ":\n\n");
  EXPECT_EQ(sse_comment("a\nb"), ": a\n: b\n\n");
}

TEST(SseWriter, RoundTripsThroughTheParser) {
  for (const std::string data : {"", "x", "a\nb", "a\n", "\n", "\n\n", " lead", "x\r\ny\rz", "data: nested\n\n"}) {
    std::string expected = data;
    // Every line end reads back as LF.
    for (std::size_t i = 0; (i = expected.find('\r', i)) != std::string::npos;) {
      if (i + 1 < expected.size() && expected[i + 1] == '\n') {
        expected.erase(i, 1);
      } else {
        expected[i] = '\n';
      }
    }
    EXPECT_EQ(read_events(sse_comment("hb") + sse_format("delta", data) + sse_comment("hb")),
              (std::vector<llm::SseEvent>{{"delta", expected, {}, std::nullopt}}))
        << data;
  }
}

}  // namespace
}  // namespace chatd::http
