#include "llm/openai.hpp"

#include "fake_transport.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatd::llm {
namespace {

using fake::call;
using fake::FakeTransport;
using nlohmann::json;
using Status = Outcome::Status;

ChatRequest sample_request() {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.messages.push_back({"system", "Be brief."});
  r.messages.push_back({"user", "Say hello"});
  return r;
}

OpenAiOptions options(std::string key = "sk-test-secret") {
  OpenAiOptions o;
  o.base_url = "https://api.example.com/v1/";
  o.api_key = std::move(key);
  return o;
}

std::string data(const std::string& json_text) { return "data: " + json_text + "\n\n"; }

// A typical stream with include_usage: role chunk, two text chunks, finish, usage, [DONE].
const std::string kStream =
    data(
        R"({"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null})") +
    data(R"({"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null})") +
    ": keep-alive comment\n\n" +
    data(R"({"id":"c1","choices":[{"index":0,"delta":{"content":"lo, w\u00f6rld"},"finish_reason":null}]})") +
    data(R"({"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})") +
    data(R"({"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})") +
    "data: [DONE]\n\n";

void expect_stream_result(const fake::CallResult& r) {
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, (std::vector<std::string>{"Hel", "lo, w\xC3\xB6rld"}));
  EXPECT_EQ(r.outcome.text, "Hello, w\xC3\xB6rld");
  EXPECT_EQ(r.outcome.finish_reason, "stop");
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 12);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 3);
  EXPECT_EQ(r.outcome.upstream_status, 200);
}

TEST(OpenAiProvider, SendsTheDocumentedStreamingRequest) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  OpenAiOptions o = options();
  o.timeouts.total_ms = 777;
  OpenAiProvider provider(o, transport);
  ChatRequest request = sample_request();
  request.max_tokens = 100;
  request.temperature = 0.5;
  request.top_p = 0.25;
  request.stop = {"END", "\n\n"};
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  ASSERT_EQ(transport.requests.size(), 1u);
  const UpstreamRequest& sent = transport.requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "https://api.example.com/v1/chat/completions");
  EXPECT_EQ(transport.sent_header("authorization"), "Bearer sk-test-secret");
  EXPECT_EQ(transport.sent_header("content-type"), "application/json");
  EXPECT_EQ(transport.last_timeouts.total_ms, 777);
  const json expected = json::parse(R"({
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}],
    "stream": true, "stream_options": {"include_usage": true},
    "max_tokens": 100, "temperature": 0.5, "top_p": 0.25, "stop": ["END", "\n\n"]})");
  EXPECT_EQ(json::parse(sent.body), expected);
}

TEST(OpenAiProvider, OmitsUnsetFieldsAndAuthForLocalServers) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  OpenAiProvider provider(options(""), transport);
  auto r = call(provider, sample_request());
  ASSERT_EQ(r.outcome.status, Status::complete);
  EXPECT_FALSE(transport.sent_header("authorization"));
  EXPECT_FALSE(transport.sent_header("api-key"));
  const json body = json::parse(transport.requests[0].body);
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("top_p"));
  EXPECT_FALSE(body.contains("stop"));
}

TEST(OpenAiProvider, AzureStyleAuthAndQuery) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  OpenAiOptions o = options("azure-key");
  o.base_url = "https://res.openai.azure.com/openai/deployments/gpt4";
  o.auth = OpenAiOptions::Auth::api_key;
  o.query = "api-version=2024-10-21";
  OpenAiProvider provider(o, transport);
  auto r = call(provider, sample_request());
  ASSERT_EQ(r.outcome.status, Status::complete);
  EXPECT_EQ(transport.requests[0].url,
            "https://res.openai.azure.com/openai/deployments/gpt4/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(transport.sent_header("api-key"), "azure-key");
  EXPECT_FALSE(transport.sent_header("authorization"));
}

TEST(OpenAiProvider, StreamsDeltasAcrossEverySplitPointAndFromOneByteChunks) {
  fake::for_every_split(
      kStream, sample_request(), [](FakeTransport& t) { return std::make_unique<OpenAiProvider>(options(), t); },
      expect_stream_result);
}

