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

// --- OpenAI's features translated ---

// The body anthropic_request_body() writes for `request`, parsed; fails the test when refused.
json body_of(const ChatRequest& request) {
  auto translated = anthropic_request_body(request, 4096);
  if (!translated) {
    ADD_FAILURE() << "refused: " << translated.error().param << ": " << translated.error().detail;
    return json();
  }
  return json::parse(translated.value().body);
}

// The refusal of `request`, sent through the provider: checks it is an invalid request that
// was never sent, and returns the parameter it names.
std::string refused_param(const ChatRequest& request) {
  FakeTransport transport;
  AnthropicProvider provider(options(), transport);
  auto r = call(provider, request);
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.invalid_request);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_FALSE(r.outcome.detail.empty());
  EXPECT_TRUE(transport.requests.empty());
  return r.outcome.param;
}

// The tool of Anthropic's tool use documentation ("Tool use with Claude").
const char* const kWeatherSchema = R"({
  "type": "object",
  "properties": {
    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"],
             "description": "The unit of temperature, either \"celsius\" or \"fahrenheit\""}
  },
  "required": ["location"]})";

ToolDef weather_tool() { return {"get_weather", "Get the current weather in a given location", kWeatherSchema, {}}; }

ChatRequest tool_request() {
  ChatRequest r = sample_request();
  r.tools = {weather_tool()};
  return r;
}

TEST(AnthropicTranslation, SendsTheDocumentedToolResultConversation) {
  // The second request of the documentation's example, written as an OpenAI client sends it.
  FakeTransport transport;
  transport.script.chunks = {kStream};
  AnthropicProvider provider(options(), transport);
  ChatRequest request;
  request.model = "claude-sonnet-4-5";
  request.max_tokens = 1024;
  request.tools = {weather_tool()};
  request.messages = {
      {"user", "What is the weather like in San Francisco?"},
      {"assistant",
       "I'll check the current weather in San Francisco for you.",
       {},
       {{"toolu_01A09q90qw90lq917835lq9", "get_weather", R"({"location": "San Francisco, CA", "unit": "celsius"})"}}},
      {"tool", "15 degrees", {}, {}, "toolu_01A09q90qw90lq917835lq9"}};
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  json expected = json::parse(R"({
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "tools": [
        {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "input_schema": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA"
                    },
                    "unit": {
                        "type": "string",
                        "enum": ["celsius", "fahrenheit"],
                        "description": "The unit of temperature, either \"celsius\" or \"fahrenheit\""
                    }
                },
                "required": ["location"]
            }
        }
    ],
    "messages": [
        {
            "role": "user",
            "content": "What is the weather like in San Francisco?"
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "text",
                    "text": "I'll check the current weather in San Francisco for you."
                },
                {
                    "type": "tool_use",
                    "id": "toolu_01A09q90qw90lq917835lq9",
                    "name": "get_weather",
                    "input": {
                        "location": "San Francisco, CA",
                        "unit": "celsius"
                    }
                }
            ]
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                    "content": "15 degrees"
                }
            ]
        }
    ]
  })");
  expected["stream"] = true;
  EXPECT_EQ(json::parse(transport.requests.at(0).body), expected);
}

TEST(AnthropicTranslation, ToolsWithoutParametersOrDescriptionAndStrictNotSent) {
  ChatRequest request = sample_request();
  request.tools = {{"get_time", "", "", true}};
  const json body = body_of(request);
  EXPECT_EQ(body["tools"], json::parse(R"([{"name":"get_time","input_schema":{"type":"object","properties":{}}}])"));
  EXPECT_FALSE(body.contains("tool_choice"));
}

