#include "llm/bedrock.hpp"

#include "core/time.hpp"
#include "fake_transport.hpp"
#include "llm/eventstream.hpp"
#include "llm/sigv4.hpp"

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

constexpr const char* kModel = "anthropic.claude-3-haiku-20240307-v1:0";

std::int64_t fixed_now() { return parse_rfc3339("2024-01-02T03:04:05Z").value() + 678; }

BedrockOptions options() {
  BedrockOptions o;
  o.region = "us-east-1";
  o.endpoint = "http://127.0.0.1:8443";
  o.credentials.access_key_id = "AKIDEXAMPLE";
  o.credentials.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  o.now_ms = &fixed_now;
  return o;
}

ChatRequest sample_request() {
  ChatRequest r;
  r.model = kModel;
  r.messages.push_back({"system", "Be brief."});
  r.messages.push_back({"user", "Say hello"});
  return r;
}

std::string message(const std::string& event_type, const std::string& payload) {
  EventStreamMessage m;
  m.headers.emplace_back(":event-type", HeaderValue{event_type});
  m.headers.emplace_back(":content-type", HeaderValue{std::string("application/json")});
  m.headers.emplace_back(":message-type", HeaderValue{std::string("event")});
  m.payload = payload;
  return encode_event_stream_message(m);
}

std::string exception(const std::string& type, const std::string& payload) {
  EventStreamMessage m;
  m.headers.emplace_back(":exception-type", HeaderValue{type});
  m.headers.emplace_back(":content-type", HeaderValue{std::string("application/json")});
  m.headers.emplace_back(":message-type", HeaderValue{std::string("exception")});
  m.payload = payload;
  return encode_event_stream_message(m);
}

const std::string kStream =
    message("messageStart", R"({"p":"abcd","role":"assistant"})") +
    message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"})") +
    message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":", world"},"p":"ab"})") +
    message("contentBlockStop", R"({"contentBlockIndex":0,"p":"abcdefghijk"})") +
    message("messageStop", R"({"p":"abc","stopReason":"max_tokens"})") +
    message("metadata",
            R"({"metrics":{"latencyMs":321},"p":"ab","usage":{"inputTokens":17,"outputTokens":5,"totalTokens":22}})");

void expect_stream_result(const fake::CallResult& r) {
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, (std::vector<std::string>{"Hello", ", world"}));
  EXPECT_EQ(r.outcome.finish_reason, "length");
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 17);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 5);
}

TEST(BedrockProvider, AmzDate) { EXPECT_EQ(amz_date(fixed_now()), "20240102T030405Z"); }

TEST(BedrockProvider, SendsASignedConverseStreamRequest) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  BedrockProvider provider(options(), transport);
  ChatRequest request = sample_request();
  request.messages.push_back({"assistant", "Hi!"});
  request.messages.push_back({"user", "Again"});
  request.max_tokens = 200;
  request.temperature = 0.7;
  request.top_p = 0.5;
  request.stop = {"STOP"};
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;

  const UpstreamRequest& sent = transport.requests.at(0);
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "http://127.0.0.1:8443/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream");
  const json expected = json::parse(R"({
    "messages": [
      {"role": "user", "content": [{"text": "Say hello"}]},
      {"role": "assistant", "content": [{"text": "Hi!"}]},
      {"role": "user", "content": [{"text": "Again"}]}],
    "system": [{"text": "Be brief."}],
    "inferenceConfig": {"maxTokens": 200, "temperature": 0.7, "topP": 0.5, "stopSequences": ["STOP"]}})");
  EXPECT_EQ(json::parse(sent.body), expected);

  // Exactly the signed headers (the client adds host itself).
  ASSERT_EQ(sent.headers.size(), 3u);
  EXPECT_EQ(transport.sent_header("content-type"), "application/json");
  EXPECT_EQ(transport.sent_header("x-amz-date"), "20240102T030405Z");
  EXPECT_FALSE(transport.sent_header("x-amz-security-token"));

  SigV4Request to_sign;
  to_sign.method = "POST";
  to_sign.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream";
  to_sign.headers = {
      {"host", "127.0.0.1:8443"}, {"content-type", "application/json"}, {"x-amz-date", "20240102T030405Z"}};
  to_sign.body = sent.body;
  const SigV4Result signature = sigv4_sign(to_sign, options().credentials, "us-east-1", "bedrock", "20240102T030405Z");
  EXPECT_NE(signature.canonical_request.find("/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse-stream"),
            std::string::npos);
  EXPECT_EQ(transport.sent_header("authorization"), signature.authorization);
  EXPECT_EQ(signature.authorization.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/"
                                          "aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=",
                                          0),
            0u)
      << signature.authorization;
}

