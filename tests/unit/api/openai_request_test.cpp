// Reading POST /v1/chat/completions bodies: OpenAI's request features as OpenAI documents and
// checks them, and every refusal naming the parameter.

#include "api/openai.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace chatd::api {
namespace {

using nlohmann::json;

Result<CompletionCall> read(const std::string& body, CompletionLimits limits = {}) {
  return read_completion_request(json::parse(body), limits);
}

// The first field error of a refused body ("" when it was accepted).
std::string refused_field(const std::string& body, CompletionLimits limits = {}) {
  auto r = read(body, limits);
  if (r) return "";
  EXPECT_FALSE(r.error().fields.empty());
  return r.error().fields.empty() ? "?" : r.error().fields[0].field;
}

// 1x1 PNG, base64.
constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

TEST(OpenAiRequest, ReadsOpenAisDocumentedFunctionCallingRequest) {
  // The request of OpenAI's function-calling guide.
  auto r = read(R"({
    "model": "gpt-4.1",
    "messages": [{"role": "user", "content": "What is the weather like in Paris today?"}],
    "tools": [{
      "type": "function",
      "function": {
        "name": "get_weather",
        "description": "Get current temperature for a given location.",
        "parameters": {
          "type": "object",
          "properties": {"location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"}},
          "required": ["location"],
          "additionalProperties": false
        },
        "strict": true
      }
    }],
    "tool_choice": "auto",
    "parallel_tool_calls": false
  })");
  ASSERT_TRUE(r) << r.error().detail;
  const llm::ChatRequest& q = r.value().request;
  ASSERT_EQ(q.tools.size(), 1u);
  EXPECT_EQ(q.tools[0].name, "get_weather");
  EXPECT_EQ(q.tools[0].description, "Get current temperature for a given location.");
  EXPECT_EQ(json::parse(q.tools[0].parameters)["required"], json::array({"location"}));
  EXPECT_EQ(q.tools[0].strict, true);
  EXPECT_EQ(q.tool_choice.mode, llm::ToolChoice::Mode::automatic);
  EXPECT_EQ(q.parallel_tool_calls, false);
  EXPECT_FALSE(q.stream);
}

TEST(OpenAiRequest, ReadsAToolLoopAndRequiresEveryCallAnsweredRightAfterIt) {
  const std::string tools = R"("tools": [{"type": "function", "function": {"name": "f"}}])";
  auto r = read(R"({"model": "m", )" + tools + R"(, "messages": [
    {"role": "user", "content": "go"},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
      {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_2", "content": "two"},
    {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "one"}]},
    {"role": "user", "content": "and now?"}]})");
  ASSERT_TRUE(r) << r.error().detail;
  const auto& m = r.value().request.messages;
  ASSERT_EQ(m.size(), 5u);
  ASSERT_EQ(m[1].tool_calls.size(), 2u);
  EXPECT_EQ(m[1].tool_calls[0].arguments, R"({"a":1})");
  EXPECT_EQ(m[1].content, "");
  EXPECT_EQ(m[2].role, "tool");
  EXPECT_EQ(m[2].tool_call_id, "call_2");
  EXPECT_EQ(m[3].content, "one");

  const std::string call = R"({"role": "assistant", "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]})";
  // A call left unanswered before the next message, or at the end.
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "user", "content": "x"}, )" + call +
                          R"(, {"role": "user", "content": "y"}]})"),
            "messages[2]");
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "user", "content": "x"}, )" + call + "]}"),
            "messages");
  // A tool message answering nothing, or a call of an older assistant message.
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "user", "content": "x"},
                           {"role": "tool", "tool_call_id": "call_1", "content": "r"}]})"),
            "messages[1].tool_call_id");
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "user", "content": "x"}, )" + call + R"(,
                           {"role": "tool", "tool_call_id": "call_9", "content": "r"}]})"),
            "messages[2].tool_call_id");
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "tool", "content": "r"}]})"),
            "messages[0].tool_call_id");
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "user", "content": "x", "tool_calls": []}]})"),
            "messages[0].tool_calls");
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "assistant", "tool_calls": [
                           {"id": "c", "type": "function", "function": {"name": "f", "arguments": {}}}]}]})"),
            "messages[0].tool_calls[0].function.arguments");
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "user", "content": null}]})"), "messages[0].content");
}