TEST(AnthropicTranslation, ToolChoiceAndParallelToolCalls) {
  using Mode = ToolChoice::Mode;
  struct Case {
    Mode mode;
    std::optional<bool> parallel;
    const char* expected;  // "" for no tool_choice
  };
  const std::vector<Case> cases = {
      {Mode::unset, std::nullopt, ""},
      {Mode::unset, true, ""},
      {Mode::unset, false, R"({"type":"auto","disable_parallel_tool_use":true})"},
      {Mode::automatic, std::nullopt, R"({"type":"auto"})"},
      {Mode::automatic, false, R"({"type":"auto","disable_parallel_tool_use":true})"},
      {Mode::none, std::nullopt, R"({"type":"none"})"},
      {Mode::none, false, R"({"type":"none"})"},
      {Mode::required, std::nullopt, R"({"type":"any"})"},
      {Mode::required, false, R"({"type":"any","disable_parallel_tool_use":true})"},
      {Mode::function, std::nullopt, R"({"type":"tool","name":"get_weather"})"},
      {Mode::function, false, R"({"type":"tool","name":"get_weather","disable_parallel_tool_use":true})"},
  };
  for (const auto& c : cases) {
    ChatRequest request = tool_request();
    request.tool_choice = {c.mode, c.mode == Mode::function ? "get_weather" : ""};
    request.parallel_tool_calls = c.parallel;
    const json body = body_of(request);
    SCOPED_TRACE(c.expected);
    ASSERT_EQ(body["tools"].size(), 1u);
    if (*c.expected == '\0') {
      EXPECT_FALSE(body.contains("tool_choice"));
    } else {
      EXPECT_EQ(body["tool_choice"], json::parse(c.expected));
    }
  }
  // Without tools there is nothing to choose from.
  ChatRequest request = sample_request();
  request.tool_choice = {Mode::required, ""};
  request.parallel_tool_calls = false;
  const json body = body_of(request);
  EXPECT_FALSE(body.contains("tools"));
  EXPECT_FALSE(body.contains("tool_choice"));
}

TEST(AnthropicTranslation, RefusesToolParametersThatAreNotAnObject) {
  for (const char* parameters : {"[1,2]", "{\"type\":", "\"object\""}) {
    ChatRequest request = tool_request();
    request.tools.push_back({"broken", "", parameters, {}});
    EXPECT_EQ(refused_param(request), "tools[1].function.parameters") << parameters;
  }
}