TEST(OpenAiProvider, EstimatesUsageWhenTheServerSendsNone) {
  FakeTransport transport;
  transport.script.chunks = {data(R"({"choices":[{"delta":{"content":"abcdefghi"},"finish_reason":"length"}]})") +
                             "data: [DONE]\n\n"};
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  ASSERT_EQ(r.outcome.status, Status::complete);
  EXPECT_EQ(r.outcome.finish_reason, "length");
  EXPECT_FALSE(r.outcome.usage_reported);
  // "Be brief." (9) + "Say hello" (9) = 18 chars -> 5, plus 4 per message.
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 5 + 8);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 3);
}

// Counts no model can produce (negative, past INT64_MAX, or near it so that a sum would
// overflow) are not believed: the usage is estimated as when the server sends none.
TEST(OpenAiProvider, DisbelievesImpossibleTokenCounts) {
  for (const std::string usage : {R"({"prompt_tokens":18446744073709551615,"completion_tokens":9223372036854775807})",
                                  R"({"prompt_tokens":-9223372036854775808,"completion_tokens":-1})",
                                  R"({"prompt_tokens":1000000001,"completion_tokens":1000000001})"}) {
    SCOPED_TRACE(usage);
    FakeTransport transport;
    transport.script.chunks = {data(R"({"choices":[{"delta":{"content":"abcdefghi"},"finish_reason":"stop"}]})") +
                               data(R"({"choices":[],"usage":)" + usage + "}") + "data: [DONE]\n\n"};
    OpenAiProvider provider(options(), transport);
    auto r = call(provider, sample_request());
    ASSERT_EQ(r.outcome.status, Status::complete);
    EXPECT_FALSE(r.outcome.usage_reported);
    EXPECT_EQ(r.outcome.usage.prompt_tokens, 5 + 8);
    EXPECT_EQ(r.outcome.usage.completion_tokens, 3);
  }
  // The largest count believed.
  FakeTransport transport;
  transport.script.chunks = {data(R"({"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}]})") +
                             data(R"({"choices":[],"usage":{"prompt_tokens":1000000000,"completion_tokens":0}})") +
                             "data: [DONE]\n\n"};
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 1'000'000'000);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 0);
}

TEST(OpenAiProvider, NonStreamingDeliversOneDelta) {
  FakeTransport transport;
  transport.script.chunks = fake::split_every(
      R"({"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})",
      7);
  OpenAiProvider provider(options(), transport);
  ChatRequest request = sample_request();
  request.stream = false;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.deltas, std::vector<std::string>{"Hi there"});
  EXPECT_EQ(r.outcome.text, "Hi there");
  EXPECT_EQ(r.outcome.finish_reason, "stop");
  EXPECT_TRUE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 9);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 2);
  const json body = json::parse(transport.requests[0].body);
  EXPECT_EQ(body["stream"], false);
  EXPECT_FALSE(body.contains("stream_options"));
}

TEST(OpenAiProvider, RateLimitIsRetryableWithRetryAfter) {
  FakeTransport transport;
  transport.script.status = 429;
  transport.script.headers = {{"Retry-After", "7"}};
  transport.script.chunks = {R"({"error":{"message":"Rate limit reached for key sk-test-secret","type":"requests"}})"};
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.retry_after_ms, 7000);
  EXPECT_EQ(r.outcome.upstream_status, 429);
  EXPECT_EQ(r.outcome.detail, "the provider answered 429");
  EXPECT_NE(r.outcome.internal.find("Rate limit reached"), std::string::npos) << r.outcome.internal;
  EXPECT_EQ(r.outcome.internal.find("sk-test-secret"), std::string::npos) << r.outcome.internal;
  EXPECT_TRUE(r.deltas.empty());
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 0);
}

TEST(OpenAiProvider, UnparsableRetryAfterIsIgnored) {
  FakeTransport transport;
  transport.script.status = 429;
  transport.script.headers = {{"retry-after", "soon"}};
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_TRUE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.retry_after_ms, 0);
}