TEST(OpenAiRequest, DecodesDataUrlImagesAndKeepsHttpsOnes) {
  auto r = read(std::string(R"({"model": "m", "messages": [{"role": "user", "content": [
    {"type": "text", "text": "What is in this image?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,)") +
                kPng + R"(", "detail": "high"}},
    {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/a.jpg"}},
    {"type": "image_url", "image_url": "data:IMAGE/JPG;base64,/9j/4AAQ"},
    {"type": "image_url", "image_url": "data:image/png;base64,/9j/4AAQ"}]}]})");
  ASSERT_TRUE(r) << r.error().detail;
  const llm::ChatMessage& m = r.value().request.messages[0];
  EXPECT_EQ(m.content, "What is in this image?");
  ASSERT_EQ(m.parts.size(), 5u);
  ASSERT_TRUE(m.parts[1].image);
  EXPECT_EQ(m.parts[1].image->media_type, "image/png");
  EXPECT_EQ(m.parts[1].image->data.size(), 70u);
  EXPECT_EQ(m.parts[1].image->data.substr(1, 3), "PNG");
  EXPECT_EQ(m.parts[1].image->detail, "high");
  EXPECT_EQ(m.parts[2].image->url, "https://upload.wikimedia.org/a.jpg");
  EXPECT_TRUE(m.parts[2].image->data.empty());
  EXPECT_EQ(m.parts[3].image->media_type, "image/jpeg");
  // Sent as a PNG, but JPEG bytes: passed on as what they are.
  EXPECT_EQ(m.parts[4].image->media_type, "image/jpeg");
  // Text only: no parts kept, the text joined.
  auto text = read(R"({"model": "m", "messages": [{"role": "user", "content": [
                     {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]})");
  ASSERT_TRUE(text);
  EXPECT_TRUE(text.value().request.messages[0].parts.empty());
  EXPECT_EQ(text.value().request.messages[0].content, "ab");
}

TEST(OpenAiRequest, RefusesImagesItCannotPassOn) {
  auto image = [](const std::string& url, const std::string& role = "user") {
    return R"({"model": "m", "messages": [{"role": ")" + role +
           R"(", "content": [{"type": "image_url", "image_url": {"url": ")" + url + R"("}}]}]})";
  };
  const std::string at = "messages[0].content[0].image_url.url";
  EXPECT_EQ(refused_field(image("http://example.com/a.png")), at);
  EXPECT_EQ(refused_field(image("ftp://example.com/a.png")), at);
  EXPECT_EQ(refused_field(image("data:image/png;base64,!!!")), at);
  EXPECT_EQ(refused_field(image("data:image/png,rawbytes")), at);
  EXPECT_EQ(refused_field(image("data:image/tiff;base64,AAAA")), at);
  // Declared an image, but its bytes ("hello world!") are none of the four formats.
  EXPECT_EQ(refused_field(image("data:image/png;base64,aGVsbG8gd29ybGQh")), at);
  EXPECT_EQ(refused_field(image(std::string("data:image/png;base64,") + kPng), CompletionLimits{32000, 69}), at);
  EXPECT_EQ(refused_field(image(std::string("data:image/png;base64,") + kPng), CompletionLimits{32000, 70}), "");
  EXPECT_EQ(refused_field(image("https://example.com/a.png", "assistant")), "messages[0].content[0]");
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "user", "content": [
                           {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "max"}}]}]})"),
            "messages[0].content[0].image_url.detail");
  EXPECT_EQ(refused_field(R"({"model": "m", "messages": [{"role": "user", "content": [
                           {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]})"),
            "messages[0].content[0].type");
}

