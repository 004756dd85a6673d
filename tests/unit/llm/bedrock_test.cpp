#include "llm/bedrock.hpp"

#include "core/time.hpp"
#include "fake_transport.hpp"
#include "llm/embeddings.hpp"
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

// ---- OpenAI's tools, images, JSON mode and parameters, translated to Converse and back.
// The examples are AWS's own, from "Call a tool with the Converse API" (Amazon Bedrock User
// Guide, tool-use-inference-call): the top_song tool, its call tooluse_kZJMlvQmRJ6eAyJE5GIl7Q
// with {"sign": "WZPZ"}, and the answers of its steps 2 and 4.

constexpr const char* kTopSongId = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q";
constexpr const char* kTopSongParameters = R"({
    "type": "object",
    "properties": {
        "sign": {
            "type": "string",
            "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."
        }
    },
    "required": [
        "sign"
    ]
})";

ToolDef top_song_tool() {
  return {"top_song", "Get the most popular song played on a radio station.", kTopSongParameters, true};
}

ChatRequest top_song_request() {
  ChatRequest r;
  r.model = kModel;
  r.messages.push_back({"user", "What is the most popular song on WZPZ?"});
  r.tools = {top_song_tool()};
  return r;
}

// The request above after the model's call (step 2) and the tool's `result` (step 3).
ChatRequest top_song_history(const std::string& result) {
  ChatRequest r = top_song_request();
  ChatMessage call{"assistant", ""};
  call.tool_calls = {{kTopSongId, "top_song", R"({"sign": "WZPZ"})"}};
  r.messages.push_back(call);
  ChatMessage answer{"tool", result};
  answer.tool_call_id = kTopSongId;
  r.messages.push_back(answer);
  return r;
}

// The body of the one request `request` made the provider send.
json sent_body(const ChatRequest& request) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, request);
  EXPECT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  if (transport.requests.size() != 1) {
    ADD_FAILURE() << "expected one request, got " << transport.requests.size();
    return json();
  }
  return json::parse(transport.requests[0].body);
}

// Checks that `request` is refused unsent as invalid, naming `param`.
void expect_refused(const ChatRequest& request, const std::string& param) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, request);
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.invalid_request);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.param, param) << r.outcome.detail;
  EXPECT_FALSE(r.outcome.detail.empty());
  EXPECT_TRUE(transport.requests.empty());
}

// Tool call pieces as "index|id|name|arguments", for comparing in one line.
std::vector<std::string> pieces(const fake::CallResult& r) {
  std::vector<std::string> out;
  for (const auto& p : r.tool_calls) {
    out.push_back(std::to_string(p.index) + "|" + p.id + "|" + p.name + "|" + p.arguments);
  }
  return out;
}

TEST(BedrockTools, ToolsAndAForcedToolAsTheUserGuideWritesThem) {
  ChatRequest request = top_song_request();
  request.tool_choice = {ToolChoice::Mode::function, "top_song"};
  const json body = sent_body(request);
  // Step 1's toolConfig, with the toolChoice the guide shows for forcing top_song. `strict` (set
  // on the tool) is not sent: Converse has no such flag.
  const json expected_tools = json::parse(R"({
    "tools": [
        {
            "toolSpec": {
                "name": "top_song",
                "description": "Get the most popular song played on a radio station.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {
                            "sign": {
                                "type": "string",
                                "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."
                            }
                        },
                        "required": [
                            "sign"
                        ]
                    }
                }
            }
        }
    ]
})");
  json expected_config = expected_tools;
  expected_config["toolChoice"] = json::parse(R"({"tool" : {"name" : "top_song"}})");
  EXPECT_EQ(body["toolConfig"], expected_config);
  EXPECT_EQ(body["messages"], json::parse(R"([
    {
        "role": "user",
        "content": [
            {
                "text": "What is the most popular song on WZPZ?"
            }
        ]
    }
])"));
  EXPECT_FALSE(body.contains("requestMetadata"));
}

