// llm/anthropic: the Anthropic provider's whole-answer parser and stream decoder on an upstream's
// bytes (see answer.hpp), reading tool_use blocks as tool calls or, when the seed's top bit is
// set, as the text of a JSON answer (response_format translated into a forced tool).

#include "answer.hpp"
#include "llm/anthropic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  std::string_view text = fuzz::text_of(data, size);
  const std::uint8_t seed = fuzz::take_byte(text);
  if ((seed & 0x80) == 0) {
    fuzz::check_answer(
        text, seed, [] { return llm::anthropic_stream_decoder(llm::AnthropicAnswer::tool_calls); },
        [](std::string_view body) { return llm::anthropic_parse_whole(body, llm::AnthropicAnswer::tool_calls); });
  } else {
    fuzz::check_answer(
        text, seed, [] { return llm::anthropic_stream_decoder(llm::AnthropicAnswer::json_text); },
        [](std::string_view body) { return llm::anthropic_parse_whole(body, llm::AnthropicAnswer::json_text); });
  }
  return 0;
}
