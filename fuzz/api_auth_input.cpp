// The request readers of the account routes (api/auth.cpp) and of sending a chat message
// (api/chat.cpp), which read their bodies with api::BodyReader: each route's fields and
// limits, as the handlers ask for them.

#include "api/input.hpp"
#include "api_input.hpp"

namespace {

struct Field {
  const char* name;
  std::size_t max_bytes;
  bool required;
};

// The routes' fields, in the order the handlers read them.
const std::vector<std::vector<Field>> kRoutes = {
    {{"email", 254, true}, {"username", 64, true}, {"password", 1024, true}, {"invite_code", 256, false}},  // register
    {{"email", 254, true}},                                                // verify request, reset request
    {{"token", 256, true}},                                                // verify confirm
    {{"login", 254, true}, {"password", 1024, true}, {"otp", 64, false}},  // login
    {{"refresh_token", 256, true}},                                        // refresh
    {{"current_password", 1024, true}, {"new_password", 1024, true}},      // password change
    {{"token", 256, true}, {"new_password", 1024, true}},                  // reset confirm
    {{"code", 32, true}},                                                  // 2fa verify
    {{"password", 1024, true}, {"code", 32, true}},                        // 2fa disable
    {{"content", 4 * 1024 * 1024, true}, {"model", 400, false}},           // send a message
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  auto body = fuzz::request_body(fuzz::text_of(data, size));
  if (!body) return 0;
  for (const auto& route : kRoutes) {
    api::BodyReader in(*body);
    std::vector<std::optional<std::string>> values;
    for (const auto& f : route) {
      if (f.required)
        values.emplace_back(in.required_string(f.name, f.max_bytes));
      else
        values.push_back(in.optional_string(f.name, f.max_bytes));
    }
    auto status = in.finish();
    if (status) {
      for (std::size_t i = 0; i < route.size(); ++i) {
        if (!values[i]) continue;
        FUZZ_CHECK(values[i]->size() <= route[i].max_bytes);
        FUZZ_CHECK(!route[i].required || !values[i]->empty());
      }
    } else {
      FUZZ_CHECK(!status.error().fields.empty());
    }
  }
  return 0;
}
