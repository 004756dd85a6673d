// llm/eventstream: the AWS event stream decoder Bedrock's ConverseStream goes through. The
// messages and the failure do not depend on where the stream is cut, and a decoded message
// encodes into one that decodes the same. With the mode byte's low bit set the target first
// writes correct CRCs into the input's preludes and messages, so that the fuzzer gets past
// them to the headers.

#include "llm/eventstream.hpp"

#include "fuzz.hpp"

#include <string>

namespace {

using chatd::llm::EventStreamDecoder;
using chatd::llm::EventStreamMessage;

struct Run {
  std::vector<EventStreamMessage> messages;
  bool failed = false;
  bool truncated = false;
};

Run decode(const std::vector<std::string_view>& chunks) {
  EventStreamDecoder decoder(1024);
  Run run;
  for (auto chunk : chunks) {
    if (!decoder.feed(chunk, run.messages)) {
      run.failed = true;
      return run;
    }
  }
  run.truncated = !decoder.finish();
  return run;
}

std::uint32_t read_be32(const std::string& s, std::size_t at) {
  return (std::uint32_t{static_cast<std::uint8_t>(s[at])} << 24) |
         (std::uint32_t{static_cast<std::uint8_t>(s[at + 1])} << 16) |
         (std::uint32_t{static_cast<std::uint8_t>(s[at + 2])} << 8) |
         std::uint32_t{static_cast<std::uint8_t>(s[at + 3])};
}

void write_be32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
}

// Rewrites both CRCs of every message whose length fits in the input.
void fix_crcs(std::string& s) {
  std::size_t at = 0;
  while (s.size() - at >= 16) {
    const std::uint32_t total = read_be32(s, at);
    write_be32(s, at + 8, chatd::llm::crc32(std::string_view(s).substr(at, 8)));
    if (total < 16 || total > s.size() - at) return;
    write_be32(s, at + total - 4, chatd::llm::crc32(std::string_view(s).substr(at, total - 4)));
    at += total;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  std::string_view input = fuzz::text_of(data, size);
  const std::uint8_t mode = fuzz::take_byte(input);
  std::string text(input);
  if (mode & 1) fix_crcs(text);

  const Run whole = decode({text});
  const Run split = decode(fuzz::split(text, mode));
  FUZZ_CHECK(whole.failed == split.failed);
  FUZZ_CHECK(whole.messages == split.messages);
  FUZZ_CHECK(whole.truncated == split.truncated);

  for (const auto& message : whole.messages) {
    const std::string encoded = llm::encode_event_stream_message(message);
    FUZZ_CHECK(!encoded.empty());
    EventStreamDecoder again;
    std::vector<EventStreamMessage> out;
    FUZZ_CHECK(again.feed(encoded, out));
    FUZZ_CHECK(again.finish());
    FUZZ_CHECK(out.size() == 1 && out[0] == message);
    (void)message.header_string(":event-type");
  }
  return 0;
}
