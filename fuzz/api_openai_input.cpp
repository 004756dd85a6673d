// The reader of POST /v1/chat/completions bodies (api/openai.cpp): OpenAI's request shape,
// message content as a string or a list of text parts.

#include "api/openai.hpp"
#include "api_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  auto body = fuzz::request_body(fuzz::text_of(data, size));
  if (!body) return 0;
  auto call = api::read_completion_request(*body, {64, 4096});
  if (!call) {
    FUZZ_CHECK(!call.error().fields.empty());
    return 0;
  }
  const auto& r = call.value().request;
  FUZZ_CHECK(!call.value().model.id.empty());
  FUZZ_CHECK(!r.messages.empty());
  for (const auto& m : r.messages) FUZZ_CHECK(m.role == "system" || m.role == "user" || m.role == "assistant");
  if (r.max_tokens) FUZZ_CHECK(*r.max_tokens >= 1 && *r.max_tokens <= 10000000);
  if (r.temperature) FUZZ_CHECK(*r.temperature >= 0 && *r.temperature <= 2);
  if (r.top_p) FUZZ_CHECK(*r.top_p >= 0 && *r.top_p <= 1);
  FUZZ_CHECK(r.stop.size() <= 4);
  return 0;
}