TEST(OpenAiProvider, ServerErrorIsRetryableClientErrorIsNot) {
  for (int status : {500, 503, 408}) {
    FakeTransport transport;
    transport.script.status = status;
    transport.script.chunks = {"<html>bad gateway</html>"};
    OpenAiProvider provider(options(), transport);
    auto r = call(provider, sample_request());
    EXPECT_EQ(r.outcome.status, Status::error);
    EXPECT_TRUE(r.outcome.retryable) << status;
    EXPECT_NE(r.outcome.internal.find("bad gateway"), std::string::npos);
  }
  for (int status : {400, 401, 404}) {
    FakeTransport transport;
    transport.script.status = status;
    transport.script.chunks = {R"({"error":{"message":"Invalid model","type":"invalid_request_error"}})"};
    OpenAiProvider provider(options(), transport);
    auto r = call(provider, sample_request());
    EXPECT_EQ(r.outcome.status, Status::error);
    EXPECT_FALSE(r.outcome.retryable) << status;
    EXPECT_EQ(r.outcome.upstream_status, status);
    EXPECT_EQ(r.outcome.internal, "HTTP " + std::to_string(status) + " invalid_request_error: Invalid model");
  }
}

TEST(OpenAiProvider, SendFailureIsRetryable) {
  FakeTransport transport;
  transport.script.send_error = Code::upstream;
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_TRUE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.upstream_status, 0);
  EXPECT_NE(r.outcome.internal.find("scripted send failure"), std::string::npos);
}

TEST(OpenAiProvider, SendTimeoutIsATimeout) {
  FakeTransport transport;
  transport.script.send_error = Code::timeout;
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::timeout);
  EXPECT_TRUE(r.outcome.retryable);
}

TEST(OpenAiProvider, TimeoutMidStreamKeepsThePartialText) {
  FakeTransport transport;
  transport.script.chunks = {data(R"({"choices":[{"delta":{"content":"part"}}]})")};
  transport.script.read_error = Code::timeout;
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::timeout);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.text, "part");
}

TEST(OpenAiProvider, ConnectionLostMidStreamKeepsThePartialText) {
  FakeTransport transport;
  transport.script.chunks = {data(R"({"choices":[{"delta":{"content":"part"}}]})")};
  transport.script.read_error = Code::upstream;
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.text, "part");
  EXPECT_EQ(r.outcome.upstream_status, 200);
  EXPECT_FALSE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 1);
}

TEST(OpenAiProvider, StreamWithoutDoneIsTruncated) {
  FakeTransport transport;
  transport.script.chunks = {data(R"({"choices":[{"delta":{"content":"part"},"finish_reason":"stop"}]})")};
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.text, "part");
  EXPECT_EQ(r.outcome.detail, "the provider's answer ended early");
}

TEST(OpenAiProvider, ErrorObjectInTheStreamFails) {
  FakeTransport transport;
  transport.script.chunks = {data(R"({"choices":[{"delta":{"content":"a"}}]})") +
                             data(R"({"error":{"message":"The server had an error","type":"server_error"}})")};
  OpenAiProvider provider(options(), transport);
  Cancellation cancel;
  auto r = call(provider, sample_request(), cancel);
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(r.outcome.text, "a");
  EXPECT_NE(r.outcome.internal.find("The server had an error"), std::string::npos);
  EXPECT_FALSE(cancel.cancelled());  // a failure leaves the caller's cancellation alone (for a retry)
}

TEST(OpenAiProvider, CancellationFromOutsideStopsTheStream) {
  FakeTransport transport;
  transport.script.chunks = fake::split_every(kStream, 1);
  OpenAiProvider provider(options(), transport);
  Cancellation cancel;
  std::vector<std::string> deltas;
  DeltaFn on_delta = [&](const llm::Delta& delta) -> boost::asio::awaitable<bool> {
    const std::string_view text = delta.text;
    if (text.empty()) co_return true;  // a flush
    deltas.emplace_back(text);
    cancel.cancel();  // the client went away while this delta was being written
    co_return true;
  };
  Outcome outcome = fake::run(fake::outcome_of(provider, sample_request(), on_delta, cancel));
  EXPECT_EQ(outcome.status, Status::cancelled);
  EXPECT_EQ(outcome.text, "Hel");
  EXPECT_EQ(deltas.size(), 1u);
}