TEST(AnthropicTranslation, ImagesAsBase64AndUrlSources) {
  ChatRequest request = sample_request();
  ChatMessage first{"user", "What is in this image?"};
  first.parts = {{"What is in this image?", std::nullopt},
                 {"", Image{"image/png", std::string("\x89PNG\r\n\x1a\n", 8), "", "high"}}};
  ChatMessage second{"user", ""};
  second.parts = {
      {"",
       Image{"", "", "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg", ""}}};
  request.messages = {first, second};
  const json body = body_of(request);
  EXPECT_EQ(body["messages"], json::parse(R"([{"role":"user","content":[
      {"type":"text","text":"What is in this image?"},
      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
      {"type":"image","source":{"type":"url",
       "url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}}]}])"));

  request.messages[0].parts[1].image->media_type = "image/bmp";
  EXPECT_EQ(refused_param(request), "messages[0].content[1].image_url");
  request.messages[0].parts[1].image->media_type = "image/png";
  request.messages[1].parts[0].image->url.clear();
  EXPECT_EQ(refused_param(request), "messages[1].content[0].image_url");
}

TEST(AnthropicTranslation, ToolCallArgumentsAndResults) {
  ChatRequest request = sample_request();
  request.messages = {
      {"user", "Time in Paris and Tokyo?"},
      {"assistant", "", {}, {{"call_1", "get_time", ""}, {"call_2", "get_time", " {\"tz\": \"Asia/Tokyo\"}"}}},
      {"tool", "", {}, {}, "call_1"},
      {"tool", "09:00", {}, {}, "call_2"}};
  const json body = body_of(request);
  EXPECT_EQ(body["messages"], json::parse(R"([
      {"role":"user","content":"Time in Paris and Tokyo?"},
      {"role":"assistant","content":[
        {"type":"tool_use","id":"call_1","name":"get_time","input":{}},
        {"type":"tool_use","id":"call_2","name":"get_time","input":{"tz":"Asia/Tokyo"}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"call_1"},
        {"type":"tool_result","tool_use_id":"call_2","content":"09:00"}]}])"));

  for (const char* arguments : {"[]", "\"Paris\"", "{\"tz\":", "null"}) {
    request.messages[1].tool_calls[1].arguments = arguments;
    EXPECT_EQ(refused_param(request), "messages[1].tool_calls[1].function.arguments") << arguments;
  }
}

TEST(AnthropicTranslation, JsonObjectBecomesAForcedTool) {
  ChatRequest request = sample_request();
  request.response_format.kind = ResponseFormat::Kind::json_object;
  auto translated = anthropic_request_body(request, 4096);
  ASSERT_TRUE(translated);
  EXPECT_EQ(translated.value().answer, AnthropicAnswer::json_text);
  const json body = json::parse(translated.value().body);
  EXPECT_EQ(body["tools"], json::parse(R"([{"name":"json_answer","input_schema":{"type":"object"}}])"));
  EXPECT_EQ(body["tool_choice"],
            json::parse(R"({"type":"tool","name":"json_answer","disable_parallel_tool_use":true})"));
}

TEST(AnthropicTranslation, JsonSchemaBecomesAForcedTool) {
  ChatRequest request = sample_request();
  request.response_format = {ResponseFormat::Kind::json_schema, "weather_report", "A weather report",
                             R"({"type":"object","properties":{"temperature":{"type":"number"}}})", true};
  auto translated = anthropic_request_body(request, 4096);
  ASSERT_TRUE(translated);
  EXPECT_EQ(translated.value().answer, AnthropicAnswer::json_text);
  const json body = json::parse(translated.value().body);
  EXPECT_EQ(body["tools"], json::parse(R"([{"name":"weather_report","description":"A weather report",
      "input_schema":{"type":"object","properties":{"temperature":{"type":"number"}}}}])"));
  EXPECT_EQ(body["tool_choice"],
            json::parse(R"({"type":"tool","name":"weather_report","disable_parallel_tool_use":true})"));

  request.response_format.schema = "[]";
  EXPECT_EQ(refused_param(request), "response_format.json_schema.schema");
  request.response_format.schema = "";
  EXPECT_EQ(body_of(request)["tools"][0]["input_schema"], json::parse(R"({"type":"object"})"));

  // Text answers need nothing.
  for (auto kind : {ResponseFormat::Kind::text, ResponseFormat::Kind::unset}) {
    request.response_format = {kind, "", "", "", {}};
    auto plain = anthropic_request_body(request, 4096);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain.value().answer, AnthropicAnswer::tool_calls);
    EXPECT_FALSE(json::parse(plain.value().body).contains("tools"));
  }
}

TEST(AnthropicTranslation, RefusesAJsonAnswerWithTools) {
  ChatRequest request = tool_request();
  request.response_format.kind = ResponseFormat::Kind::json_object;
  EXPECT_EQ(refused_param(request), "response_format");
  request.response_format = {ResponseFormat::Kind::json_schema, "x", "", "{}", {}};
  EXPECT_EQ(refused_param(request), "response_format");
}

TEST(AnthropicTranslation, RefusesWhatAnthropicHasNoEquivalentOf) {
  ChatRequest request = sample_request();
  request.seed = 42;
  EXPECT_EQ(refused_param(request), "seed");

  request = sample_request();
  request.presence_penalty = 0.5;
  EXPECT_EQ(refused_param(request), "presence_penalty");

  request = sample_request();
  request.frequency_penalty = -1;
  EXPECT_EQ(refused_param(request), "frequency_penalty");

  request = sample_request();
  request.logit_bias = R"({"50256": -100})";
  EXPECT_EQ(refused_param(request), "logit_bias");

  // OpenAI's defaults ask for nothing Anthropic lacks.
  request = sample_request();
  request.presence_penalty = 0;
  request.frequency_penalty = 0;
  request.logit_bias = "{}";
  const json body = body_of(request);
  EXPECT_FALSE(body.contains("presence_penalty"));
  EXPECT_FALSE(body.contains("frequency_penalty"));
  EXPECT_FALSE(body.contains("logit_bias"));
}

