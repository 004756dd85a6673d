#include "llm/anthropic.hpp"

#include "fake_transport.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace chatd::llm {
namespace {

using fake::call;
using fake::FakeTransport;
using nlohmann::json;
using Status = Outcome::Status;

AnthropicOptions options() {
  AnthropicOptions o;
  o.base_url = "https://anthropic.example.com";
  o.api_key = "sk-ant-secret";
  return o;
}

ChatRequest sample_request() {
  ChatRequest r;
  r.model = "claude-3-5-haiku-latest";
  r.messages.push_back({"user", "Say hello"});
  return r;
}

std::string event(const std::string& name, const std::string& data) {
  return "event: " + name + "\ndata: " + data + "\n\n";
}

const std::string kStream =
    event(
        "message_start",
        R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1}}})") +
    event("content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
    event("ping", R"({"type": "ping"})") +
    event("content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})") +
    event("content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"! \u4f60\u597d"}})") +
    event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
    event(
        "message_delta",
        R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}})") +
    event("message_stop", R"({"type":"message_stop"})");

void expect_stream_result(const fake::CallResult& r) {
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, (std::vector<std::string>{"Hello", "! \xE4\xBD\xA0\xE5\xA5\xBD"}));
  EXPECT_EQ(r.outcome.finish_reason, "stop");
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 25);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 15);
}

TEST(AnthropicProvider, SendsTheDocumentedRequest) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  AnthropicProvider provider(options(), transport);
  ChatRequest request;
  request.model = "claude-3-5-haiku-latest";
  request.messages = {{"system", "Be brief."},    {"assistant", "Welcome!"},        {"user", "Hi"},
                      {"user", "Are you there?"}, {"system", "Answer in English."}, {"assistant", "Yes."},
                      {"assistant", "  "},        {"assistant", "How can I help?"}, {"user", "Tell me a joke"}};
  request.temperature = 0.2;
  request.top_p = 0.9;
  request.stop = {"###"};
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  const UpstreamRequest& sent = transport.requests.at(0);
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "https://anthropic.example.com/v1/messages");
  EXPECT_EQ(transport.sent_header("x-api-key"), "sk-ant-secret");
  EXPECT_EQ(transport.sent_header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(transport.sent_header("content-type"), "application/json");
  EXPECT_FALSE(transport.sent_header("authorization"));
  const json expected = json::parse(R"({
    "model": "claude-3-5-haiku-latest",
    "max_tokens": 4096,
    "system": "Be brief.\n\nAnswer in English.",
    "messages": [
      {"role": "user", "content": "Hi\n\nAre you there?"},
      {"role": "assistant", "content": "Yes.\n\nHow can I help?"},
      {"role": "user", "content": "Tell me a joke"}],
    "temperature": 0.2, "top_p": 0.9, "stop_sequences": ["###"], "stream": true})");
  EXPECT_EQ(json::parse(sent.body), expected);
}

TEST(AnthropicProvider, ExplicitMaxTokensAndBaseWithVersion) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  AnthropicOptions o = options();
  o.base_url = "https://anthropic.example.com/v1/";
  AnthropicProvider provider(o, transport);
  ChatRequest request = sample_request();
  request.max_tokens = 50;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete);
  EXPECT_EQ(transport.requests[0].url, "https://anthropic.example.com/v1/messages");
  const json body = json::parse(transport.requests[0].body);
  EXPECT_EQ(body["max_tokens"], 50);
  EXPECT_FALSE(body.contains("system"));
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("stop_sequences"));
}

TEST(AnthropicProvider, RefusesAConversationWithoutUserMessage) {
  FakeTransport transport;
  AnthropicProvider provider(options(), transport);
  ChatRequest request;
  request.model = "m";
  request.messages = {{"system", "s"}, {"assistant", "hello"}};
  auto r = call(provider, request);
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_TRUE(transport.requests.empty());
}

TEST(AnthropicProvider, StreamsAcrossEverySplitPoint) {
  fake::for_every_split(
      kStream, sample_request(), [](FakeTransport& t) { return std::make_unique<AnthropicProvider>(options(), t); },
      expect_stream_result);
}

TEST(AnthropicProvider, MapsStopReasons) {
  for (const auto& [reason, mapped] : std::vector<std::pair<std::string, std::string>>{
           {"end_turn", "stop"}, {"stop_sequence", "stop"}, {"max_tokens", "length"}, {"refusal", "content_filter"}}) {
    FakeTransport transport;
    transport.script.chunks = {
        event("content_block_delta",
              R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}})") +
        event("message_delta",
              R"({"type":"message_delta","delta":{"stop_reason":")" + reason + R"("},"usage":{"output_tokens":1}})") +
        event("message_stop", R"({"type":"message_stop"})")};
    AnthropicProvider provider(options(), transport);
    auto r = call(provider, sample_request());
    ASSERT_EQ(r.outcome.status, Status::complete);
    EXPECT_EQ(r.outcome.finish_reason, mapped) << reason;
    EXPECT_FALSE(r.outcome.usage_reported);  // no message_start: the prompt side is an estimate
    EXPECT_EQ(r.outcome.usage.completion_tokens, 1);
    EXPECT_EQ(r.outcome.usage.prompt_tokens, 3 + 4);
  }
}