TEST(BedrockTools, ToolChoiceModes) {
  ChatRequest request = top_song_request();
  ToolDef bare;  // no description, no parameters
  bare.name = "now";
  request.tools.push_back(bare);

  json config = sent_body(request)["toolConfig"];
  EXPECT_FALSE(config.contains("toolChoice"));  // unset: Converse's default (auto)
  ASSERT_EQ(config["tools"].size(), 2u);
  EXPECT_EQ(config["tools"][1],
            json::parse(R"({"toolSpec":{"name":"now","inputSchema":{"json":{"type":"object","properties":{}}}}})"));

  request.tool_choice = {ToolChoice::Mode::automatic, ""};
  EXPECT_EQ(sent_body(request)["toolConfig"]["toolChoice"], json::parse(R"({"auto":{}})"));
  request.tool_choice = {ToolChoice::Mode::required, ""};
  EXPECT_EQ(sent_body(request)["toolConfig"]["toolChoice"], json::parse(R"({"any":{}})"));
  request.tool_choice = {ToolChoice::Mode::function, "now"};
  EXPECT_EQ(sent_body(request)["toolConfig"]["toolChoice"], json::parse(R"({"tool":{"name":"now"}})"));
  request.parallel_tool_calls = true;  // what Converse does anyway
  EXPECT_EQ(sent_body(request)["toolConfig"]["toolChoice"], json::parse(R"({"tool":{"name":"now"}})"));

  // none: the model is given no tools, so it calls none.
  request.tool_choice = {ToolChoice::Mode::none, ""};
  EXPECT_FALSE(sent_body(request).contains("toolConfig"));

  request.tool_choice = {ToolChoice::Mode::function, "elsewhere"};
  expect_refused(request, "tool_choice");
}

TEST(BedrockTools, WhatToolConfigCannotSayIsRefused) {
  // Converse needs a toolConfig beside toolUse/toolResult blocks, and has no "none" to put in it.
  ChatRequest request = top_song_history("Elemental Hotel");
  request.tool_choice = {ToolChoice::Mode::none, ""};
  expect_refused(request, "tool_choice");
  request.tool_choice = {};
  request.tools.clear();
  expect_refused(request, "tools");

  request = top_song_request();
  request.parallel_tool_calls = false;
  expect_refused(request, "parallel_tool_calls");

  request = sample_request();
  request.tool_choice = {ToolChoice::Mode::required, ""};
  expect_refused(request, "tool_choice");
  request.tool_choice = {ToolChoice::Mode::automatic, ""};  // harmless without tools
  EXPECT_FALSE(sent_body(request).contains("toolConfig"));

  request = top_song_request();
  request.tools[0].parameters = "[1, 2]";
  expect_refused(request, "tools");
  request.tools[0].parameters = "{\"type\":";
  expect_refused(request, "tools");
  request = top_song_request();
  request.tools[0].name = "top song";
  expect_refused(request, "tools");
}

TEST(BedrockTools, HistoryWithACallAndItsResultAsTheUserGuideWritesIt) {
  ChatRequest request = top_song_history("Station WZPA not found.");
  request.messages.push_back({"assistant", "WZPA is not a station I know."});
  request.messages.push_back({"user", "Try WZPZ"});
  const json body = sent_body(request);
  // Step 2's output.message, and step 3's toolResult with text content (the guide's error
  // example without its status: an OpenAI tool message does not say whether it is an error).
  const json expected = json::parse(R"([
    {"role": "user", "content": [{"text": "What is the most popular song on WZPZ?"}]},
    {
        "role": "assistant",
        "content": [
            {
                "toolUse": {
                    "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                    "name": "top_song",
                    "input": {
                        "sign": "WZPZ"
                    }
                }
            }
        ]
    },
    {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                    "content": [
                        {
                            "text": "Station WZPA not found."
                        }
                    ]
                }
            }
        ]
    },
    {"role": "assistant", "content": [{"text": "WZPA is not a station I know."}]},
    {"role": "user", "content": [{"text": "Try WZPZ"}]}])");
  EXPECT_EQ(body["messages"], expected);
  EXPECT_EQ(body["toolConfig"]["tools"][0]["toolSpec"]["name"], "top_song");
}