TEST(AnthropicTranslation, UserBecomesMetadata) {
  ChatRequest request = sample_request();
  EXPECT_FALSE(body_of(request).contains("metadata"));
  request.user = "13803d75-b4b5-4c3e-b2a2-6f21399b021b";
  EXPECT_EQ(body_of(request)["metadata"], json::parse(R"({"user_id":"13803d75-b4b5-4c3e-b2a2-6f21399b021b"})"));
}

TEST(AnthropicTranslation, ReasoningEffortBecomesExtendedThinking) {
  for (const auto& [effort, budget] :
       std::vector<std::pair<std::string, int>>{{"minimal", 1024}, {"low", 1024}, {"medium", 4096}, {"high", 16384}}) {
    ChatRequest request = sample_request();
    request.reasoning_effort = effort;
    request.max_tokens = 100000;
    const json body = body_of(request);
    EXPECT_EQ(body["thinking"], json({{"type", "enabled"}, {"budget_tokens", budget}})) << effort;
    EXPECT_EQ(body["max_tokens"], 100000) << effort;  // already above the budget
  }
  // max_tokens must exceed the budget: the answer keeps what was asked for on top of it.
  ChatRequest request = sample_request();
  request.reasoning_effort = "high";
  EXPECT_EQ(body_of(request)["max_tokens"], 16384 + 4096);
  request.max_tokens = 16384;
  EXPECT_EQ(body_of(request)["max_tokens"], 16384 + 16384);
  request.max_tokens = 16385;
  EXPECT_EQ(body_of(request)["max_tokens"], 16385);

  // Thinking allows temperature 1 and top_p from 0.95, and any tool choice that is not forced.
  request = tool_request();
  request.reasoning_effort = "low";
  request.temperature = 1;
  request.top_p = 0.95;
  request.tool_choice = {ToolChoice::Mode::automatic, ""};
  EXPECT_TRUE(body_of(request).contains("thinking"));

  request = sample_request();
  request.reasoning_effort = "none";
  EXPECT_FALSE(body_of(request).contains("thinking"));
  EXPECT_EQ(body_of(request)["max_tokens"], 4096);
}

TEST(AnthropicTranslation, RefusesReasoningEffortAnthropicCannotHonour) {
  ChatRequest request = sample_request();
  request.reasoning_effort = "extreme";
  EXPECT_EQ(refused_param(request), "reasoning_effort");

  for (auto mode : {ToolChoice::Mode::required, ToolChoice::Mode::function}) {
    request = tool_request();
    request.reasoning_effort = "medium";
    request.tool_choice = {mode, "get_weather"};
    EXPECT_EQ(refused_param(request), "reasoning_effort");
  }
  request = sample_request();
  request.reasoning_effort = "medium";
  request.response_format.kind = ResponseFormat::Kind::json_object;
  EXPECT_EQ(refused_param(request), "reasoning_effort");

  request = sample_request();
  request.reasoning_effort = "medium";
  request.temperature = 0.2;
  EXPECT_EQ(refused_param(request), "temperature");

  request = sample_request();
  request.reasoning_effort = "medium";
  request.top_p = 0.9;
  EXPECT_EQ(refused_param(request), "top_p");
}

TEST(AnthropicTranslation, NoThinkingWhileAnsweringToolResults) {
  // Anthropic wants the thinking block of the assistant's tool calls back, which OpenAI's
  // messages do not carry: that one answer goes without thinking.
  ChatRequest request = tool_request();
  request.reasoning_effort = "high";
  request.messages = {{"user", "Weather in Paris?"},
                      {"assistant", "", {}, {{"toolu_1", "get_weather", R"({"location":"Paris"})"}}},
                      {"tool", "12 degrees", {}, {}, "toolu_1"}};
  json body = body_of(request);
  EXPECT_FALSE(body.contains("thinking"));
  EXPECT_EQ(body["max_tokens"], 4096);
  // Once the assistant answered in text, the next question thinks again.
  request.messages.push_back({"assistant", "It is 12 degrees in Paris."});
  request.messages.push_back({"user", "And tomorrow?"});
  body = body_of(request);
  EXPECT_EQ(body["thinking"]["budget_tokens"], 16384);
}

