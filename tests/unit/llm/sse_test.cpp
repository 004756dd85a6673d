#include "llm/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {
namespace {

SseEvent ev(std::string event, std::string data, std::string id = {}, std::optional<int> retry = std::nullopt) {
  return SseEvent{std::move(event), std::move(data), std::move(id), retry};
}

std::vector<SseEvent> parse(std::string_view stream) {
  SseParser p;
  std::vector<SseEvent> out;
  EXPECT_TRUE(p.feed(stream, out).has_value());
  return out;
}

// Feeds `stream` cut at the given offsets (ascending).
std::vector<SseEvent> parse_split(std::string_view stream, const std::vector<std::size_t>& cuts) {
  SseParser p;
  std::vector<SseEvent> out;
  std::size_t start = 0;
  for (const std::size_t cut : cuts) {
    EXPECT_TRUE(p.feed(stream.substr(start, cut - start), out).has_value());
    start = cut;
  }
  EXPECT_TRUE(p.feed(stream.substr(start), out).has_value());
  return out;
}

// The same events whatever way the stream is cut: byte by byte, every 2-way and every 3-way split.
void expect_split_invariant(std::string_view stream, const std::vector<SseEvent>& expected) {
  ASSERT_EQ(parse(stream), expected);
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(parse_split(stream, every_byte), expected) << "byte by byte";
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    EXPECT_EQ(parse_split(stream, {i}), expected) << "split at " << i;
    for (std::size_t j = i; j <= stream.size(); ++j) {
      ASSERT_EQ(parse_split(stream, {i, j}), expected) << "split at " << i << "," << j;
    }
  }
}

// --- WHATWG HTML "server-sent events" examples ------------------------------------------------

TEST(SseParser, SpecExampleStockTicker) {
  expect_split_invariant("data: YHOO\ndata: +2\ndata: 10\n\n", {ev("message", "YHOO\n+2\n10")});
}

TEST(SseParser, SpecExampleCommentIdsAndLeadingSpace) {
  const std::string stream =
      ": test stream\n"
      "\n"
      "data: first event\n"
      "id: 1\n"
      "\n"
      "data:second event\n"
      "id\n"
      "\n"
      "data:  third event\n"
      "\n";
  expect_split_invariant(stream, {ev("message", "first event", "1"), ev("message", "second event", ""),
                                  ev("message", " third event", "")});
  // "the end of the stream is not enough to trigger the dispatch of the last event"
  EXPECT_EQ(parse(stream.substr(0, stream.size() - 1)),
            (std::vector{ev("message", "first event", "1"), ev("message", "second event", "")}));
}

TEST(SseParser, SpecExampleEmptyData) {
  // First block: empty data; middle block: a single newline; last block: discarded (no blank line).
  expect_split_invariant("data\n\ndata\ndata\n\ndata:", {ev("message", ""), ev("message", "\n")});
}

TEST(SseParser, SpecExampleSpaceAfterColonIsOptional) {
  expect_split_invariant("data:test\n\ndata: test\n\n", {ev("message", "test"), ev("message", "test")});
}

TEST(SseParser, SpecExampleEventTypes) {
  expect_split_invariant("event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
                         {ev("add", "73857293"), ev("remove", "2153"), ev("add", "113411")});
}

// --- line ends, BOM, comments, fields -----------------------------------------------------------

TEST(SseParser, MixedLineEndsBomCommentsAndRetryInEverySplit) {
  const std::string stream = std::string("\xEF\xBB\xBF") +
                             ": hi\r\n"
                             "event: a\r"
                             "data: x\r\n"
                             "data:y\n"
                             "\r\n"
                             "id: 7\r"
                             "retry: 1500\n"
                             "data\r"
                             "\r"
                             ": c\n"
                             "\n"
                             "data: z\r\n"
                             "\r\n";
  expect_split_invariant(stream, {ev("a", "x\ny"), ev("message", "", "7", 1500), ev("message", "z", "7")});
}