TEST(BedrockTools, CallTextArgumentsAndEmptyResults) {
  ChatRequest request = top_song_history("  \n");
  request.messages[1].content = "Let me look that up.";
  request.messages[1].tool_calls.push_back({"tooluse_2", "top_song", ""});
  ChatMessage second{"tool", "Elemental Hotel"};
  second.tool_call_id = "tooluse_2";
  request.messages.push_back(second);
  const json body = sent_body(request);
  ASSERT_EQ(body["messages"].size(), 3u);
  // The assistant's text comes before its calls; a call without arguments has input {}.
  EXPECT_EQ(body["messages"][1]["content"], json::parse(R"([
    {"text": "Let me look that up."},
    {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}}},
    {"toolUse": {"toolUseId": "tooluse_2", "name": "top_song", "input": {}}}])"));
  // Converse refuses blank text blocks: a blank result is an empty JSON document instead.
  EXPECT_EQ(body["messages"][2]["content"], json::parse(R"([
    {"toolResult": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": [{"json": {}}]}},
    {"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "Elemental Hotel"}]}}])"));

  request.messages[1].tool_calls[1].arguments = R"(["WZPZ"])";
  expect_refused(request, "messages");
  request.messages[1].tool_calls[1].arguments = R"({"sign": )";
  expect_refused(request, "messages");
}

TEST(BedrockImages, BytesAreSentInBase64AndUrlsRefused) {
  ChatRequest request = sample_request();
  ChatMessage look{"user", "What is this?"};
  look.parts.push_back({"What is this?", std::nullopt});
  look.parts.push_back({"", Image{"image/png", std::string("\x89PNG\r\n\x1a\n", 8), "", ""}});
  look.parts.push_back({"", Image{"image/webp", "RIFF", "", "low"}});
  request.messages = {look};
  const json body = sent_body(request);
  EXPECT_EQ(body["messages"], json::parse(R"([{"role": "user", "content": [
    {"text": "What is this?"},
    {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
    {"image": {"format": "webp", "source": {"bytes": "UklGRg=="}}}]}])"));

  for (const std::string type : {"image/jpeg", "image/gif"}) {
    request.messages[0].parts[2].image->media_type = type;
    EXPECT_EQ(sent_body(request)["messages"][0]["content"][2]["image"]["format"], type.substr(6));
  }
  request.messages[0].parts[2].image->media_type = "image/bmp";
  expect_refused(request, "messages");
  // chatd fetches https images before calling Bedrock; one still a URL cannot be sent.
  request.messages[0].parts[2].image = Image{"", "", "https://example.com/cat.png", ""};
  expect_refused(request, "messages");
}

TEST(BedrockJsonMode, JsonObjectIsOneForcedTool) {
  ChatRequest request = sample_request();
  request.response_format.kind = ResponseFormat::Kind::json_object;
  const json body = sent_body(request);
  EXPECT_EQ(body["toolConfig"], json::parse(R"({
    "tools": [{"toolSpec": {"name": "json_answer", "description": "The answer, as a JSON object.",
                            "inputSchema": {"json": {"type": "object"}}}}],
    "toolChoice": {"tool": {"name": "json_answer"}}})"));
  request.response_format.kind = ResponseFormat::Kind::text;
  EXPECT_FALSE(sent_body(request).contains("toolConfig"));
}

TEST(BedrockJsonMode, JsonSchemaIsOneForcedToolWithThatSchema) {
  ChatRequest request = sample_request();
  request.response_format.kind = ResponseFormat::Kind::json_schema;
  request.response_format.name = "song";
  request.response_format.description = "A song and its artist";
  request.response_format.schema =
      R"({"type":"object","properties":{"song":{"type":"string"},"artist":{"type":"string"}},"required":["song","artist"]})";
  request.response_format.strict = true;
  EXPECT_EQ(sent_body(request)["toolConfig"], json::parse(R"({
    "tools": [{"toolSpec": {"name": "song", "description": "A song and its artist",
                            "inputSchema": {"json": {"type": "object",
                                                     "properties": {"song": {"type": "string"}, "artist": {"type": "string"}},
                                                     "required": ["song", "artist"]}}}}],
    "toolChoice": {"tool": {"name": "song"}}})"));

  request.response_format.description.clear();
  request.response_format.schema.clear();
  EXPECT_EQ(sent_body(request)["toolConfig"]["tools"][0],
            json::parse(R"({"toolSpec": {"name": "song", "inputSchema": {"json": {"type": "object"}}}})"));

  request.response_format.schema = "[]";
  expect_refused(request, "response_format");
  request.response_format.schema.clear();
  request.response_format.name = "a song";
  expect_refused(request, "response_format");
  request.response_format.name = "song";
  request.tools = {top_song_tool()};  // one forced tool leaves no room for others
  expect_refused(request, "response_format");
}

