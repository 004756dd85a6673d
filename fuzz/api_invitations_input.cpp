// The reader of POST /invitations bodies (api/invitations.cpp).

#include "api/invitations.hpp"
#include "api_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  auto body = fuzz::request_body(fuzz::text_of(data, size));
  if (!body) return 0;
  auto invitation = api::read_new_invitation(*body);
  if (!invitation) {
    FUZZ_CHECK(!invitation.error().fields.empty());
    return 0;
  }
  const auto& v = invitation.value();
  if (v.email) FUZZ_CHECK(v.email->size() <= 254);
  if (v.expires_in_hours) FUZZ_CHECK(*v.expires_in_hours <= 1'000'000);
  return 0;
}
