#pragma once
// The provider answer targets' harness: a whole 2xx body through the provider's parser, and
// the same bytes as a streamed body through its decoder, driven as llm/exchange.cpp drives
// it (a piece at a time, a message at a time within a piece, stopping at a failure before
// the terminator). Where the stream is cut must not change what is decoded.

#include "fuzz.hpp"
#include "llm/exchange.hpp"

#include <functional>
#include <memory>
#include <string>

namespace chatd::fuzz {

struct Decoded {
  std::string text;
  bool finished = false;
  bool failed = false;
  std::optional<std::int64_t> prompt_tokens, completion_tokens;
  std::string finish_reason;
  bool operator==(const Decoded&) const = default;
};

inline Decoded decode_stream(llm::StreamDecoder& decoder, const std::vector<std::string_view>& pieces) {
  llm::StreamProgress progress;
  Decoded out;
  auto drain = [&] {
    for (auto& d : progress.deltas) out.text += d;
    progress.deltas.clear();
    return !(progress.failure && !progress.finished);
  };
  bool go_on = true;
  for (std::string_view rest : pieces) {
    while (go_on && !rest.empty()) {
      const std::string_view part = rest.substr(0, decoder.first_message_end(rest));
      FUZZ_CHECK(!part.empty());
      rest.remove_prefix(part.size());
      decoder.feed(part, progress);
      go_on = drain();
    }
    if (!go_on) break;
  }
  if (go_on) {
    decoder.finish(progress);
    drain();
  }
  out.finished = progress.finished;
  out.failed = progress.failure.has_value();
  out.prompt_tokens = progress.prompt_tokens;
  out.completion_tokens = progress.completion_tokens;
  out.finish_reason = progress.finish_reason;
  return out;
}

inline void check_answer(std::string_view text, std::uint8_t seed,
                         const std::function<std::unique_ptr<llm::StreamDecoder>()>& make_decoder,
                         llm::WholeParser parse_whole) {
  if (auto whole = parse_whole(text); !whole) FUZZ_CHECK(whole.error().code == Code::upstream);
  auto one = make_decoder();
  auto many = make_decoder();
  const Decoded a = decode_stream(*one, {text});
  const Decoded b = decode_stream(*many, split(text, seed));
  FUZZ_CHECK(a == b);
}

}  // namespace chatd::fuzz