TEST(BedrockParameters, ThoseConverseLacksAreRefusedByName) {
  ChatRequest request = sample_request();
  request.seed = 7;
  expect_refused(request, "seed");
  request = sample_request();
  request.presence_penalty = 0.5;
  expect_refused(request, "presence_penalty");
  request = sample_request();
  request.frequency_penalty = 0.5;
  expect_refused(request, "frequency_penalty");
  request = sample_request();
  request.logit_bias = R"({"50256": -100})";
  expect_refused(request, "logit_bias");
  request = sample_request();
  request.reasoning_effort = "low";
  expect_refused(request, "reasoning_effort");
}

TEST(BedrockParameters, UserBecomesRequestMetadataWhenConverseTakesIt) {
  ChatRequest request = sample_request();
  request.user = "user-42@example.com";
  EXPECT_EQ(sent_body(request)["requestMetadata"], json::parse(R"({"user": "user-42@example.com"})"));
  request.user = "a b:c_d@e$f#g=h/i+j,k-l.m\t" + std::string(230, 'z');  // every allowed kind, 256 characters
  ASSERT_EQ(request.user.size(), 256u);
  EXPECT_EQ(sent_body(request)["requestMetadata"]["user"], request.user);

  request.user += "z";  // 257
  expect_refused(request, "user");
  for (const std::string bad : {"jürgen", "a;b", "<script>", "50%", "quote\"d"}) {
    request.user = bad;
    expect_refused(request, "user");
  }
}

// Step 2's answer, with the usage every answer carries.
constexpr const char* kTopSongAnswer = R"({
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                        "name": "top_song",
                        "input": {
                            "sign": "WZPZ"
                        }
                    }
                }
            ]
        }
    },
    "stopReason": "tool_use",
    "usage": {"inputTokens": 400, "outputTokens": 30, "totalTokens": 430}
})";

TEST(BedrockAnswers, WholeToolCallAsTheUserGuideShowsIt) {
  auto parsed = bedrock_parse_whole(kTopSongAnswer);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  const WholeAnswer& a = parsed.value();
  EXPECT_EQ(a.text, "");
  ASSERT_EQ(a.tool_calls.size(), 1u);
  EXPECT_EQ(a.tool_calls[0].id, kTopSongId);
  EXPECT_EQ(a.tool_calls[0].name, "top_song");
  EXPECT_EQ(a.tool_calls[0].arguments, R"({"sign":"WZPZ"})");
  EXPECT_EQ(a.finish_reason, "tool_calls");
  EXPECT_EQ(a.prompt_tokens, 400);
  EXPECT_EQ(a.completion_tokens, 30);
  EXPECT_FALSE(a.cached_tokens);

  // Step 4's answer (the guide's excerpt lacks the closing brace).
  FakeTransport transport;
  transport.script.chunks = {R"({
     "output": {
        "message": {
            "role": "assistant",
            "content": [
                {
                    "text": "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike."
                }
            ]
        }
    },
    "stopReason": "end_turn"
})"};
  BedrockProvider provider(options(), transport);
  ChatRequest request = top_song_history("Elemental Hotel by 8 Storey Hike");
  request.stream = false;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.joined(), "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike.");
  EXPECT_TRUE(r.outcome.tool_calls.empty());
  EXPECT_EQ(r.outcome.finish_reason, "stop");
}

