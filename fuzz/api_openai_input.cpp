// The readers of POST /v1/chat/completions and POST /v1/embeddings bodies
// (api/openai_request.cpp): OpenAI's request shapes, with tools, tool calls, images as data:
// URLs, response formats and the other parameters.

#include "api/openai.hpp"
#include "api_input.hpp"
#include "llm/image_type.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  auto body = fuzz::request_body(fuzz::text_of(data, size));
  if (!body) return 0;
  const api::CompletionLimits limits{64, 4096};
  if (auto embedding = api::read_embedding_request(*body, limits)) {
    const auto& e = embedding.value().request;
    FUZZ_CHECK(!e.model.empty());
    FUZZ_CHECK(e.texts.empty() != e.tokens.empty());
    FUZZ_CHECK(e.texts.size() <= 2048 && e.tokens.size() <= 2048);
  } else {
    FUZZ_CHECK(!embedding.error().fields.empty());
  }
  auto call = api::read_completion_request(*body, limits);
  if (!call) {
    FUZZ_CHECK(!call.error().fields.empty());
    return 0;
  }
  const auto& r = call.value().request;
  FUZZ_CHECK(!call.value().model.id.empty());
  FUZZ_CHECK(!r.messages.empty());
  for (const auto& m : r.messages) {
    FUZZ_CHECK(m.role == "system" || m.role == "user" || m.role == "assistant" || m.role == "tool");
    FUZZ_CHECK((m.role == "tool") == !m.tool_call_id.empty());
    FUZZ_CHECK(m.tool_calls.empty() || m.role == "assistant");
    for (const auto& part : m.parts) {
      if (!part.image) continue;
      FUZZ_CHECK(m.role == "user");
      FUZZ_CHECK(part.image->data.size() <= 4096);
      FUZZ_CHECK(part.image->data.empty() != part.image->url.empty());
      // Image bytes are passed on as the type they show.
      if (!part.image->data.empty()) FUZZ_CHECK(part.image->media_type == llm::image_type_of(part.image->data));
    }
  }
  FUZZ_CHECK(r.tools.size() <= 128);
  for (const auto& t : r.tools) FUZZ_CHECK(!t.name.empty() && t.name.size() <= 64);
  if (r.max_tokens) FUZZ_CHECK(*r.max_tokens >= 1 && *r.max_tokens <= 10000000);
  if (r.temperature) FUZZ_CHECK(*r.temperature >= 0 && *r.temperature <= 2);
  if (r.top_p) FUZZ_CHECK(*r.top_p >= 0 && *r.top_p <= 1);
  FUZZ_CHECK(r.stop.size() <= 4);
  return 0;
}
