#include "llm/demo.hpp"

#include "fake_transport.hpp"
#include "llm/provider_util.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace chatd::llm {
namespace {

namespace asio = boost::asio;
using fake::call;
using Status = Outcome::Status;

ChatRequest request_saying(std::string text) {
  ChatRequest r;
  r.model = "demo";
  r.messages.push_back({"system", "You are helpful."});
  r.messages.push_back({"user", std::move(text)});
  return r;
}

TEST(DemoProvider, StreamsACannedAnswerWordByWord) {
  DemoProvider provider(DemoOptions{std::chrono::milliseconds(0)});
  auto r = call(provider, request_saying("What is\n the   capital of France?"));
  ASSERT_EQ(r.outcome.status, Status::complete);
  EXPECT_GT(r.deltas.size(), 20u);
  EXPECT_EQ(r.outcome.text, r.joined());
  for (const auto& d : r.deltas) {
    EXPECT_FALSE(d.empty());
    EXPECT_NE(d.front(), ' ');
  }
  for (const char* expected : {"built-in demo model of chatd", "no model provider is configured",
                               "CHATD_OPENAI_API_KEY", "CHATD_ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID",
                               "CHATD_PROVIDERS_FILE", "You wrote: \"What is the capital of France?\""}) {
    EXPECT_NE(r.outcome.text.find(expected), std::string::npos) << expected;
  }
  EXPECT_EQ(r.outcome.finish_reason, "stop");
  EXPECT_FALSE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens,
            estimate_prompt_tokens(request_saying("What is\n the   capital of France?").messages));
  EXPECT_EQ(r.outcome.usage.completion_tokens, estimate_tokens(r.outcome.text));
}

TEST(DemoProvider, QuotesOnlyAShortExcerpt) {
  const std::string long_text(500, 'x');
  auto words = demo_answer(request_saying(long_text));
  std::string text;
  for (const auto& w : words) text += w;
  EXPECT_NE(text.find("You wrote: \"" + std::string(60, 'x') + "...\""), std::string::npos) << text;
  // No user message: no quote at all.
  ChatRequest empty;
  text.clear();
  for (const auto& w : demo_answer(empty)) text += w;
  EXPECT_EQ(text.find("You wrote"), std::string::npos);
  EXPECT_NE(text.find("demo model"), std::string::npos);
}

TEST(DemoProvider, DeltaCallbackRefusingCancels) {
  DemoProvider provider(DemoOptions{std::chrono::milliseconds(0)});
  Cancellation cancel;
  auto r = call(provider, request_saying("hi"), cancel, 3);
  EXPECT_EQ(r.outcome.status, Status::cancelled);
  EXPECT_TRUE(cancel.cancelled());
  EXPECT_EQ(r.deltas.size(), 3u);
  EXPECT_EQ(r.outcome.text, r.joined());
}

TEST(DemoProvider, CancellationInterruptsTheDelay) {
  // An hour between deltas: only cancellation can end this call.
  DemoProvider provider(DemoOptions{std::chrono::hours(1)});
  Cancellation cancel;
  asio::io_context ioc;
  std::vector<std::string> deltas;
  std::optional<Outcome> outcome;
  DeltaFn on_delta = [&](const llm::Delta& delta) -> asio::awaitable<bool> {
    const std::string_view text = delta.text;
    if (text.empty()) co_return true;  // a flush
    deltas.emplace_back(text);
    // Cancel from outside the call, as the HTTP layer does when its client goes away.
    asio::post(ioc, [&cancel] { cancel.cancel(); });
    co_return true;
  };
  const ChatRequest request = request_saying("hi");
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { outcome = co_await fake::outcome_of(provider, request, on_delta, cancel); },
      asio::detached);
  ioc.run_for(std::chrono::seconds(30));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::cancelled);
  EXPECT_EQ(deltas.size(), 1u);
  EXPECT_EQ(outcome->text, deltas.at(0));
}

TEST(DemoProvider, WaitsBetweenDeltas) {
  DemoProvider provider(DemoOptions{std::chrono::milliseconds(1)});
  auto r = call(provider, request_saying("hi"));
  EXPECT_EQ(r.outcome.status, Status::complete);
  EXPECT_EQ(r.outcome.text, r.joined());
}

TEST(DemoProvider, ListsItsModel) {
  DemoProvider provider;
  std::string error = "x";
  EXPECT_EQ(fake::run(provider.list_models(error)), std::vector<std::string>{"demo"});
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace chatd::llm