TEST(AnthropicProvider, ErrorEventFailsMidStream) {
  FakeTransport transport;
  transport.script.chunks = {
      kStream.substr(0, kStream.find("event: content_block_stop")) +
      event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")};
  AnthropicProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);  // text was delivered
  EXPECT_EQ(r.outcome.text, "Hello! \xE4\xBD\xA0\xE5\xA5\xBD");
  EXPECT_NE(r.outcome.internal.find("overloaded_error: Overloaded"), std::string::npos) << r.outcome.internal;
  EXPECT_EQ(r.outcome.detail, "the provider reported an error");
}

TEST(AnthropicProvider, OverloadBeforeAnyTextIsRetryable) {
  FakeTransport transport;
  transport.script.chunks = {
      event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")};
  AnthropicProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.retryable);
}

TEST(AnthropicProvider, HttpErrors) {
  FakeTransport transport;
  transport.script.status = 429;
  transport.script.headers = {{"retry-after", "12"}};
  transport.script.chunks = {
      R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your rate limit"}})"};
  AnthropicProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.retry_after_ms, 12000);
  EXPECT_EQ(r.outcome.internal, "HTTP 429 rate_limit_error: Number of request tokens has exceeded your rate limit");

  transport.script.status = 529;  // Anthropic's "overloaded"
  transport.script.headers.clear();
  r = call(provider, sample_request());
  EXPECT_TRUE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.upstream_status, 529);

  transport.script.status = 400;
  transport.script.chunks = {
      R"({"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate"}})"};
  r = call(provider, sample_request());
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.detail, "the provider answered 400");
}

TEST(AnthropicProvider, TransportFailures) {
  FakeTransport transport;
  transport.script.send_error = Code::upstream;
  AnthropicProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.retryable);

  transport.script.send_error.reset();
  transport.script.chunks = {kStream.substr(0, kStream.find("event: message_delta"))};
  transport.script.read_error = Code::timeout;
  r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::timeout);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.text, "Hello! \xE4\xBD\xA0\xE5\xA5\xBD");
}

TEST(AnthropicProvider, StreamWithoutMessageStopIsTruncated) {
  FakeTransport transport;
  transport.script.chunks = {kStream.substr(0, kStream.find("event: message_stop"))};
  AnthropicProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_EQ(r.outcome.text, "Hello! \xE4\xBD\xA0\xE5\xA5\xBD");
  EXPECT_FALSE(r.outcome.retryable);
}

TEST(AnthropicProvider, NonStreaming) {
  FakeTransport transport;
  transport.script.chunks = {
      R"({"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],"stop_reason":"max_tokens","usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":4}})"};
  AnthropicProvider provider(options(), transport);
  ChatRequest request = sample_request();
  request.stream = false;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, std::vector<std::string>{"Hello there"});
  EXPECT_EQ(r.outcome.finish_reason, "length");
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 15);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 4);
  EXPECT_EQ(json::parse(transport.requests[0].body)["stream"], false);
}

TEST(AnthropicProvider, DisbelievesImpossibleTokenCountsAndRefusesANoUserConversation) {
  FakeTransport transport;
  AnthropicProvider provider(options(), transport);
  // Each part in range, their sum past the limit; and an output count past INT64_MAX.
  fake::expect_usage_estimated(
      provider, transport,
      R"({"content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":900000000,"cache_read_input_tokens":900000000,"output_tokens":18446744073709551615}})",
      2);  // "Hello": 5 bytes
  fake::expect_refused_without_user_message(provider, transport, {{"system", "Be brief."}, {"assistant", "Hi"}});
}

TEST(AnthropicProvider, DeltaCallbackRefusingCancels) {
  FakeTransport transport;
  transport.script.chunks = fake::split_every(kStream, 10);
  AnthropicProvider provider(options(), transport);
  Cancellation cancel;
  auto r = call(provider, sample_request(), cancel, 1);
  EXPECT_EQ(r.outcome.status, Status::cancelled);
  EXPECT_TRUE(cancel.cancelled());
  EXPECT_EQ(r.outcome.text, "Hello");
}

}  // namespace
}  // namespace chatd::llm
