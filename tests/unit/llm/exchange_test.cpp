#include "llm/exchange.hpp"

#include "fake_transport.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd::llm {
namespace {

// Each event's data is its delta; "end" finishes the stream. Counts the events it decoded.
class CountingDecoder final : public SseStreamDecoder {
 public:
  int decoded = 0;

 protected:
  void handle(const SseEvent& event, StreamProgress& progress) override {
    ++decoded;
    if (event.data == "end") {
      progress.finished = true;
      return;
    }
    progress.deltas.push_back(event.data);
  }
};

struct Run {
  Outcome outcome;
  std::vector<std::string> deltas;
  std::vector<int> decoded_at_delta;  // how many events were decoded when each delta came
};

Run run_pieces(std::vector<std::string> pieces) {
  fake::FakeTransport transport;
  transport.script.chunks = std::move(pieces);
  CountingDecoder decoder;
  Exchange ex;
  ex.decoder = &decoder;
  Cancellation cancel;
  Run r;
  DeltaFn on_delta = [&](const llm::Delta& delta) -> boost::asio::awaitable<bool> {
    const std::string_view text = delta.text;
    r.deltas.emplace_back(text);
    r.decoded_at_delta.push_back(decoder.decoded);
    co_return true;
  };
  fake::run(run_exchange(transport, ex, on_delta, cancel, r.outcome));
  return r;
}

TEST(RunStream, PassesOnEachDeltaOfAPieceBeforeDecodingTheNext) {
  auto r = run_pieces({"data: a\n\ndata: b\n\n: comment\n\ndata: c\n\ndata: end\n\n"});
  ASSERT_EQ(r.outcome.status, Outcome::Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.decoded_at_delta, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(r.outcome.text, "abc");
}

TEST(RunStream, MessagesSplitAcrossPiecesAndCarriageReturnsStillDecode) {
  auto r = run_pieces({"data: a\n", "\ndata: b\r\n\r\ndata: c\n", "\n", "data: end\n\n"});
  ASSERT_EQ(r.outcome.status, Outcome::Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(SseStreamDecoder, FirstMessageEndsAfterTheFirstBlankLine) {
  CountingDecoder decoder;
  EXPECT_EQ(decoder.first_message_end("data: a\n\ndata: b\n\n"), 9u);
  EXPECT_EQ(decoder.first_message_end("data: a\n"), 8u);
  EXPECT_EQ(decoder.first_message_end(""), 0u);
}

}  // namespace
}  // namespace chatd::llm
