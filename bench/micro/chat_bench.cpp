// Micro benchmarks of the work chatd does for each POST /v1/chat/completions, piece by piece
// (bench/chat.sh measures the whole): reading the body, writing the upstream request, reading
// the upstream's answer. The request and answer are bench/chat.sh's.

#include "api/openai.hpp"
#include "core/json_scan.hpp"
#include "http/pipeline.hpp"
#include "llm/openai.hpp"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <string>

namespace {

const std::string kBody = R"({"model":"bench","stream":false,"messages":[{"role":"user","content":"Hello there"}]})";
const std::string kTools =
    R"({"model":"bench","stream":false,"messages":[{"role":"user","content":"Hello there"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}],"tool_choice":"auto"})";
const std::string kAnswer =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}})";

// What the pipeline does before the handler: parse into a DOM, check for NUL characters.
void BM_BodyParse(benchmark::State& state) {
  for (auto _ : state) {
    auto body = chatd::parse_json(kBody);
    benchmark::DoNotOptimize(chatd::http::field_holding_nul(body));
  }
}
BENCHMARK(BM_BodyParse);

// The same with nlohmann's parser (what the pipeline used before), for comparison.
void BM_BodyParseNlohmann(benchmark::State& state) {
  for (auto _ : state) {
    auto body = nlohmann::json::parse(kBody, nullptr, false);
    benchmark::DoNotOptimize(chatd::http::field_holding_nul(body));
  }
}
BENCHMARK(BM_BodyParseNlohmann);

void BM_ReadCompletionRequest(benchmark::State& state) {
  const auto body = nlohmann::json::parse(kBody);
  for (auto _ : state) benchmark::DoNotOptimize(chatd::api::read_completion_request(body, {}));
}
BENCHMARK(BM_ReadCompletionRequest);

void BM_ReadCompletionRequestWithTools(benchmark::State& state) {
  for (auto _ : state) {
    auto body = chatd::parse_json(kTools);
    benchmark::DoNotOptimize(chatd::api::read_completion_request(body, {}));
  }
}
BENCHMARK(BM_ReadCompletionRequestWithTools);

void BM_UpstreamRequestBody(benchmark::State& state) {
  auto call = chatd::api::read_completion_request(nlohmann::json::parse(kBody), {}).value();
  for (auto _ : state) benchmark::DoNotOptimize(chatd::llm::openai_request_body(call.request));
}
BENCHMARK(BM_UpstreamRequestBody);

void BM_ParseWholeAnswer(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(chatd::llm::openai_parse_whole(kAnswer));
}
BENCHMARK(BM_ParseWholeAnswer);

// scan_json alone over the answer, a visitor that keeps nothing.
void BM_ScanJson(benchmark::State& state) {
  struct Nothing final : chatd::JsonVisitor {
    std::size_t seen = 0;
    void value(const chatd::JsonPath&, const chatd::JsonValue&) override { ++seen; }
  } nothing;
  for (auto _ : state) benchmark::DoNotOptimize(chatd::scan_json(kAnswer, nothing));
}
BENCHMARK(BM_ScanJson);

}  // namespace
