// llm/anthropic: the Anthropic provider's whole-answer parser and stream decoder on an upstream's
// bytes (see answer.hpp).

#include "answer.hpp"
#include "llm/anthropic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  std::string_view text = fuzz::text_of(data, size);
  const std::uint8_t seed = fuzz::take_byte(text);
  fuzz::check_answer(text, seed, llm::anthropic_stream_decoder, llm::anthropic_parse_whole);
  return 0;
}