TEST(OpenAiProvider, MalformedChunkFails) {
  FakeTransport transport;
  transport.script.chunks = {"data: {not json\n\n"};
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  EXPECT_EQ(r.outcome.status, Status::error);
  EXPECT_FALSE(r.outcome.retryable);
}

TEST(OpenAiProvider, DeltaCallbackRefusingCancels) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  OpenAiProvider provider(options(), transport);
  Cancellation cancel;
  auto r = call(provider, sample_request(), cancel, 1);
  EXPECT_EQ(r.outcome.status, Status::cancelled);
  EXPECT_TRUE(cancel.cancelled());
  EXPECT_EQ(r.outcome.text, "Hel");
  EXPECT_EQ(r.deltas.size(), 1u);
}

TEST(OpenAiProvider, AlreadyCancelledSendsNothing) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  OpenAiProvider provider(options(), transport);
  Cancellation cancel;
  cancel.cancel();
  auto r = call(provider, sample_request(), cancel);
  EXPECT_EQ(r.outcome.status, Status::cancelled);
  EXPECT_TRUE(transport.requests.empty());
}

TEST(OpenAiProvider, ListsModels) {
  FakeTransport transport;
  transport.script.chunks = fake::split_every(
      R"({"object":"list","data":[{"id":"gpt-4o","object":"model"},{"id":"gpt-4o-mini","object":"model"},{"object":"model"}]})",
      5);
  OpenAiOptions o = options();
  o.query = "api-version=1";
  OpenAiProvider provider(o, transport);
  std::string error = "stale";
  auto ids = fake::run(provider.list_models(error));
  EXPECT_EQ(error, "");
  EXPECT_EQ(ids, (std::vector<std::string>{"gpt-4o", "gpt-4o-mini"}));
  EXPECT_EQ(transport.requests[0].method, "GET");
  EXPECT_EQ(transport.requests[0].url, "https://api.example.com/v1/models?api-version=1");
  EXPECT_EQ(transport.sent_header("authorization"), "Bearer sk-test-secret");
}

TEST(OpenAiProvider, ListModelsReportsErrorsWithoutTheKey) {
  FakeTransport transport;
  transport.script.status = 401;
  transport.script.chunks = {R"({"error":{"message":"Incorrect API key provided: sk-test-secret"}})"};
  OpenAiProvider provider(options(), transport);
  std::string error;
  auto ids = fake::run(provider.list_models(error));
  EXPECT_TRUE(ids.empty());
  EXPECT_NE(error.find("401"), std::string::npos) << error;
  EXPECT_EQ(error.find("sk-test-secret"), std::string::npos) << error;

  transport.script.status = 200;
  transport.script.chunks = {"[]"};
  ids = fake::run(provider.list_models(error));
  EXPECT_TRUE(ids.empty());
  EXPECT_FALSE(error.empty());
}

// ---- tools, images and the other OpenAI request features

// OpenAI's documented stream of one function call (function-calling guide, streaming):
// id, type and name first with empty arguments, then argument pieces with null id and name.
const std::string kToolStream =
    data(
        R"({"id":"c3","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})") +
    data(
        R"({"id":"c3","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":null,"type":null,"function":{"name":null,"arguments":"{\""}}]},"finish_reason":null}]})") +
    data(
        R"({"id":"c3","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]},"finish_reason":null}]})") +
    data(
        R"({"id":"c3","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\":\""}}]},"finish_reason":null}]})") +
    data(
        R"({"id":"c3","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"Paris"}}]},"finish_reason":null}]})") +
    data(
        R"({"id":"c3","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":", France\"}"}}]},"finish_reason":null}]})") +
    data(R"({"id":"c3","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})") +
    data(
        R"({"id":"c3","choices":[],"usage":{"prompt_tokens":70,"completion_tokens":18,"total_tokens":88,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":0}}})") +
    "data: [DONE]\n\n";

