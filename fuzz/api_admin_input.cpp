// The reader of PATCH /admin/users/{id} bodies (api/admin.cpp), and the admin routes' date
// query parameters (from, to), which go through the RFC 3339 parser.

#include "api/admin.hpp"
#include "api_input.hpp"
#include "core/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  const std::string_view text = fuzz::text_of(data, size);
  if (auto ms = parse_rfc3339(std::string(text))) (void)format_rfc3339(*ms);
  auto body = fuzz::request_body(text);
  if (!body) return 0;
  auto patch = api::read_user_patch(*body);
  if (!patch) {
    FUZZ_CHECK(!patch.error().fields.empty());
    return 0;
  }
  if (patch.value().roles) {
    for (const auto& role : *patch.value().roles) FUZZ_CHECK(!role.empty() && role.size() <= 64);
  }
  return 0;
}