// The documentation's "Streaming request with tool use" response (Messages streaming page).
const std::string kToolStream = R"(event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-opus-4-6","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":","}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" let"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"'s"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" check"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" weather"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" for"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" San"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" Francisco"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":","}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" CA"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":":"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" Francisc"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"o,"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" CA\""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":","}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"unit\": \"fah"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"renheit\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

)";

void expect_documented_tool_call(const fake::CallResult& r) {
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.joined(), "Okay, let's check the weather for San Francisco, CA:");
  ASSERT_EQ(r.tool_calls.size(), 9u);  // the start, then the 8 non-empty pieces of input
  EXPECT_EQ(r.tool_calls[0].index, 0u);
  EXPECT_EQ(r.tool_calls[0].id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  EXPECT_EQ(r.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.tool_calls[0].arguments, "");
  EXPECT_EQ(r.tool_calls[1].arguments, "{\"location\":");
  for (std::size_t i = 1; i < r.tool_calls.size(); ++i) {
    EXPECT_EQ(r.tool_calls[i].index, 0u);
    EXPECT_EQ(r.tool_calls[i].id, "");
    EXPECT_FALSE(r.tool_calls[i].arguments.empty());
  }
  ASSERT_EQ(r.outcome.tool_calls.size(), 1u);
  EXPECT_EQ(r.outcome.tool_calls[0].id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  EXPECT_EQ(r.outcome.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.outcome.tool_calls[0].arguments, R"({"location": "San Francisco, CA", "unit": "fahrenheit"})");
  EXPECT_EQ(r.outcome.finish_reason, "tool_calls");
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 472);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 89);
  EXPECT_FALSE(r.outcome.usage.cached_tokens);
}

TEST(AnthropicAnswers, StreamsTheDocumentedToolUse) {
  FakeTransport transport;
  transport.script.chunks = {kToolStream};
  AnthropicProvider provider(options(), transport);
  expect_documented_tool_call(call(provider, tool_request()));
}

TEST(AnthropicAnswers, StreamsTheDocumentedToolUseAcrossEverySplitPoint) {
  fake::for_every_split(
      kToolStream, tool_request(), [](FakeTransport& t) { return std::make_unique<AnthropicProvider>(options(), t); },
      expect_documented_tool_call);
}

TEST(AnthropicAnswers, StreamsParallelToolCallsWithTheirOwnIndices) {
  // Text at block 0, tools at blocks 1 and 2 become calls 0 and 1; a tool without input gets "{}".
  FakeTransport transport;
  transport.script.chunks = {
      event(
          "message_start",
          R"({"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":90,"output_tokens":1}}})") +
      event("content_block_start",
            R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
      event("content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Both:"}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"Paris\"}"}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":1})") +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"get_time","input":{}}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":2})") +
      event("message_delta",
            R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}})") +
      event("message_stop", R"({"type":"message_stop"})")};
  AnthropicProvider provider(options(), transport);
  auto r = call(provider, tool_request());
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.joined(), "Both:");
  ASSERT_EQ(r.tool_calls.size(), 4u);
  EXPECT_EQ(r.tool_calls[0].index, 0u);
  EXPECT_EQ(r.tool_calls[1].index, 0u);
  EXPECT_EQ(r.tool_calls[2].index, 1u);
  EXPECT_EQ(r.tool_calls[2].id, "toolu_b");
  EXPECT_EQ(r.tool_calls[3].index, 1u);
  EXPECT_EQ(r.tool_calls[3].arguments, "{}");
  ASSERT_EQ(r.outcome.tool_calls.size(), 2u);
  EXPECT_EQ(r.outcome.tool_calls[0].id, "toolu_a");
  EXPECT_EQ(r.outcome.tool_calls[0].arguments, R"({"location": "Paris"})");
  EXPECT_EQ(r.outcome.tool_calls[1].id, "toolu_b");
  EXPECT_EQ(r.outcome.tool_calls[1].name, "get_time");
  EXPECT_EQ(r.outcome.tool_calls[1].arguments, "{}");
  EXPECT_EQ(r.outcome.finish_reason, "tool_calls");
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 100);
  EXPECT_EQ(r.outcome.usage.cached_tokens, 90);
}