// Disabled: run_whole (exchange.cpp) passes a braced ToolCallPiece temporary straight into
// co_await deliver_tool(...), which GCC 12 destroys twice (a double free, aborting the test
// binary). Enable once run_whole names the piece before awaiting.
TEST(BedrockAnswers, WholeToolCallThroughTheDriver) {
  FakeTransport transport;
  transport.script.chunks = {kTopSongAnswer};
  BedrockProvider provider(options(), transport);
  ChatRequest request = top_song_request();
  request.stream = false;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_TRUE(r.deltas.empty());
  EXPECT_EQ(pieces(r), std::vector<std::string>{"0|tooluse_kZJMlvQmRJ6eAyJE5GIl7Q|top_song|{\"sign\":\"WZPZ\"}"});
  ASSERT_EQ(r.outcome.tool_calls.size(), 1u);
  EXPECT_EQ(r.outcome.tool_calls[0].arguments, R"({"sign":"WZPZ"})");
  EXPECT_EQ(r.outcome.finish_reason, "tool_calls");
}

TEST(BedrockAnswers, WholeTextThenCallsInOrder) {
  auto parsed = bedrock_parse_whole(R"({"output":{"message":{"role":"assistant","content":[
      {"text":"Let me look that up."},
      {"toolUse":{"toolUseId":"tooluse_a","name":"top_song","input":{"sign":"WZPZ"}}},
      {"reasoningContent":{"reasoningText":{"text":"hmm"}}},
      {"toolUse":{"toolUseId":"tooluse_b","name":"now","input":{}}},
      {"toolUse":{"toolUseId":"tooluse_c","name":"now"}}]}},
      "stopReason":"tool_use",
      "usage":{"inputTokens":10,"outputTokens":20,"totalTokens":130,"cacheReadInputTokens":80,"cacheWriteInputTokens":20}})");
  ASSERT_TRUE(parsed) << parsed.error().detail;
  const WholeAnswer& a = parsed.value();
  EXPECT_EQ(a.text, "Let me look that up.");
  ASSERT_EQ(a.tool_calls.size(), 3u);
  EXPECT_EQ(a.tool_calls[0].id, "tooluse_a");
  EXPECT_EQ(a.tool_calls[0].arguments, R"({"sign":"WZPZ"})");
  EXPECT_EQ(a.tool_calls[1].name, "now");
  EXPECT_EQ(a.tool_calls[1].arguments, "{}");
  EXPECT_EQ(a.tool_calls[2].arguments, "{}");
  EXPECT_EQ(a.finish_reason, "tool_calls");
  // inputTokens counts only the uncached part of the prompt.
  EXPECT_EQ(a.prompt_tokens, 110);
  EXPECT_EQ(a.cached_tokens, 80);
  EXPECT_EQ(a.completion_tokens, 20);

  EXPECT_FALSE(bedrock_parse_whole(
      R"({"output":{"message":{"content":[{"toolUse":{"name":"top_song","input":{}}}]}},"stopReason":"tool_use"})"));
  EXPECT_FALSE(bedrock_parse_whole(
      R"({"output":{"message":{"content":[{"toolUse":{"toolUseId":"x","name":"","input":{}}}]}},"stopReason":"tool_use"})"));
}

// A streamed answer in ConverseStream's event shapes (API reference: ContentBlockStartEvent,
// ContentBlockDeltaEvent, ContentBlockStopEvent, MessageStopEvent, ConverseStreamMetadataEvent)
// with the guide's call: text at block 0, top_song at block 1 in three pieces, a call without
// input at block 2.
const std::string kToolStream =
    message("messageStart", R"({"p":"abcd","role":"assistant"})") +
    message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Let me look that up."},"p":"ab"})") +
    message("contentBlockStop", R"({"contentBlockIndex":0,"p":"abc"})") +
    message(
        "contentBlockStart",
        R"({"contentBlockIndex":1,"p":"a","start":{"toolUse":{"name":"top_song","toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"}}})") +
    message("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"si"}},"p":"abcdef"})") +
    message("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"gn\": \"WZ"}},"p":"ab"})") +
    message("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"PZ\"}"}},"p":"abcdefghi"})") +
    message("contentBlockStop", R"({"contentBlockIndex":1,"p":"abcdefgh"})") +
    message("contentBlockStart",
            R"({"contentBlockIndex":2,"start":{"toolUse":{"name":"now","toolUseId":"tooluse_2"}}})") +
    message("contentBlockStop", R"({"contentBlockIndex":2})") +
    message("messageStop", R"({"p":"abc","stopReason":"tool_use"})") +
    message(
        "metadata",
        R"({"metrics":{"latencyMs":930},"usage":{"inputTokens":12,"outputTokens":58,"totalTokens":470,"cacheReadInputTokens":300,"cacheWriteInputTokens":100}})");