TEST(OpenAiProvider, StreamedToolCallsArriveIdAndNameFirstThenArgumentsInPieces) {
  fake::for_every_split(
      kToolStream, sample_request(), [](FakeTransport& t) { return std::make_unique<OpenAiProvider>(options(), t); },
      [](const fake::CallResult& r) {
        ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
        EXPECT_TRUE(r.deltas.empty());
        ASSERT_EQ(r.tool_calls.size(), 6u);
        EXPECT_EQ(r.tool_calls[0].id, "call_DdmO9pD3xa9XTPNJ32zg2hcA");
        EXPECT_EQ(r.tool_calls[0].name, "get_weather");
        for (std::size_t i = 1; i < r.tool_calls.size(); ++i) {
          EXPECT_EQ(r.tool_calls[i].index, 0u);
          EXPECT_TRUE(r.tool_calls[i].id.empty() && r.tool_calls[i].name.empty());
        }
        ASSERT_EQ(r.outcome.tool_calls.size(), 1u);
        EXPECT_EQ(r.outcome.tool_calls[0].id, "call_DdmO9pD3xa9XTPNJ32zg2hcA");
        EXPECT_EQ(r.outcome.tool_calls[0].arguments, R"({"location":"Paris, France"})");
        EXPECT_EQ(r.outcome.finish_reason, "tool_calls");
        EXPECT_EQ(r.outcome.usage.prompt_tokens, 70);
        EXPECT_EQ(r.outcome.usage.cached_tokens, 64);
        EXPECT_EQ(r.outcome.usage.reasoning_tokens, 0);
      });
}

TEST(OpenAiProvider, ParallelCallsAreNumberedAsTheyStartAndAServerRepeatingIndexZeroStillGetsTwo) {
  FakeTransport transport;
  transport.script.chunks = {
      data(
          R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}},{"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":""}}]}}]})") +
      data(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"x\":1}"}}]}}]})") +
      // Some compatible servers send each call whole at index 0: a new id is a new call.
      data(
          R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_c","type":"function","function":{"name":"h","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})") +
      "data: [DONE]\n\n"};
  OpenAiProvider provider(options(), transport);
  auto r = call(provider, sample_request());
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  ASSERT_EQ(r.outcome.tool_calls.size(), 3u);
  EXPECT_EQ(r.outcome.tool_calls[0].name, "f");
  EXPECT_EQ(r.outcome.tool_calls[1].name, "g");
  EXPECT_EQ(r.outcome.tool_calls[1].arguments, R"({"x":1})");
  EXPECT_EQ(r.outcome.tool_calls[2].id, "call_c");
  EXPECT_EQ(r.outcome.tool_calls[2].name, "h");
  // Usage not reported: the arguments count in the estimate.
  EXPECT_FALSE(r.outcome.usage_reported);
  EXPECT_GT(r.outcome.usage.completion_tokens, 0);
}

TEST(OpenAiProvider, AWholeAnswerWithToolCalls) {
  FakeTransport transport;
  // OpenAI's documented non-streaming answer to a function-calling request.
  transport.script.chunks = {
      R"({"id":"chatcmpl-abc123","object":"chat.completion","created":1699896916,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_current_weather","arguments":"{\n\"location\": \"Boston, MA\"\n}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,"completion_tokens_details":{"reasoning_tokens":0}}})"};
  OpenAiProvider provider(options(), transport);
  ChatRequest request = sample_request();
  request.stream = false;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  EXPECT_EQ(r.outcome.text, "");
  ASSERT_EQ(r.outcome.tool_calls.size(), 1u);
  EXPECT_EQ(r.outcome.tool_calls[0].id, "call_abc123");
  EXPECT_EQ(r.outcome.tool_calls[0].name, "get_current_weather");
  EXPECT_EQ(r.outcome.tool_calls[0].arguments, "{\n\"location\": \"Boston, MA\"\n}");
  EXPECT_EQ(r.outcome.finish_reason, "tool_calls");
  ASSERT_EQ(r.tool_calls.size(), 1u);  // delivered as one whole piece
  EXPECT_EQ(r.outcome.usage.reasoning_tokens, 0);
  EXPECT_FALSE(r.outcome.usage.cached_tokens.has_value());

  FakeTransport broken;
  broken.script.chunks = {
      R"({"choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"type":"function","function":{"arguments":"{}"}}]}}]})"};
  OpenAiProvider provider2(options(), broken);
  EXPECT_EQ(call(provider2, request).outcome.status, Status::error);
}