TEST(AnthropicAnswers, StreamSkipsTheDocumentedThinking) {
  // The documentation's "Streaming request with extended thinking" response.
  const std::string stream = R"(event: message_start
data: {"type": "message_start", "message": {"id": "msg_01...", "type": "message", "role": "assistant", "content": [], "model": "claude-opus-4-6", "stop_reason": null, "stop_sequence": null}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "\n462 = 3 × 147 + 21"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "\n147 = 7 × 21 + 0"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "\nThe remainder is 0, so GCD(1071, 462) = 21."}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: content_block_start
data: {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "The greatest common divisor of 1071 and 462 is **21**."}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 1}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}}

event: message_stop
data: {"type": "message_stop"}

)";
  FakeTransport transport;
  transport.script.chunks = {stream};
  AnthropicProvider provider(options(), transport);
  ChatRequest request = sample_request();
  request.reasoning_effort = "high";
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, std::vector<std::string>{"The greatest common divisor of 1071 and 462 is **21**."});
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.outcome.finish_reason, "stop");
  EXPECT_FALSE(r.outcome.usage_reported);  // this example reports no usage
}

TEST(AnthropicAnswers, MalformedToolBlocksFailTheStream) {
  const std::string start_text = event(
      "content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  const std::string start_tool = event(
      "content_block_start",
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"f","input":{}}})");
  const std::string json_delta_text =
      event("content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}})");
  const std::string end = event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"}})") +
                          event("message_stop", R"({"type":"message_stop"})");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {event("content_block_start",
             R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","name":"f","input":{}}})"),
       "tool_use block without id or name"},
      {event(
           "content_block_start",
           R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"","input":{}}})"),
       "tool_use block without id or name"},
      {start_text + json_delta_text, "input_json_delta outside a tool_use block"},
      {json_delta_text, "input_json_delta outside a tool_use block"},  // no block 0 started
      {start_tool + event("content_block_delta",
                          R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta"}})"),
       "input_json_delta outside a tool_use block"},
      {start_tool + start_tool, "content block 1 started twice"},
      {event("content_block_start", R"({"type":"content_block_start","content_block":{"type":"text","text":""}})"),
       "malformed content_block_start"},
  };
  for (const auto& [body, failure] : cases) {
    FakeTransport transport;
    transport.script.chunks = {body + end};
    AnthropicProvider provider(options(), transport);
    auto r = call(provider, tool_request());
    EXPECT_EQ(r.outcome.status, Status::error) << body;
    EXPECT_NE(r.outcome.internal.find(failure), std::string::npos) << r.outcome.internal;
  }
}

