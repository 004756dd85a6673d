// llm/sse: the text/event-stream parser OpenAI and Anthropic streams go through. The events
// and the failure do not depend on where the stream is cut into chunks (with the default and
// with a tiny event limit), and what sse_format writes reads back as it was meant.

#include "http/sse.hpp"

#include "fuzz.hpp"
#include "llm/sse.hpp"

namespace {

using chatd::llm::SseEvent;
using chatd::llm::SseParser;

struct Run {
  std::vector<SseEvent> events;
  bool failed = false;
  std::string last_id;
  std::optional<int> retry;
};

Run parse(const std::vector<std::string_view>& chunks, std::size_t limit) {
  SseParser parser(limit);
  Run run;
  for (auto chunk : chunks) {
    if (!parser.feed(chunk, run.events)) {
      run.failed = true;
      break;
    }
  }
  run.last_id = parser.last_event_id();
  run.retry = parser.reconnection_time_ms();
  return run;
}

std::string normalise_line_ends(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  std::string_view text = fuzz::text_of(data, size);
  const std::uint8_t seed = fuzz::take_byte(text);
  const auto pieces = fuzz::split(text, seed);

  for (std::size_t limit : {std::size_t{1} << 20, std::size_t{24}}) {
    const Run whole = parse({text}, limit);
    const Run split = parse(pieces, limit);
    FUZZ_CHECK(whole.failed == split.failed);
    FUZZ_CHECK(whole.events == split.events);
    if (!whole.failed) {
      FUZZ_CHECK(whole.last_id == split.last_id);
      FUZZ_CHECK(whole.retry == split.retry);
    }
  }

  // The writer: an event name and data taken from the input come back as written (the name
  // cut at its first line break, line ends read as '\n').
  const std::size_t cut = seed % (text.size() + 1);
  const std::string_view name = text.substr(0, cut), body = text.substr(cut);
  std::vector<SseEvent> events;
  SseParser reader;
  FUZZ_CHECK(reader.feed(http::sse_format(name, body), events));
  FUZZ_CHECK(events.size() == 1);
  const std::string_view first_line = name.substr(0, name.find_first_of("\r\n"));
  FUZZ_CHECK(events[0].event == (first_line.empty() ? "message" : std::string(first_line)));
  FUZZ_CHECK(events[0].data == normalise_line_ends(body));
  // A comment is no event.
  events.clear();
  FUZZ_CHECK(reader.feed(http::sse_comment(body), events));
  FUZZ_CHECK(events.empty());
  return 0;
}