void expect_tool_stream_result(const fake::CallResult& r) {
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.joined(), "Let me look that up.");
  // Numbered by the order calls start, not by contentBlockIndex.
  EXPECT_EQ(pieces(r), (std::vector<std::string>{"0|tooluse_kZJMlvQmRJ6eAyJE5GIl7Q|top_song|", "0|||{\"si",
                                                 "0|||gn\": \"WZ", "0|||PZ\"}", "1|tooluse_2|now|", "1|||{}"}));
  ASSERT_EQ(r.outcome.tool_calls.size(), 2u);
  EXPECT_EQ(r.outcome.tool_calls[0].id, kTopSongId);
  EXPECT_EQ(r.outcome.tool_calls[0].name, "top_song");
  EXPECT_EQ(r.outcome.tool_calls[0].arguments, R"({"sign": "WZPZ"})");
  EXPECT_EQ(r.outcome.tool_calls[1].arguments, "{}");
  EXPECT_EQ(r.outcome.finish_reason, "tool_calls");
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 412);
  EXPECT_EQ(r.outcome.usage.cached_tokens, 300);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 58);
}

TEST(BedrockAnswers, StreamedToolCallsAcrossEverySplitPoint) {
  fake::for_every_split(
      kToolStream, top_song_request(), [](FakeTransport& t) { return std::make_unique<BedrockProvider>(options(), t); },
      expect_tool_stream_result);
}

TEST(BedrockAnswers, StreamedCallWithoutStopGetsEmptyArgumentsAtMessageStop) {
  FakeTransport transport;
  transport.script.chunks = {
      message("contentBlockStart", R"({"contentBlockIndex":0,"start":{"toolUse":{"name":"now","toolUseId":"t1"}}})") +
      message("messageStop", R"({"stopReason":"tool_use"})")};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, top_song_request());
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(pieces(r), (std::vector<std::string>{"0|t1|now|", "0|||{}"}));
}

TEST(BedrockAnswers, MalformedToolEventsFailTheStream) {
  const std::string text = message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
  const std::string start =
      message("contentBlockStart", R"({"contentBlockIndex":1,"start":{"toolUse":{"name":"now","toolUseId":"t1"}}})");
  const std::vector<std::string> bad = {
      message("contentBlockStart", R"({"contentBlockIndex":1,"start":{"toolUse":{"name":"now"}}})"),
      message("contentBlockStart", R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1"}}})"),
      message("contentBlockStart", R"({"start":{"toolUse":{"name":"now","toolUseId":"t1"}}})"),
      start + start,  // the same block twice
      message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"toolUse":{"input":"{}"}}})"),  // a text block
      start + message("contentBlockDelta", R"({"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}})"),
      start + message("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{}}})"),
      start + message("contentBlockStop", R"({"contentBlockIndex":1})") +
          message("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{}"}}})"),
      message("contentBlockStart", "[]"),
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(i);
    FakeTransport transport;
    transport.script.chunks = {text + bad[i] + message("messageStop", R"({"stopReason":"tool_use"})")};
    BedrockProvider provider(options(), transport);
    auto r = call(provider, top_song_request());
    EXPECT_EQ(r.outcome.status, Status::error);
    EXPECT_EQ(r.outcome.detail, "the provider reported an error");
    EXPECT_FALSE(r.outcome.retryable);
    EXPECT_EQ(r.outcome.text, "Hi");
  }
}

TEST(BedrockAnswers, OtherBlockKindsAreIgnored) {
  FakeTransport transport;
  transport.script.chunks = {
      message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Thinking"}}})") +
      message("contentBlockStop", R"({"contentBlockIndex":0})") +
      message("contentBlockStart", R"({"contentBlockIndex":1,"start":{"image":{}}})") +
      message("contentBlockDelta", R"({"contentBlockIndex":2,"delta":{"text":"Done"}})") +
      message("messageStop", R"({"stopReason":"end_turn"})")};
  BedrockProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, std::vector<std::string>{"Done"});
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.outcome.finish_reason, "stop");
}