TEST(AnthropicAnswers, StreamsAJsonAnswerAsText) {
  // What a forced tool streams (as recorded by the AI SDK's Anthropic tests), text first.
  const std::string stream =
      event(
          "message_start",
          R"({"type":"message_start","message":{"model":"claude-haiku-4-5-20251001","id":"msg_01K2JbSUMYhez5RHoK9ZCj9U","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":849,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}})") +
      event("content_block_start",
            R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
      event("content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Here it is:"}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01KFbKqPYSuAKujiL6mTfzYA","name":"weather_report","input":{}}})") +
      event("content_block_delta",
            R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})") +
      event("ping", R"({"type":"ping"})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"elements\": [{\"location\": \"San Francisco\", \"temperature\": 58, \"condition\": \"sunny\"}]"}})") +
      event("content_block_delta",
            R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"}"}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":1})") +
      event(
          "message_delta",
          R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":849,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":47}})") +
      event("message_stop", R"({"type":"message_stop"})");
  ChatRequest request = sample_request();
  request.response_format = {ResponseFormat::Kind::json_schema, "weather_report", "", "", {}};
  fake::for_every_split(
      stream, request, [](FakeTransport& t) { return std::make_unique<AnthropicProvider>(options(), t); },
      [](const fake::CallResult& r) {
        ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
        EXPECT_EQ(
            r.deltas,
            (std::vector<std::string>{
                R"({"elements": [{"location": "San Francisco", "temperature": 58, "condition": "sunny"}])", "}"}));
        EXPECT_TRUE(r.tool_calls.empty());
        EXPECT_TRUE(r.outcome.tool_calls.empty());
        EXPECT_EQ(r.outcome.finish_reason, "stop");
        EXPECT_EQ(r.outcome.usage.prompt_tokens, 849);
        EXPECT_EQ(r.outcome.usage.completion_tokens, 47);
        EXPECT_EQ(r.outcome.usage.cached_tokens, 0);
      });

  // An empty input is "{}"; a second tool_use is not part of the answer.
  FakeTransport transport;
  transport.script.chunks = {
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"json_answer","input":{}}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      event(
          "content_block_start",
          R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_2","name":"json_answer","input":{}}})") +
      event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}})") +
      event("content_block_stop", R"({"type":"content_block_stop","index":1})") +
      event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"max_tokens"}})") +
      event("message_stop", R"({"type":"message_stop"})")};
  AnthropicProvider provider(options(), transport);
  request.response_format = {ResponseFormat::Kind::json_object, "", "", "", {}};
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.outcome.text, "{}");
  EXPECT_TRUE(r.outcome.tool_calls.empty());
  EXPECT_EQ(r.outcome.finish_reason, "length");
}

// The documentation's tool use response ("Tool use with Claude").
const char* const kToolUseAnswer = R"({
  "id": "msg_01Aq9w938a90dw8q",
  "model": "claude-sonnet-4-5",
  "stop_reason": "tool_use",
  "role": "assistant",
  "content": [
    {
      "type": "text",
      "text": "I'll check the current weather in San Francisco for you."
    },
    {
      "type": "tool_use",
      "id": "toolu_01A09q90qw90lq917835lq9",
      "name": "get_weather",
      "input": {"location": "San Francisco, CA", "unit": "celsius"}
    }
  ]
})";

TEST(AnthropicAnswers, ParsesTheDocumentedToolUse) {
  auto parsed = anthropic_parse_whole(kToolUseAnswer);
  ASSERT_TRUE(parsed) << parsed.error().internal;
  EXPECT_EQ(parsed.value().text, "I'll check the current weather in San Francisco for you.");
  ASSERT_EQ(parsed.value().tool_calls.size(), 1u);
  EXPECT_EQ(parsed.value().tool_calls[0].id, "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(parsed.value().tool_calls[0].name, "get_weather");
  EXPECT_EQ(parsed.value().tool_calls[0].arguments, R"({"location":"San Francisco, CA","unit":"celsius"})");
  EXPECT_EQ(parsed.value().finish_reason, "tool_calls");
  EXPECT_FALSE(parsed.value().prompt_tokens);  // the example has no usage
}

TEST(AnthropicAnswers, NonStreamingDocumentedToolUse) {
  FakeTransport transport;
  transport.script.chunks = {kToolUseAnswer};
  AnthropicProvider provider(options(), transport);
  ChatRequest request = tool_request();
  request.stream = false;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, std::vector<std::string>{"I'll check the current weather in San Francisco for you."});
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].index, 0u);
  EXPECT_EQ(r.tool_calls[0].id, "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(r.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.tool_calls[0].arguments, R"({"location":"San Francisco, CA","unit":"celsius"})");
  ASSERT_EQ(r.outcome.tool_calls.size(), 1u);
  EXPECT_EQ(r.outcome.tool_calls[0].arguments, R"({"location":"San Francisco, CA","unit":"celsius"})");
  EXPECT_EQ(r.outcome.finish_reason, "tool_calls");
  EXPECT_FALSE(r.outcome.usage_reported);  // the example has no usage
}