TEST(OpenAiRequest, ReadsToolChoiceAndResponseFormats) {
  const std::string base = R"("model": "m", "messages": [{"role": "user", "content": "x"}])";
  const std::string tools = R"("tools": [{"type": "function", "function": {"name": "f"}}])";
  auto named = read("{" + base + ", " + tools + R"(, "tool_choice": {"type": "function", "function": {"name": "f"}}})");
  ASSERT_TRUE(named);
  EXPECT_EQ(named.value().request.tool_choice.mode, llm::ToolChoice::Mode::function);
  EXPECT_EQ(named.value().request.tool_choice.name, "f");
  EXPECT_EQ(
      refused_field("{" + base + ", " + tools + R"(, "tool_choice": {"type": "function", "function": {"name": "g"}}})"),
      "tool_choice");
  EXPECT_EQ(refused_field("{" + base + R"(, "tool_choice": "required"})"), "tool_choice");
  EXPECT_EQ(refused_field("{" + base + R"(, "tool_choice": "none"})"), "");
  EXPECT_EQ(refused_field("{" + base + R"(, "tool_choice": "sometimes"})"), "tool_choice");
  EXPECT_EQ(refused_field("{" + base + R"(, "tools": [{"type": "function", "function": {"name": "bad name"}}]})"),
            "tools[0].function.name");
  EXPECT_EQ(refused_field("{" + base + R"(, "tools": [{"type": "code_interpreter"}]})"), "tools[0].type");
  EXPECT_EQ(refused_field("{" + base + R"(, "tools": [{"type": "function", "function": {"name": "f"}},
                                                      {"type": "function", "function": {"name": "f"}}]})"),
            "tools[1].function.name");
  EXPECT_EQ(refused_field("{" + base + R"(, "tools": [{"type": "function", "function": {"name": "f",
                                                       "parameters": []}}]})"),
            "tools[0].function.parameters");

  // OpenAI's structured-outputs example.
  auto schema = read("{" + base + R"(, "response_format": {"type": "json_schema", "json_schema": {
      "name": "math_reasoning", "strict": true, "schema": {"type": "object", "properties": {
        "steps": {"type": "array", "items": {"type": "object", "properties": {
          "explanation": {"type": "string"}, "output": {"type": "string"}},
          "required": ["explanation", "output"], "additionalProperties": false}},
        "final_answer": {"type": "string"}}, "required": ["steps", "final_answer"], "additionalProperties": false}}}})");
  ASSERT_TRUE(schema) << schema.error().detail;
  const llm::ResponseFormat& f = schema.value().request.response_format;
  EXPECT_EQ(f.kind, llm::ResponseFormat::Kind::json_schema);
  EXPECT_EQ(f.name, "math_reasoning");
  EXPECT_EQ(f.strict, true);
  EXPECT_EQ(json::parse(f.schema)["required"], json::parse(R"(["steps", "final_answer"])"));
  auto object = read("{" + base + R"(, "response_format": {"type": "json_object"}})");
  ASSERT_TRUE(object);
  EXPECT_EQ(object.value().request.response_format.kind, llm::ResponseFormat::Kind::json_object);
  EXPECT_EQ(refused_field("{" + base + R"(, "response_format": {"type": "json_schema"}})"),
            "response_format.json_schema");
  EXPECT_EQ(refused_field("{" + base + R"(, "response_format": {"type": "json_schema", "json_schema": {}}})"),
            "response_format.json_schema.name");
  EXPECT_EQ(refused_field("{" + base + R"(, "response_format": {"type": "yaml"}})"), "response_format.type");
}

TEST(OpenAiRequest, ReadsTheOtherParametersAndRefusesWhatChatdDoesNotOffer) {
  const std::string base = R"("model": "m", "messages": [{"role": "user", "content": "x"}])";
  auto r = read("{" + base + R"(, "seed": 42, "presence_penalty": -2, "frequency_penalty": 2,
                 "logit_bias": {"50256": -100, "1": 3.5}, "user": "user-1234", "reasoning_effort": "minimal",
                 "max_completion_tokens": 300, "logprobs": false, "modalities": ["text"], "store": false})");
  ASSERT_TRUE(r) << r.error().detail;
  const llm::ChatRequest& q = r.value().request;
  EXPECT_EQ(q.seed, 42);
  EXPECT_EQ(q.presence_penalty, -2);
  EXPECT_EQ(q.frequency_penalty, 2);
  EXPECT_EQ(json::parse(q.logit_bias), json::parse(R"({"50256": -100, "1": 3.5})"));
  EXPECT_EQ(q.user, "user-1234");
  EXPECT_EQ(q.reasoning_effort, "minimal");
  EXPECT_EQ(q.max_tokens, 300);
  EXPECT_TRUE(q.max_tokens_named_completion);

  for (const auto& [member, field] : std::vector<std::pair<std::string, std::string>>{
           {R"("seed": 1.5)", "seed"},
           {R"("presence_penalty": 3)", "presence_penalty"},
           {R"("frequency_penalty": "1")", "frequency_penalty"},
           {R"("logit_bias": {"1": 101})", "logit_bias"},
           {R"("logit_bias": [1])", "logit_bias"},
           {R"("user": 7)", "user"},
           {R"("reasoning_effort": "extreme")", "reasoning_effort"},
           {R"("n": 2)", "n"},
           {R"("logprobs": true)", "logprobs"},
           {R"("top_logprobs": 2)", "top_logprobs"},
           {R"("functions": [])", "functions"},
           {R"("function_call": "auto")", "function_call"},
           {R"("audio": {"voice": "alloy", "format": "wav"})", "audio"},
           {R"("modalities": ["text", "audio"])", "modalities"},
           {R"("prediction": {"type": "content", "content": "x"})", "prediction"},
           {R"("parallel_tool_calls": "yes")", "parallel_tool_calls"},
           {R"("stop": ["a", "b", "c", "d", "e"])", "stop"},
       }) {
    EXPECT_EQ(refused_field("{" + base + ", " + member + "}"), field) << member;
  }
  EXPECT_EQ(refused_field("[1]"), "body");
}

}  // namespace
}  // namespace chatd::api