ChatRequest json_request() {
  ChatRequest r = sample_request();
  r.response_format.kind = ResponseFormat::Kind::json_schema;
  r.response_format.name = "song";
  return r;
}

TEST(BedrockJsonMode, StreamedAnswerIsTheForcedToolsInputAsText) {
  const std::string stream =
      message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Here is the JSON:"}})") +
      message("contentBlockStop", R"({"contentBlockIndex":0})") +
      message("contentBlockStart", R"({"contentBlockIndex":1,"start":{"toolUse":{"name":"song","toolUseId":"t1"}}})") +
      message("contentBlockDelta",
              R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"song\": \"Elemental"}}})") +
      message("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":" Hotel\"}"}}})") +
      message("contentBlockStop", R"({"contentBlockIndex":1})") +
      message("contentBlockDelta", R"({"contentBlockIndex":2,"delta":{"text":"Anything else?"}})") +
      message("messageStop", R"({"stopReason":"tool_use"})") +
      message("metadata", R"({"usage":{"inputTokens":9,"outputTokens":7,"totalTokens":16}})");
  fake::for_every_split(
      stream, json_request(), [](FakeTransport& t) { return std::make_unique<BedrockProvider>(options(), t); },
      [](const fake::CallResult& r) {
        ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
        // The preamble and the text after it are not part of a JSON answer.
        EXPECT_EQ(r.deltas, (std::vector<std::string>{"{\"song\": \"Elemental", " Hotel\"}"}));
        EXPECT_TRUE(r.tool_calls.empty());
        EXPECT_TRUE(r.outcome.tool_calls.empty());
        EXPECT_EQ(r.outcome.finish_reason, "stop");
        EXPECT_EQ(r.outcome.usage.completion_tokens, 7);
      });

  FakeTransport transport;
  BedrockProvider provider(options(), transport);
  // Without input: the empty object. A second call of the tool is not part of the answer.
  transport.script.chunks = {
      message("contentBlockStart", R"({"contentBlockIndex":0,"start":{"toolUse":{"name":"song","toolUseId":"t1"}}})") +
      message("contentBlockStop", R"({"contentBlockIndex":0})") +
      message("contentBlockStart", R"({"contentBlockIndex":1,"start":{"toolUse":{"name":"song","toolUseId":"t2"}}})") +
      message("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"song\":\"x\"}"}}})") +
      message("messageStop", R"({"stopReason":"max_tokens"})")};
  auto r = call(provider, json_request());
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, std::vector<std::string>{"{}"});
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.outcome.finish_reason, "length");

  // A model that answered in text instead of calling the tool: the text is the answer.
  transport.script.chunks = {message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"{\"a\""}})") +
                             message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":": 1}"}})") +
                             message("messageStop", R"({"stopReason":"end_turn"})")};
  r = call(provider, json_request());
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.joined(), R"({"a": 1})");
  EXPECT_EQ(r.outcome.finish_reason, "stop");

  // The same stream read as an ordinary answer gives a tool call, as the json decoder must not.
  auto plain = bedrock_stream_decoder();
  StreamProgress progress;
  plain->feed(stream, progress);
  EXPECT_FALSE(progress.tool_calls.empty());
  auto json_decoder = bedrock_json_stream_decoder();
  StreamProgress json_progress;
  json_decoder->feed(stream, json_progress);
  EXPECT_TRUE(json_progress.tool_calls.empty());
  EXPECT_EQ(json_progress.finish_reason, "stop");
}