TEST(AnthropicAnswers, WholeAnswers) {
  // Tool calls in order, thinking skipped, a tool without input gets "{}", cache reads reported.
  auto parsed = anthropic_parse_whole(R"({"content":[
      {"type":"thinking","thinking":"Two lookups.","signature":"EqQB"},
      {"type":"redacted_thinking","data":"EmwKAhgB"},
      {"type":"text","text":"Looking up."},
      {"type":"tool_use","id":"toolu_a","name":"get_weather","input":{"location":"Paris"}},
      {"type":"tool_use","id":"toolu_b","name":"get_time"}],
      "stop_reason":"tool_use","usage":{"input_tokens":5,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":20}})");
  ASSERT_TRUE(parsed) << parsed.error().internal;
  const WholeAnswer& answer = parsed.value();
  EXPECT_EQ(answer.text, "Looking up.");
  ASSERT_EQ(answer.tool_calls.size(), 2u);
  EXPECT_EQ(answer.tool_calls[0].id, "toolu_a");
  EXPECT_EQ(answer.tool_calls[0].arguments, R"({"location":"Paris"})");
  EXPECT_EQ(answer.tool_calls[1].name, "get_time");
  EXPECT_EQ(answer.tool_calls[1].arguments, "{}");
  EXPECT_EQ(answer.finish_reason, "tool_calls");
  EXPECT_EQ(answer.prompt_tokens, 115);
  EXPECT_EQ(answer.cached_tokens, 100);
  EXPECT_EQ(answer.completion_tokens, 20);

  // The same answer to a JSON request: the first tool input is the text.
  parsed = anthropic_parse_whole(R"({"content":[{"type":"text","text":"Here:"},
      {"type":"tool_use","id":"toolu_a","name":"json_answer","input":{"ok": true}},
      {"type":"tool_use","id":"toolu_b","name":"json_answer","input":{"ok": false}}],"stop_reason":"tool_use"})",
                                 AnthropicAnswer::json_text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.value().text, R"({"ok":true})");
  EXPECT_TRUE(parsed.value().tool_calls.empty());
  EXPECT_EQ(parsed.value().finish_reason, "stop");

  for (const char* body : {
           R"({"content":[{"type":"tool_use","name":"f","input":{}}]})",
           R"({"content":[{"type":"tool_use","id":"toolu_a","input":{}}]})",
           R"({"content":[{"type":"tool_use","id":"toolu_a","name":"f","input":[1]}]})",
           R"({"content":[{"type":"tool_use","id":7,"name":"f","input":{}}]})",
       }) {
    auto bad = anthropic_parse_whole(body);
    ASSERT_FALSE(bad) << body;
    EXPECT_EQ(bad.error().code, Code::upstream);
  }
}

TEST(AnthropicAnswers, NonStreamingJsonAnswer) {
  FakeTransport transport;
  transport.script.chunks = {
      R"({"content":[{"type":"tool_use","id":"toolu_1","name":"weather_report","input":{"temperature":15}}],"stop_reason":"tool_use","usage":{"input_tokens":30,"cache_read_input_tokens":20,"output_tokens":12}})"};
  AnthropicProvider provider(options(), transport);
  ChatRequest request = sample_request();
  request.stream = false;
  request.response_format = {ResponseFormat::Kind::json_schema, "weather_report", "", "", {}};
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, std::vector<std::string>{R"({"temperature":15})"});
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.outcome.finish_reason, "stop");
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 50);
  EXPECT_EQ(r.outcome.usage.cached_tokens, 20);
}

}  // namespace
}  // namespace chatd::llm
