#include "llm/eventstream.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {
namespace {

using namespace std::string_literals;

EventStreamMessage every_header_type() {
  EventStreamMessage m;
  m.headers.emplace_back("true", HeaderValue{true});
  m.headers.emplace_back("false", HeaderValue{false});
  m.headers.emplace_back("byte", HeaderValue{std::int8_t{-7}});
  m.headers.emplace_back("short", HeaderValue{std::int16_t{-12345}});
  m.headers.emplace_back("int", HeaderValue{std::int32_t{-2000000000}});
  m.headers.emplace_back("long", HeaderValue{std::int64_t{-9000000000000000000}});
  m.headers.emplace_back("bytes", HeaderValue{std::vector<std::uint8_t>{0x00, 0xFF, 0x10}});
  m.headers.emplace_back("string", HeaderValue{std::string("h\xC3\xA9llo")});
  m.headers.emplace_back("timestamp", HeaderValue{EventStreamTimestamp{1795334400123}});
  EventStreamUuid u;
  for (std::size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>(0xA0 + i);
  m.headers.emplace_back("uuid", HeaderValue{u});
  m.headers.emplace_back("empty-bytes", HeaderValue{std::vector<std::uint8_t>{}});
  m.headers.emplace_back("empty-string", HeaderValue{std::string()});
  m.payload = "{\"k\":\"v\"}\0binary\xFF"s;
  return m;
}

// Built byte by byte, independently of the encoder; the CRCs come from Python's zlib.crc32.
std::string bedrock_fixture() {
  return "\x00\x00\x00\x9f"s  // total length 159
         "\x00\x00\x00\x57"s  // headers length 87
         "\xc3\x7b\xab\xff"s  // prelude CRC
         "\x0b"
         ":event-type"
         "\x07"
         "\x00\x11"s
         "contentBlockDelta"
         "\x0d"
         ":content-type"
         "\x07"
         "\x00\x10"s
         "application/json"
         "\x0d"
         ":message-type"
         "\x07"
         "\x00\x05"s
         "event"
         "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"},\"p\":\"abcd\"}"
         "\xf2\xac\xe5\xff"s;  // message CRC
}

std::vector<EventStreamMessage> decode_split(std::string_view bytes, const std::vector<std::size_t>& cuts,
                                             std::size_t limit = 16 << 20) {
  EventStreamDecoder d(limit);
  std::vector<EventStreamMessage> out;
  std::size_t start = 0;
  for (const std::size_t cut : cuts) {
    EXPECT_TRUE(d.feed(bytes.substr(start, cut - start), out).has_value());
    start = cut;
  }
  EXPECT_TRUE(d.feed(bytes.substr(start), out).has_value());
  EXPECT_TRUE(d.finish().has_value());
  return out;
}

Error decode_error(std::string_view bytes, std::size_t limit = 16 << 20) {
  EventStreamDecoder d(limit);
  std::vector<EventStreamMessage> out;
  auto st = d.feed(bytes, out);
  EXPECT_FALSE(st.has_value());
  if (st.has_value()) return Error{};
  EXPECT_EQ(st.error().code, Code::upstream);
  // The decoder stays failed, even for a valid message afterwards.
  EXPECT_FALSE(d.feed(encode_event_stream_message(EventStreamMessage{}), out).has_value());
  EXPECT_FALSE(d.finish().has_value());
  return st.error();
}

// Rewrites both CRCs after a test has tampered with a message's lengths or headers.
void fix_crcs(std::string& m) {
  auto put = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) m[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
  };
  put(8, crc32(std::string_view(m).substr(0, 8)));
  put(m.size() - 4, crc32(std::string_view(m).substr(0, m.size() - 4)));
}

TEST(EventStreamCrc, KnownValues) {
  EXPECT_EQ(crc32(""), 0x00000000U);
  EXPECT_EQ(crc32("123456789"), 0xCBF43926U);
  EXPECT_EQ(crc32("a"), 0xE8B7BE43U);
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339U);
  EXPECT_EQ(crc32("6789", crc32("12345")), 0xCBF43926U);  // incremental
}