TEST(SseParser, CrAtChunkEndAndLfAtNextChunkStartAreOneLineEnd) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("data: a\r", out).has_value());
  ASSERT_TRUE(p.feed("\ndata: b\r", out).has_value());
  ASSERT_TRUE(p.feed("\n", out).has_value());
  EXPECT_TRUE(out.empty());  // a stray LF counted as a blank line would have dispatched "a"
  ASSERT_TRUE(p.feed("\r", out).has_value());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0], ev("message", "a\nb"));
  // A CR then an LF in the next chunk after a dispatch is still one line end, not a second blank line.
  ASSERT_TRUE(p.feed("\ndata: c\n\n", out).has_value());
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[1], ev("message", "c"));
}

TEST(SseParser, CrCrIsTwoLineEnds) {
  expect_split_invariant("data: a\r\rdata: b\n\n", {ev("message", "a"), ev("message", "b")});
}

TEST(SseParser, BomSkippedOnlyAtTheVeryStart) {
  // A second BOM (or one later in the stream) is part of the field name, which is then unknown.
  expect_split_invariant(std::string("\xEF\xBB\xBF\xEF\xBB\xBF") + "data: a\n\ndata: b\n\n", {ev("message", "b")});
  expect_split_invariant(std::string("data: a\n\n\xEF\xBB\xBF") + "data: b\n\n", {ev("message", "a")});
  // A partial BOM is not a BOM: its bytes stay in the line.
  expect_split_invariant(std::string("\xEF\xBB") + "data: a\n\ndata: b\n\n", {ev("message", "b")});
  expect_split_invariant(std::string("\xEF\xBB\xBF") + "data: a\n\n", {ev("message", "a")});
}

TEST(SseParser, BomAloneThenDataInLaterChunk) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("\xEF", out).has_value());
  ASSERT_TRUE(p.feed("\xBB", out).has_value());
  ASSERT_TRUE(p.feed("\xBF", out).has_value());
  ASSERT_TRUE(p.feed("data: ok\n\n", out).has_value());
  EXPECT_EQ(out, (std::vector{ev("message", "ok")}));
}

TEST(SseParser, CommentsAndUnknownFieldsAreIgnored) {
  expect_split_invariant(":\n: keep-alive\nfoo: bar\nDATA: upper\ndata: kept\n:data: no\n\n", {ev("message", "kept")});
  // A comment-only block dispatches nothing, nor does an event: without data.
  EXPECT_TRUE(parse(": ping\n\nevent: x\n\n").empty());
  // ... and the event type does not leak into the next event.
  EXPECT_EQ(parse("event: x\n\ndata: d\n\n"), (std::vector{ev("message", "d")}));
}

TEST(SseParser, FieldParsing) {
  EXPECT_EQ(parse("data:  two spaces\n\n"), (std::vector{ev("message", " two spaces")}));
  EXPECT_EQ(parse("data:a:b: c\n\n"), (std::vector{ev("message", "a:b: c")}));
  EXPECT_TRUE(parse("data : the field name is \"data \", which is unknown\n\n").empty());
  EXPECT_TRUE(parse("a line with no colon and no known field\n\n").empty());
  EXPECT_EQ(parse("data\ndata:\ndata\n\n"), (std::vector{ev("message", "\n\n")}));
  EXPECT_EQ(parse("event\ndata: d\n\n"), (std::vector{ev("message", "d")}));  // empty event type -> message
  EXPECT_EQ(parse("event: a\nevent: b\ndata: d\n\n"), (std::vector{ev("b", "d")}));
  EXPECT_EQ(parse("id: 1\ndata: a\n\ndata: b\n\n"), (std::vector{ev("message", "a", "1"), ev("message", "b", "1")}));
  EXPECT_EQ(parse(std::string("id: 1\n\nid: 2\0x\ndata: a\n\n", 24)), (std::vector{ev("message", "a", "1")}));
}

