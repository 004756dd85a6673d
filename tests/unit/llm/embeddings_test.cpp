// Embeddings on the wire: OpenAI's /embeddings and Bedrock's Titan and Cohere InvokeModel calls,
// with the answers of the providers' documentation.

#include "llm/embeddings.hpp"

#include "fake_transport.hpp"
#include "llm/openai.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace chatd::llm {
namespace {

using fake::FakeTransport;
using fake::run;
using nlohmann::json;

OpenAiOptions openai_options() {
  OpenAiOptions o;
  o.base_url = "https://api.example.com/v1";
  o.api_key = "sk-secret";
  return o;
}

Outcome embed(Provider& provider, const EmbeddingRequest& request) {
  Cancellation cancel;
  return run(provider.embed(request, cancel));
}

TEST(Embeddings, OpenAiSendsTheDocumentedRequestAndReadsTheDocumentedAnswer) {
  FakeTransport transport;
  // OpenAI's API reference answer (shortened vectors), with the items out of order.
  transport.script.chunks = {R"({"object":"list","data":[
      {"object":"embedding","embedding":[0.5,-0.25],"index":1},
      {"object":"embedding","embedding":[0.0023064255,-0.009327292],"index":0}],
      "model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}})"};
  OpenAiProvider provider(openai_options(), transport);
  EmbeddingRequest request{"text-embedding-3-small", {"The food was delicious", "and the waiter..."}, {}, 2, "u-1"};
  Outcome out = embed(provider, request);
  ASSERT_EQ(out.status, Outcome::Status::complete) << out.internal;
  EXPECT_EQ(transport.requests[0].url, "https://api.example.com/v1/embeddings");
  EXPECT_EQ(json::parse(transport.requests[0].body), json::parse(R"({"model":"text-embedding-3-small",
      "input":["The food was delicious","and the waiter..."],"dimensions":2,"user":"u-1","encoding_format":"float"})"));
  ASSERT_EQ(out.embeddings.size(), 2u);
  EXPECT_EQ(out.embeddings[0], (std::vector<float>{0.0023064255F, -0.009327292F}));
  EXPECT_EQ(out.embeddings[1], (std::vector<float>{0.5F, -0.25F}));
  EXPECT_EQ(out.usage.prompt_tokens, 8);
  EXPECT_TRUE(out.usage_reported);

  EmbeddingRequest tokens{"m", {}, {{1, 2}, {3}}, std::nullopt, ""};
  EXPECT_EQ(json::parse(openai_embedding_body(tokens))["input"], json::parse("[[1,2],[3]]"));
}

TEST(Embeddings, AnswersThatDoNotMatchTheInputsFail) {
  for (const char* body : {R"({"data":[{"embedding":[1],"index":0}]})",                              // one for two
                           R"({"data":[{"embedding":[1],"index":0},{"embedding":[2],"index":0}]})",  // twice 0
                           R"({"data":[{"embedding":[1],"index":0},{"embedding":"x","index":1}]})",
                           R"({"data":[{"embedding":[1],"index":0},{"embedding":[],"index":1}]})", "not json"}) {
    Outcome out;
    EXPECT_FALSE(read_openai_embeddings(body, 2, out)) << body;
  }
  FakeTransport transport;
  transport.script.chunks = {R"({"data":[]})"};
  OpenAiProvider provider(openai_options(), transport);
  Outcome out = embed(provider, {"m", {"a"}, {}, std::nullopt, ""});
  EXPECT_EQ(out.status, Outcome::Status::error);
  EXPECT_FALSE(out.retryable);
}

TEST(Embeddings, HttpFailuresAreRetryableAsCompletionsAreAndKeepTheKeyOut) {
  FakeTransport transport;
  transport.script.status = 429;
  transport.script.headers = {{"Retry-After", "3"}};
  transport.script.chunks = {R"({"error":{"message":"Rate limit for sk-secret","type":"requests"}})"};
  OpenAiProvider provider(openai_options(), transport);
  Outcome out = embed(provider, {"m", {"a"}, {}, std::nullopt, ""});
  EXPECT_EQ(out.status, Outcome::Status::error);
  EXPECT_TRUE(out.retryable);
  EXPECT_EQ(out.retry_after_ms, 3000);
  EXPECT_EQ(out.upstream_status, 429);
  EXPECT_EQ(out.internal.find("sk-secret"), std::string::npos) << out.internal;
}

}  // namespace
}  // namespace chatd::llm