TEST(OpenAiProvider, PassesEveryRequestFeatureOnAsOpenAiNamesIt) {
  FakeTransport transport;
  transport.script.chunks = {kStream};
  OpenAiProvider provider(options(), transport);
  ChatRequest request = sample_request();
  ChatMessage look{"user", "look"};
  look.parts.push_back({"look", std::nullopt});
  look.parts.push_back({"", Image{"image/png", std::string("\x89PNG\r\n", 6), "", "low"}});
  look.parts.push_back({"", Image{"", "", "https://example.com/cat.jpg", ""}});
  request.messages.push_back(look);
  ChatMessage asks{"assistant", ""};
  asks.tool_calls.push_back({"call_1", "f", R"({"x":1})"});
  request.messages.push_back(asks);
  ChatMessage result{"tool", "42"};
  result.tool_call_id = "call_1";
  request.messages.push_back(result);
  request.tools.push_back({"f", "Adds one", R"({"type":"object","properties":{"x":{"type":"integer"}}})", true});
  request.tools.push_back({"g", "", "", std::nullopt});
  request.tool_choice = {ToolChoice::Mode::function, "f"};
  request.parallel_tool_calls = false;
  request.response_format = {ResponseFormat::Kind::json_schema, "answer", "the answer", R"({"type":"object"})", true};
  request.seed = 7;
  request.presence_penalty = 0.5;
  request.frequency_penalty = -1.5;
  request.logit_bias = R"({"50256":-100})";
  request.user = "u-1";
  request.reasoning_effort = "low";
  request.max_tokens = 64;
  request.max_tokens_named_completion = true;
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Status::complete) << r.outcome.internal;
  const json body = json::parse(transport.requests[0].body);
  EXPECT_EQ(body["messages"][2], json::parse(R"({"role":"user","content":[
      {"type":"text","text":"look"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K","detail":"low"}},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]})"));
  EXPECT_EQ(body["messages"][3], json::parse(R"({"role":"assistant","content":null,"tool_calls":[
      {"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]})"));
  EXPECT_EQ(body["messages"][4], json::parse(R"({"role":"tool","content":"42","tool_call_id":"call_1"})"));
  EXPECT_EQ(body["tools"], json::parse(R"([
      {"type":"function","function":{"name":"f","description":"Adds one","strict":true,
       "parameters":{"type":"object","properties":{"x":{"type":"integer"}}}}},
      {"type":"function","function":{"name":"g"}}])"));
  EXPECT_EQ(body["tool_choice"], json::parse(R"({"type":"function","function":{"name":"f"}})"));
  EXPECT_EQ(body["parallel_tool_calls"], false);
  EXPECT_EQ(body["response_format"], json::parse(R"({"type":"json_schema","json_schema":{
      "name":"answer","description":"the answer","schema":{"type":"object"},"strict":true}})"));
  EXPECT_EQ(body["seed"], 7);
  EXPECT_EQ(body["presence_penalty"], 0.5);
  EXPECT_EQ(body["frequency_penalty"], -1.5);
  EXPECT_EQ(body["logit_bias"], json::parse(R"({"50256":-100})"));
  EXPECT_EQ(body["user"], "u-1");
  EXPECT_EQ(body["reasoning_effort"], "low");
  EXPECT_EQ(body["max_completion_tokens"], 64);
  EXPECT_FALSE(body.contains("max_tokens"));

  for (auto [mode, expected] : {std::pair{ToolChoice::Mode::automatic, "auto"},
                                {ToolChoice::Mode::none, "none"},
                                {ToolChoice::Mode::required, "required"}}) {
    request.tool_choice = {mode, ""};
    EXPECT_EQ(json::parse(openai_request_body(request))["tool_choice"], expected);
  }
  request.response_format = {ResponseFormat::Kind::json_object, "", "", "", std::nullopt};
  EXPECT_EQ(json::parse(openai_request_body(request))["response_format"], json::parse(R"({"type":"json_object"})"));
}

}  // namespace
}  // namespace chatd::llm