TEST(BedrockJsonMode, WholeAnswerIsTheForcedToolsInputAsText) {
  FakeTransport transport;
  transport.script.chunks = {R"({"output":{"message":{"role":"assistant","content":[
      {"text":"Here you are."},
      {"toolUse":{"toolUseId":"t1","name":"song","input":{"song":"Elemental Hotel","artist":"8 Storey Hike"}}}]}},
      "stopReason":"tool_use","usage":{"inputTokens":9,"outputTokens":7,"totalTokens":16}})"};
  BedrockProvider provider(options(), transport);
  ChatRequest request = json_request();
  request.stream = false;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, std::vector<std::string>{R"({"artist":"8 Storey Hike","song":"Elemental Hotel"})"});
  EXPECT_TRUE(r.outcome.tool_calls.empty());
  EXPECT_EQ(r.outcome.finish_reason, "stop");

  auto text_only =
      bedrock_parse_whole_json(R"({"output":{"message":{"content":[{"text":"{\"a\": 1}"}]}},"stopReason":"end_turn"})");
  ASSERT_TRUE(text_only);
  EXPECT_EQ(text_only.value().text, R"({"a": 1})");
  EXPECT_EQ(text_only.value().finish_reason, "stop");
  // The ordinary parser keeps the call a call.
  auto plain = bedrock_parse_whole(transport.script.chunks[0]);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain.value().text, "Here you are.");
  EXPECT_EQ(plain.value().tool_calls.size(), 1u);
}

// ---- embeddings (InvokeModel on Titan and Cohere models)

Outcome embed(Provider& provider, const EmbeddingRequest& request) {
  Cancellation cancel;
  return fake::run(provider.embed(request, cancel));
}

TEST(BedrockEmbeddings, TitanIsOneSignedCallPerText) {
  FakeTransport transport;
  // The answer shape of the Titan Text Embeddings V2 documentation.
  transport.script.chunks = {R"({"embedding":[0.125,-0.5,0.25],"inputTextTokenCount":4})"};
  BedrockProvider provider(options(), transport);
  Outcome out = embed(provider, {"amazon.titan-embed-text-v2:0", {"first text", "second"}, {}, 256, ""});
  ASSERT_EQ(out.status, Outcome::Status::complete) << out.internal;
  ASSERT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(transport.requests[0].url, "http://127.0.0.1:8443/model/amazon.titan-embed-text-v2%3A0/invoke");
  EXPECT_EQ(json::parse(transport.requests[0].body),
            json::parse(R"({"inputText":"first text","dimensions":256,"normalize":true})"));
  EXPECT_EQ(json::parse(transport.requests[1].body)["inputText"], "second");
  const std::string auth = transport.sent_header("authorization").value_or("");
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/", 0), 0u) << auth;
  ASSERT_EQ(out.embeddings.size(), 2u);
  EXPECT_EQ(out.embeddings[1], (std::vector<float>{0.125F, -0.5F, 0.25F}));
  EXPECT_EQ(out.usage.prompt_tokens, 8);
}

TEST(BedrockEmbeddings, CohereSendsTextsInBatchesAndEstimatesTokens) {
  FakeTransport transport;
  transport.script.chunks = {R"({"id":"6d0b3ab5","embeddings":[[0.1,0.2],[0.3,0.4]],"texts":["a b","c"],
                                 "response_type":"embeddings_floats"})"};
  BedrockProvider provider(options(), transport);
  Outcome out = embed(provider, {"cohere.embed-english-v3", {"a b", "c"}, {}, std::nullopt, ""});
  ASSERT_EQ(out.status, Outcome::Status::complete) << out.internal;
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(json::parse(transport.requests[0].body),
            json::parse(R"({"texts":["a b","c"],"input_type":"search_document"})"));
  ASSERT_EQ(out.embeddings.size(), 2u);
  EXPECT_FALSE(out.usage_reported);
  EXPECT_EQ(out.usage.prompt_tokens, 2);

  std::vector<std::string> texts(100, "t");
  EXPECT_EQ(json::parse(cohere_embedding_body(texts, 96, 96))["texts"].size(), 4u);
}

TEST(BedrockEmbeddings, RefusesWhatItsModelsCannotDo) {
  FakeTransport transport;
  BedrockProvider provider(options(), transport);
  EXPECT_EQ(embed(provider, {"anthropic.claude-3-haiku", {"a"}, {}, std::nullopt, ""}).param, "model");
  EXPECT_EQ(embed(provider, {"amazon.titan-embed-text-v2:0", {}, {{1}}, std::nullopt, ""}).param, "input");
  EXPECT_EQ(embed(provider, {"cohere.embed-english-v3", {"a"}, {}, 512, ""}).param, "dimensions");
  EXPECT_TRUE(transport.requests.empty());
}

}  // namespace
}  // namespace chatd::llm
