// What the model sees: the system prompt and the newest history that fits the window.

#include "chat/history.hpp"

#include <gtest/gtest.h>

namespace chatd::chat {
namespace {

using llm::ChatMessage;

std::vector<std::string> contents(const std::vector<ChatMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.role + ":" + m.content);
  return out;
}

TEST(History, MessageCostIsBytesOverFourPlusFraming) {
  EXPECT_EQ(message_tokens({"user", ""}), kMessageOverhead);
  EXPECT_EQ(message_tokens({"user", "abcde"}), 2 + kMessageOverhead);
  // Three two-byte letters: 6 bytes, 2 tokens; by code points it would be 1.
  EXPECT_EQ(message_tokens({"user", "\xC3\xA9\xC3\xA9\xC3\xA9"}), 2 + kMessageOverhead);
}

TEST(History, AnswerReserve) {
  EXPECT_EQ(answer_reserve(8192, std::nullopt), 2048);
  EXPECT_EQ(answer_reserve(200000, std::nullopt), 4096);
  EXPECT_EQ(answer_reserve(8192, 100), 100);
  EXPECT_EQ(answer_reserve(8192, 100000), 8192);
  EXPECT_EQ(answer_reserve(8192, 0), 2048);
}

TEST(History, KeepsEverythingThatFits) {
  std::vector<ChatMessage> h = {{"user", "hi"}, {"assistant", "hello"}, {"user", "how are you"}};
  EXPECT_EQ(contents(fit_history(std::string("be brief"), h, 8192, std::nullopt)),
            (std::vector<std::string>{"system:be brief", "user:hi", "assistant:hello", "user:how are you"}));
  EXPECT_EQ(contents(fit_history(std::nullopt, h, 8192, std::nullopt)).size(), 3u);
  EXPECT_EQ(contents(fit_history(std::string(), h, 8192, std::nullopt)).size(), 3u);  // an empty prompt is none
}

TEST(History, DropsTheOldestFirst) {
  // Each message costs 25 + 4 = 29 tokens; window 100 with max_tokens 10 leaves 90: three fit.
  const std::string text(100, 'x');
  std::vector<ChatMessage> h;
  for (int i = 0; i < 5; ++i) h.push_back({i % 2 ? "assistant" : "user", std::to_string(i) + text.substr(1)});
  auto out = fit_history(std::nullopt, h, 100, 10);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].content[0], '2');
  EXPECT_EQ(out[2].content[0], '4');
  // A system prompt of 29 tokens takes one message's place.
  out = fit_history(std::string(100, 's'), h, 100, 10);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].role, "system");
  EXPECT_EQ(out[1].content[0], '3');
}

TEST(History, TheNewestMessageAndThePromptStayEvenWhenTooLong) {
  std::vector<ChatMessage> h = {{"user", "old"}, {"user", std::string(1000, 'y')}};
  auto out = fit_history(std::string(1000, 's'), h, 100, 10);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].role, "system");
  EXPECT_EQ(out[1].content.size(), 1000u);
}

TEST(History, StopsAtTheFirstMessageThatDoesNotFit) {
  // Walking back from the newest: a big message in the middle ends the history there, even
  // if an older small one would still fit (the model never sees a gap in the conversation).
  std::vector<ChatMessage> h = {{"user", "a"}, {"assistant", std::string(400, 'b')}, {"user", "c"}};
  auto out = fit_history(std::nullopt, h, 100, 10);
  EXPECT_EQ(contents(out), (std::vector<std::string>{"user:c"}));
}

}  // namespace
}  // namespace chatd::chat
