// llm/bedrock: the Bedrock provider's Converse answer parser and ConverseStream decoder (AWS
// event stream messages with JSON payloads) on an upstream's bytes (see answer.hpp). With
// the mode byte's low bit set, the input is JSON payloads separated by newlines, each sent
// as one correctly framed event (the event types in turn; a line starting with "!" is an
// exception message), so that the fuzzer works on what the decoder does with the payloads
// rather than on CRCs.

#include "answer.hpp"
#include "llm/bedrock.hpp"
#include "llm/eventstream.hpp"

#include <nlohmann/json.hpp>

namespace {

std::string as_events(std::string_view text) {
  std::string out;
  const char* kTypes[] = {"contentBlockDelta", "messageStop", "metadata", "messageStart", "contentBlockStop"};
  std::size_t n = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    chatd::llm::EventStreamMessage m;
    std::string_view payload = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::string kind = "event";
    if (!payload.empty() && payload[0] == '!') {  // an exception message
      kind = "exception";
      payload.remove_prefix(1);
      m.headers.emplace_back(":exception-type", std::string("throttlingException"));
    }
    m.headers.emplace_back(":message-type", kind);
    m.headers.emplace_back(":event-type", std::string(kTypes[n++ % 5]));
    m.headers.emplace_back(":content-type", std::string("application/json"));
    m.payload = std::string(payload);
    out += chatd::llm::encode_event_stream_message(m);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  std::string_view text = fuzz::text_of(data, size);
  const std::uint8_t mode = fuzz::take_byte(text);
  if (mode & 1) {
    const std::string framed = as_events(text);
    fuzz::check_answer(framed, mode, llm::bedrock_stream_decoder, llm::bedrock_parse_whole);
  } else {
    fuzz::check_answer(text, mode, llm::bedrock_stream_decoder, llm::bedrock_parse_whole);
  }
  return 0;
}
