#include "llm/exchange.hpp"

#include "fake_transport.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
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
  std::vector<bool> more;             // each delta's Delta::more
  std::vector<std::size_t> flushes;   // how many deltas had come at each flush
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
    if (delta.text.empty()) {
      EXPECT_FALSE(delta.more);
      r.flushes.push_back(r.deltas.size());
      co_return true;
    }
    r.deltas.emplace_back(delta.text);
    r.decoded_at_delta.push_back(decoder.decoded);
    r.more.push_back(delta.more);
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

// Deltas that arrive together are marked so that a receiver may send them in one write; the
// answer's first one never waits, and whatever was held is flushed before the next read.
TEST(RunStream, DeltasThatCameTogetherAreMarkedAndFlushedBeforeTheNextRead) {
  auto r =
      run_pieces({"data: a\n\ndata: b\n\ndata: c\n\n", "data: d\n\ndata: e\n\ndata: partial", "\n\ndata: end\n\n"});
  ASSERT_EQ(r.outcome.status, Outcome::Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, (std::vector<std::string>{"a", "b", "c", "d", "e", "partial"}));
  // a: first of the answer; b: c follows; c: last whole message of the piece; d: e follows;
  // e: only half a message follows (it may take long to complete); partial: "end" follows.
  EXPECT_EQ(r.more, (std::vector<bool>{false, true, false, true, false, true}));
  EXPECT_EQ(r.flushes, (std::vector<std::size_t>{6}));  // "partial" was held until the end
}

TEST(RunStream, MessagesSplitAcrossPiecesAndCarriageReturnsStillDecode) {
  auto r = run_pieces({"data: a\n", "\ndata: b\r\n\r\ndata: c\n", "\n", "data: end\n\n"});
  ASSERT_EQ(r.outcome.status, Outcome::Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, (std::vector<std::string>{"a", "b", "c"}));
}

// An exception escaping the receiver ends the exchange as an error (run_exchange never
// throws), keeping what was delivered and keeping the secret out of the log text.
TEST(RunExchange, AnExceptionFromTheReceiverEndsTheCallAsAnError) {
  fake::FakeTransport transport;
  transport.script.chunks = {"data: a\n\n", "data: b\n\n", "data: end\n\n"};
  CountingDecoder decoder;
  Exchange ex;
  ex.decoder = &decoder;
  ex.secret = "sk-secret";
  Cancellation cancel;
  Outcome out;
  int calls = 0;
  DeltaFn on_delta = [&](const llm::Delta& delta) -> boost::asio::awaitable<bool> {
    if (delta.text.empty()) co_return true;
    if (++calls == 2) throw std::runtime_error("the receiver broke on sk-secret");
    co_return true;
  };
  fake::run(run_exchange(transport, ex, on_delta, cancel, out));
  EXPECT_EQ(out.status, Outcome::Status::error);
  EXPECT_FALSE(out.retryable);
  EXPECT_EQ(out.detail, "the request to the provider failed");
  EXPECT_NE(out.internal.find("exception: the receiver broke"), std::string::npos) << out.internal;
  EXPECT_EQ(out.internal.find("sk-secret"), std::string::npos) << out.internal;
  EXPECT_EQ(out.text, "ab");  // b was added to the answer before its receiver threw
  EXPECT_EQ(calls, 2);
}

TEST(SseStreamDecoder, FirstMessageEndsAfterTheFirstBlankLine) {
  CountingDecoder decoder;
  EXPECT_EQ(decoder.first_message_end("data: a\n\ndata: b\n\n"), 9u);
  EXPECT_EQ(decoder.first_message_end("data: a\n"), 8u);
  EXPECT_EQ(decoder.first_message_end(""), 0u);
}

}  // namespace
}  // namespace chatd::llm