TEST(BedrockProvider, SessionTokenIsSignedAndSent) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  BedrockOptions o = options();
  o.credentials.session_token = "session-token-value";
  o.endpoint = "https://bedrock.internal.example:443/";
  BedrockProvider provider(o, transport);
  auto r = call(provider, sample_request());
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  const UpstreamRequest& sent = transport.requests.at(0);
  EXPECT_EQ(sent.url,
            "https://bedrock.internal.example:443/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream");
  EXPECT_EQ(sent.headers.size(), 4u);
  EXPECT_EQ(transport.sent_header("x-amz-security-token"), "session-token-value");

  SigV4Request to_sign;
  to_sign.method = "POST";
  to_sign.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream";
  to_sign.headers = {{"host", "bedrock.internal.example"},
                     {"content-type", "application/json"},
                     {"x-amz-date", "20240102T030405Z"},
                     {"x-amz-security-token", "session-token-value"}};
  to_sign.body = sent.body;
  const SigV4Result signature = sigv4_sign(to_sign, o.credentials, "us-east-1", "bedrock", "20240102T030405Z");
  EXPECT_EQ(transport.sent_header("authorization"), signature.authorization);
  EXPECT_NE(signature.authorization.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"),
            std::string::npos);
}

TEST(BedrockProvider, DefaultEndpointFollowsTheRegion) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  BedrockOptions o = options();
  o.endpoint.clear();
  o.region = "eu-west-3";
  BedrockProvider provider(o, transport);
  ChatRequest request = sample_request();
  request.model = "amazon.nova-lite-v1:0";
  call(provider, request);
  EXPECT_EQ(transport.requests.at(0).url,
            "https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.nova-lite-v1%3A0/converse-stream");
  const json body = json::parse(transport.requests[0].body);
  EXPECT_FALSE(body.contains("inferenceConfig"));
}

TEST(BedrockProvider, BadEndpointIsRefusedWithoutSending) {
  FakeTransport transport;
  BedrockOptions o = options();
  o.endpoint = "ftp://example.com";
  BedrockProvider provider(o, transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_TRUE(transport.requests.empty());
}

TEST(BedrockProvider, StreamsAcrossEverySplitPoint) {
  fake::for_every_split(
      kStream, sample_request(), [](FakeTransport& t) { return std::make_unique<BedrockProvider>(options(), t); },
      expect_stream_result);
}

TEST(BedrockProvider, MissingMetadataMeansEstimatedUsage) {
  FakeTransport transport;
  transport.script.chunks = {kStream.substr(
      0,
      kStream.size() -
          message(
              "metadata",
              R"({"metrics":{"latencyMs":321},"p":"ab","usage":{"inputTokens":17,"outputTokens":5,"totalTokens":22}})")
              .size())};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_FALSE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 3);  // "Hello, world": 12 chars
}

TEST(BedrockProvider, StreamWithoutMessageStopIsTruncated) {
  FakeTransport transport;
  transport.script.chunks = {message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})")};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_EQ(r.outcome.text, "Hel");
  EXPECT_FALSE(r.outcome.retryable);

  // Cut inside a message: the decoder notices the partial frame.
  transport.script.chunks = {kStream.substr(0, 40)};
  r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
}

