// The reader of POST and PATCH /conversations bodies (api/chat.cpp).

#include "api/chat.hpp"
#include "api_input.hpp"
#include "core/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  auto body = fuzz::request_body(fuzz::text_of(data, size));
  if (!body) return 0;
  auto changes = api::read_conversation_changes(*body, 32);
  if (!changes) {
    FUZZ_CHECK(!changes.error().fields.empty());
    return 0;
  }
  const auto& c = changes.value();
  if (c.title) FUZZ_CHECK(c.title->size() <= 800 && utf8::code_points(*c.title) <= 200);
  if (c.model) FUZZ_CHECK(c.model->size() <= 400);
  if (c.system_prompt && *c.system_prompt) FUZZ_CHECK((*c.system_prompt)->size() <= 32 * 4);
  return 0;
}
