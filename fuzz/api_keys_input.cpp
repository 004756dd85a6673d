// The reader of POST /api-keys bodies (api/api_keys.cpp), expires_at included.

#include "api/api_keys.hpp"
#include "api_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  auto body = fuzz::request_body(fuzz::text_of(data, size));
  if (!body) return 0;
  auto key = api::read_new_key(*body);
  if (!key) {
    FUZZ_CHECK(!key.error().fields.empty());
    return 0;
  }
  FUZZ_CHECK(!key.value().name.empty() && key.value().name.size() <= 400);
  return 0;
}