TEST(EventStreamCodec, EmptyMessageMatchesTheAwsVector) {
  // 16 bytes: no headers, no payload (the aws-c-event-stream "empty_message" vector).
  const std::string expected = "\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb\x7d\x98\xc8\xff"s;
  EXPECT_EQ(encode_event_stream_message(EventStreamMessage{}), expected);
  const auto out = decode_split(expected, {});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_TRUE(out[0].headers.empty());
  EXPECT_TRUE(out[0].payload.empty());
}

TEST(EventStreamCodec, EmptyPayloadWithHeaders) {
  EventStreamMessage m;
  m.headers.emplace_back(":message-type", HeaderValue{std::string("event")});
  const auto out = decode_split(encode_event_stream_message(m), {});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0], m);
  EXPECT_TRUE(out[0].payload.empty());
}

TEST(EventStreamCodec, EveryHeaderTypeRoundTrips) {
  const EventStreamMessage m = every_header_type();
  const std::string bytes = encode_event_stream_message(m);
  ASSERT_FALSE(bytes.empty());
  const auto out = decode_split(bytes, {});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0], m);
  EXPECT_EQ(out[0].header_string("string"), "h\xC3\xA9llo");
  EXPECT_EQ(out[0].header_string("int"), std::nullopt);  // present, but not a string
  EXPECT_EQ(out[0].header_string("missing"), std::nullopt);
  // The wire type codes, spot-checked: bool true is type 0 right after the 4-byte name "true".
  EXPECT_EQ(bytes[12], '\x04');
  EXPECT_EQ(bytes.substr(13, 4), "true");
  EXPECT_EQ(bytes[17], '\x00');
  EXPECT_EQ(bytes.substr(19, 5), "false");
  EXPECT_EQ(bytes[24], '\x01');
}

TEST(EventStreamCodec, EncoderRefusesWhatTheWireCannotCarry) {
  EventStreamMessage m;
  m.headers.emplace_back(std::string(256, 'n'), HeaderValue{true});
  EXPECT_EQ(encode_event_stream_message(m), "");
  m.headers.clear();
  m.headers.emplace_back("", HeaderValue{true});
  EXPECT_EQ(encode_event_stream_message(m), "");
  m.headers.clear();
  m.headers.emplace_back("s", HeaderValue{std::string(65536, 'v')});
  EXPECT_EQ(encode_event_stream_message(m), "");
  m.headers.clear();
  m.headers.emplace_back(std::string(255, 'n'), HeaderValue{std::string(65535, 'v')});
  const auto out = decode_split(encode_event_stream_message(m), {});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0], m);
}

TEST(EventStreamCodec, BedrockFixtureDecodes) {
  const std::string bytes = bedrock_fixture();
  ASSERT_EQ(bytes.size(), 159U);
  const auto out = decode_split(bytes, {});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].header_string(":event-type"), "contentBlockDelta");
  EXPECT_EQ(out[0].header_string(":content-type"), "application/json");
  EXPECT_EQ(out[0].header_string(":message-type"), "event");
  EXPECT_EQ(out[0].headers.size(), 3U);
  EXPECT_EQ(out[0].payload, "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"},\"p\":\"abcd\"}");
  // And the encoder produces exactly these bytes.
  EXPECT_EQ(encode_event_stream_message(out[0]), bytes);
}

TEST(EventStreamCodec, DecodesInEverySplit) {
  const std::string stream = bedrock_fixture() + encode_event_stream_message(every_header_type()) +
                             encode_event_stream_message(EventStreamMessage{});
  const auto expected = decode_split(stream, {});
  ASSERT_EQ(expected.size(), 3U);
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(decode_split(stream, every_byte), expected);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    ASSERT_EQ(decode_split(stream, {i}), expected) << i;
  }
  // A sample of 3-way splits (all of them would be ~60k decodes).
  for (std::size_t i = 0; i <= stream.size(); i += 7) {
    for (std::size_t j = i; j <= stream.size(); j += 5) {
      ASSERT_EQ(decode_split(stream, {i, j}), expected) << i << "," << j;
    }
  }
}

