// api/pagination: ?limit=N&cursor=C from a request's query string (percent-decoding
// included). A limit that passes is 1-100; a cursor that passes reads back the same after
// encode_cursor.

#include "api/pagination.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  const http::Request req;
  http::Context ctx(req);
  ctx.query = fuzz::text_of(data, size);
  auto page = api::page_request(ctx);
  if (!page) {
    FUZZ_CHECK(!page.error().fields.empty());
    return 0;
  }
  FUZZ_CHECK(page.value().limit >= 1 && page.value().limit <= 100);
  if (const auto& after = page.value().after) {
    FUZZ_CHECK(!after->second.empty() && after->second.size() <= 64);
    http::Context again(req);
    const std::string query = "cursor=" + api::encode_cursor(after->first, after->second);
    again.query = query;
    auto reread = api::page_request(again);
    FUZZ_CHECK(reread && reread.value().after == after);
  }
  return 0;
}
