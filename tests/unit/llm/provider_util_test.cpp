#include "llm/provider_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd::llm {
namespace {

TEST(ProviderUtil, EstimatesTokensFromUtf8Bytes) {
  EXPECT_EQ(estimate_tokens(""), 0);
  EXPECT_EQ(estimate_tokens("abc"), 1);
  EXPECT_EQ(estimate_tokens("abcd"), 1);
  EXPECT_EQ(estimate_tokens("abcde"), 2);
  EXPECT_EQ(estimate_tokens("\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xBD\xA0\xE5\xA5\xBD"), 3);  // 4 code points, 12 bytes
  std::vector<ChatMessage> messages = {{"system", "abcd"}, {"user", "efgh1"}, {"user", "\xC3\xA9"}};
  EXPECT_EQ(estimate_prompt_tokens(messages), 3 + 12);  // ceil(11 bytes / 4) + 3 * 4
  EXPECT_EQ(estimate_prompt_tokens({}), 0);
}

TEST(ProviderUtil, ParsesRetryAfterSeconds) {
  EXPECT_EQ(parse_retry_after_ms("0"), 0);
  EXPECT_EQ(parse_retry_after_ms(" 30 "), 30000);
  EXPECT_EQ(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("-1"), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("1.5"), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms(""), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("86401"), std::nullopt);
}

TEST(ProviderUtil, RetryableStatuses) {
  for (int s : {408, 429, 500, 502, 503, 504, 529}) EXPECT_TRUE(is_retryable_status(s)) << s;
  for (int s : {300, 400, 401, 403, 404, 413, 422}) EXPECT_FALSE(is_retryable_status(s)) << s;
}

TEST(ProviderUtil, JoinsUrls) {
  EXPECT_EQ(join_url("https://a/v1", "models"), "https://a/v1/models");
  EXPECT_EQ(join_url("https://a/v1/", "/models"), "https://a/v1/models");
  EXPECT_EQ(join_url("https://a/v1", "models", "?x=1"), "https://a/v1/models?x=1");
  EXPECT_EQ(join_url("https://a/v1", "models", "x=1&y=2"), "https://a/v1/models?x=1&y=2");
}

TEST(ProviderUtil, RedactsAndCuts) {
  EXPECT_EQ(redact("key sk-1 and sk-1", "sk-1"), "key [redacted] and [redacted]");
  EXPECT_EQ(redact("nothing", ""), "nothing");
  EXPECT_EQ(excerpt("abcdef", 3), "abc...");
  EXPECT_EQ(excerpt("ab\xC3\xA9", 3), "ab...");  // never half a character
  EXPECT_EQ(excerpt("abc", 3), "abc");
}

TEST(ProviderUtil, MakesConversationsAlternate) {
  std::vector<ChatMessage> messages = {
      {"assistant", "greeting"}, {"system", "s1"}, {"user", "a"},     {"user", ""}, {"user", "b"},
      {"developer", "s2"},       {"tool", "c"},    {"assistant", "d"}};
  AlternatingConversation c = to_alternating(messages);
  EXPECT_EQ(c.system, "s1\n\ns2");
  ASSERT_EQ(c.turns.size(), 2u);
  EXPECT_EQ(c.turns[0].role, "user");
  ASSERT_NE(c.turns[0].only_text(), nullptr);
  EXPECT_EQ(*c.turns[0].only_text(), "a\n\nb\n\nc");
  EXPECT_EQ(c.turns[1].role, "assistant");
  ASSERT_NE(c.turns[1].only_text(), nullptr);
  EXPECT_EQ(*c.turns[1].only_text(), "d");

  EXPECT_TRUE(to_alternating({{"system", "x"}, {"assistant", "y"}, {"user", " \n"}}).turns.empty());
}

TEST(ProviderUtil, MapsStopReasons) {
  EXPECT_EQ(map_stop_reason("end_turn"), "stop");
  EXPECT_EQ(map_stop_reason("stop_sequence"), "stop");
  EXPECT_EQ(map_stop_reason("max_tokens"), "length");
  EXPECT_EQ(map_stop_reason("tool_use"), "tool_calls");
  EXPECT_EQ(map_stop_reason("guardrail_intervened"), "content_filter");
  EXPECT_EQ(map_stop_reason("something_new"), "something_new");
}

TEST(ProviderUtil, ExtractsUpstreamErrorMessages) {
  EXPECT_EQ(upstream_error_message(R"({"error":{"message":"Bad key","type":"invalid_request_error"}})"),
            "invalid_request_error: Bad key");
  EXPECT_EQ(upstream_error_message(R"({"error":{"message":"Bad key","code":"invalid_api_key","type":null}})"),
            "invalid_api_key: Bad key");
  EXPECT_EQ(upstream_error_message(R"({"message":"Throttled"})", "ThrottlingException:http://x/"),
            "ThrottlingException: Throttled");
  EXPECT_EQ(upstream_error_message(R"({"error":"model not found"})"), "model not found");
  EXPECT_EQ(upstream_error_message("<html>502</html>"), "<html>502</html>");
  EXPECT_EQ(upstream_error_message(std::string(2000, 'z')).size(), 1003u);
}

}  // namespace
}  // namespace chatd::llm

namespace chatd::llm {
namespace {

TEST(ProviderUtil, BelievesTokenCountsOnlyInRange) {
  auto j = nlohmann::json::parse(
      R"({"zero":0,"max":1000000000,"over":1000000001,"neg":-1,"huge":18446744073709551615,"min":-9223372036854775808,"text":"5","real":5.0})");
  EXPECT_EQ(json_tokens(j, "zero"), 0);
  EXPECT_EQ(json_tokens(j, "max"), kMaxReportedTokens);
  for (const char* key : {"over", "neg", "huge", "min", "text", "real", "absent"}) {
    EXPECT_EQ(json_tokens(j, key), std::nullopt) << key;
  }
  EXPECT_EQ(token_count(7), 7);
  EXPECT_EQ(token_count(-7), std::nullopt);
  EXPECT_EQ(token_count(std::nullopt), std::nullopt);
}

}  // namespace
}  // namespace chatd::llm