TEST(EventStreamCodec, TwoMessagesInOneChunk) {
  EventStreamMessage a;
  a.headers.emplace_back(":event-type", HeaderValue{std::string("messageStart")});
  a.payload = "{\"role\":\"assistant\"}";
  EventStreamMessage b;
  b.headers.emplace_back(":event-type", HeaderValue{std::string("messageStop")});
  b.payload = "{\"stopReason\":\"end_turn\"}";
  EventStreamDecoder d;
  std::vector<EventStreamMessage> out;
  ASSERT_TRUE(d.feed(encode_event_stream_message(a) + encode_event_stream_message(b), out).has_value());
  EXPECT_EQ(out, (std::vector{a, b}));
  EXPECT_TRUE(d.finish().has_value());
}

TEST(EventStreamCodec, CorruptedPreludeCrc) {
  std::string m = bedrock_fixture();
  m[10] = static_cast<char>(m[10] ^ 0x01);
  EXPECT_NE(decode_error(m).detail.find("prelude CRC"), std::string::npos);
  // A flipped length bit is caught by the prelude CRC before the decoder waits for bogus bytes.
  m = bedrock_fixture();
  m[1] = '\x7f';
  EXPECT_NE(decode_error(m.substr(0, 12)).detail.find("prelude CRC"), std::string::npos);
}

TEST(EventStreamCodec, CorruptedMessageCrc) {
  std::string m = bedrock_fixture();
  m[m.size() - 1] = static_cast<char>(m[m.size() - 1] ^ 0x80);
  EXPECT_NE(decode_error(m).detail.find("message CRC"), std::string::npos);
  m = bedrock_fixture();
  m[100] = 'X';  // a payload byte
  EXPECT_NE(decode_error(m).detail.find("message CRC"), std::string::npos);
  // The messages before the bad one are still delivered.
  EventStreamDecoder d;
  std::vector<EventStreamMessage> out;
  EXPECT_FALSE(d.feed(bedrock_fixture() + m, out).has_value());
  EXPECT_EQ(out.size(), 1U);
}

TEST(EventStreamCodec, TruncatedStream) {
  const std::string m = bedrock_fixture();
  for (const std::size_t cut : {std::size_t{1}, std::size_t{11}, std::size_t{12}, std::size_t{100}, m.size() - 1}) {
    EventStreamDecoder d;
    std::vector<EventStreamMessage> out;
    ASSERT_TRUE(d.feed(std::string_view(m).substr(0, cut), out).has_value());
    EXPECT_TRUE(out.empty());
    auto st = d.finish();
    ASSERT_FALSE(st.has_value()) << cut;
    EXPECT_EQ(st.error().code, Code::upstream);
  }
}

TEST(EventStreamCodec, ImpossibleLengths) {
  // Total length below 16.
  std::string m = "\x00\x00\x00\x0f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"s;
  m += "\x00\x00\x00\x00"s;
  fix_crcs(m);
  EXPECT_NE(decode_error(m).detail.find("below the minimum"), std::string::npos);
  // Headers length larger than the message can hold.
  m = bedrock_fixture();
  m[7] = '\x90';  // 144 > 159 - 16
  fix_crcs(m);
  EXPECT_NE(decode_error(m).detail.find("headers length"), std::string::npos);
  // A header value running past the headers section (the string length claims 0xff bytes).
  m = bedrock_fixture();
  m[12 + 1 + 11 + 1] = '\x00';
  m[12 + 1 + 11 + 2] = '\xff';
  fix_crcs(m);
  EXPECT_NE(decode_error(m).detail.find("runs past"), std::string::npos);
  // An unknown value type.
  m = bedrock_fixture();
  m[12 + 1 + 11] = '\x0a';
  fix_crcs(m);
  EXPECT_NE(decode_error(m).detail.find("unknown header value type"), std::string::npos);
}

TEST(EventStreamCodec, OversizedMessage) {
  const std::string m = bedrock_fixture();
  // Refused as soon as the prelude arrives, without buffering the body.
  EXPECT_NE(decode_error(m.substr(0, 12), 158).detail.find("exceeds the limit"), std::string::npos);
  EXPECT_EQ(decode_split(m, {}, 159).size(), 1U);
}

}  // namespace
}  // namespace chatd::llm