TEST(BedrockProvider, ExceptionMessageFailsTheStream) {
  FakeTransport transport;
  transport.script.chunks = {message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})") +
                             exception("modelStreamErrorException", R"({"message":"Model stream broke"})")};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.text, "Hel");
  EXPECT_NE(r.outcome.internal.find("modelStreamErrorException: Model stream broke"), std::string::npos)
      << r.outcome.internal;

  transport.script.chunks = {exception("throttlingException", R"({"message":"Too many requests"})")};
  r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.retryable);  // nothing delivered and the upstream says "later"

  transport.script.chunks = {exception("validationException", R"({"message":"bad input"})")};
  r = call(provider, sample_request());
  EXPECT_FALSE(r.outcome.retryable);
}

TEST(BedrockProvider, BadCrcFails) {
  std::string corrupted = kStream;
  const std::size_t second = message("messageStart", R"({"p":"abcd","role":"assistant"})").size();
  corrupted[second + 110] ^= 0x01;  // inside the second message's payload
  FakeTransport transport;
  transport.script.chunks = {corrupted};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_TRUE(r.outcome.text.empty());
  EXPECT_FALSE(r.outcome.internal.empty());
}

TEST(BedrockProvider, HttpErrorsUseMessageAndErrorTypeHeader) {
  FakeTransport transport;
  transport.script.status = 429;
  transport.script.headers = {
      {"x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"}};
  transport.script.chunks = {R"({"message":"Too many requests, please wait before trying again."})"};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.internal, "HTTP 429 ThrottlingException: Too many requests, please wait before trying again.");

  transport.script.status = 403;
  transport.script.headers = {{"x-amzn-ErrorType", "AccessDeniedException"}};
  transport.script.chunks = {R"({"message":"You don't have access to the model"})"};
  r = call(provider, sample_request());
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.detail, "the provider answered 403");

  transport.script.status = 500;
  r = call(provider, sample_request());
  EXPECT_TRUE(r.outcome.retryable);
}

TEST(BedrockProvider, TransportFailures) {
  FakeTransport transport;
  transport.script.send_error = Code::timeout;
  BedrockProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::timeout);
  EXPECT_TRUE(r.outcome.retryable);

  transport.script.send_error = Code::upstream;
  r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.retryable);

  transport.script.send_error.reset();
  transport.script.chunks = {
      kStream.substr(0, kStream.find(message("contentBlockStop", R"({"contentBlockIndex":0,"p":"abcdefghijk"})")))};
  transport.script.read_error = Code::upstream;
  r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.text, "Hello, world");
}

TEST(BedrockProvider, NonStreamingConverse) {
  FakeTransport transport;
  transport.script.chunks = {
      R"({"output":{"message":{"role":"assistant","content":[{"text":"Hi"},{"text":" you"}]}},"stopReason":"end_turn","usage":{"inputTokens":8,"outputTokens":2,"totalTokens":10},"metrics":{"latencyMs":100}})"};
  BedrockProvider provider(options(), transport);
  ChatRequest request = sample_request();
  request.stream = false;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(transport.requests.at(0).url,
            "http://127.0.0.1:8443/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  EXPECT_EQ(r.deltas, std::vector<std::string>{"Hi you"});
  EXPECT_EQ(r.outcome.finish_reason, "stop");
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 8);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 2);

  transport.script.chunks = {R"({"output":{}})"};
  r = call(provider, request);
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
}

TEST(BedrockProvider, DisbelievesNegativeTokenCountsAndRefusesANoUserConversation) {
  FakeTransport transport;
  BedrockProvider provider(options(), transport);
  fake::expect_usage_estimated(
      provider, transport,
      R"({"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":-5,"outputTokens":-1000000}})",
      1);  // "Hi": 2 bytes
  fake::expect_refused_without_user_message(provider, transport, {{"user", " \n "}});
}

TEST(BedrockProvider, DeltaCallbackRefusingCancels) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  BedrockProvider provider(options(), transport);
  Cancellation cancel;
  auto r = call(provider, sample_request(), cancel, 1);
  EXPECT_EQ(r.outcome.status, Status::cancelled);
  EXPECT_TRUE(cancel.cancelled());
  EXPECT_EQ(r.outcome.text, "Hello");
}

}  // namespace
}  // namespace chatd::llm