TEST(SseParser, RetryAcceptsOnlyDigits) {
  for (const char* bad :
       {"retry: -1\n", "retry: 1.5\n", "retry: 12a\n", "retry:  5\n", "retry:\n", "retry\n", "retry: 99999999999\n"}) {
    SseParser p;
    std::vector<SseEvent> out;
    ASSERT_TRUE(p.feed(std::string(bad) + "data: d\n\n", out).has_value());
    ASSERT_EQ(out.size(), 1U);
    EXPECT_FALSE(out[0].retry.has_value()) << bad;
    EXPECT_FALSE(p.reconnection_time_ms().has_value()) << bad;
  }
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("retry:3000\ndata: d\n\nretry: 10\n\ndata: e\n\n", out).has_value());
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].retry, 3000);
  EXPECT_FALSE(out[1].retry.has_value());   // retry belongs to the block it appeared in
  EXPECT_EQ(p.reconnection_time_ms(), 10);  // but a data-less block still updates the stream setting
}

// --- limits -------------------------------------------------------------------------------------

TEST(SseParser, EventSizeLimit) {
  {
    SseParser p(64);
    std::vector<SseEvent> out;
    ASSERT_TRUE(p.feed("data: small\n\n", out).has_value());
    auto st = p.feed("data: " + std::string(100, 'x') + "\n\n", out);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code, Code::upstream);
    EXPECT_EQ(out.size(), 1U);
    // The parser stays failed: a later, valid event is not accepted.
    EXPECT_FALSE(p.feed("data: ok\n\n", out).has_value());
    EXPECT_EQ(out.size(), 1U);
  }
  {
    // Many small data lines that add up past the limit.
    SseParser p(64);
    std::vector<SseEvent> out;
    Status st = ok();
    for (int i = 0; i < 20 && st.has_value(); ++i) st = p.feed("data: 0123456789\n", out);
    EXPECT_FALSE(st.has_value());
    EXPECT_TRUE(out.empty());
  }
  {
    // An unterminated line is bounded too: the parser does not wait for its end.
    SseParser p(64);
    std::vector<SseEvent> out;
    EXPECT_FALSE(p.feed(": " + std::string(100, 'c'), out).has_value());
  }
  {
    // Split anywhere, the same stream gives the same events and then the same failure.
    const std::string stream = "data: a\n\ndata: " + std::string(40, 'y') + "\n\ndata: b\n\n";
    for (std::size_t i = 0; i <= stream.size(); ++i) {
      SseParser p(32);
      std::vector<SseEvent> out;
      const bool first = p.feed(std::string_view(stream).substr(0, i), out).has_value();
      const bool second = first && p.feed(std::string_view(stream).substr(i), out).has_value();
      EXPECT_FALSE(second) << i;
      EXPECT_EQ(out, (std::vector{ev("message", "a")})) << i;
    }
  }
}

// --- upstream shapes ----------------------------------------------------------------------------

TEST(SseParser, OpenAiStyleStream) {
  const std::string stream =
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{"
      "\"content\":\"Hel\"}}]}\n\n"
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{"
      "\"content\":\"lo\"}}]}\n\n"
      "data: [DONE]\n\n";
  const auto events = parse(stream);
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].event, "message");
  EXPECT_NE(events[1].data.find("\"lo\""), std::string::npos);
  EXPECT_EQ(events[2], ev("message", "[DONE]"));
  expect_split_invariant(stream, events);
}

TEST(SseParser, AnthropicStyleStream) {
  const std::string stream =
      "event: message_start\r\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"role\":\"assistant\"}}\r\n\r\n"
      "event: ping\r\n"
      "data: {\"type\": \"ping\"}\r\n\r\n"
      "event: content_block_delta\r\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n"
      "\r\n"
      "event: message_stop\r\n"
      "data: {\"type\":\"message_stop\"}\r\n\r\n";
  const auto events = parse(stream);
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(events[0].event, "message_start");
  EXPECT_EQ(events[1].event, "ping");
  EXPECT_EQ(events[2], ev("content_block_delta",
                          "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                          "\"text_delta\",\"text\":\"Hi\"}}"));
  EXPECT_EQ(events[3].event, "message_stop");
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(parse_split(stream, every_byte), events);
  for (std::size_t i = 0; i <= stream.size(); ++i) EXPECT_EQ(parse_split(stream, {i}), events) << i;
}

}  // namespace
}  // namespace chatd::llm
