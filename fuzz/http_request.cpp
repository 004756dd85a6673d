// The transport's reading of a request, as http/server.cpp does it on a connection's bytes:
// the head as sent (its end, obsolete line folding), Beast's parse of the head with the
// header limit, the framing checks, then the body (Content-Length or chunked) with the body
// limit, and the request target's path and query as the pipeline splits them.

#include "fuzz.hpp"
#include "http/framing.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <limits>
#include <string_view>
#include <vector>

namespace {

namespace bhttp = boost::beast::http;
using chatd::http::Request;

constexpr std::size_t kMaxHead = 2048;
constexpr std::uint64_t kMaxBody = 4096;

// Feeds `rest` to the parser until it stops on an error, needs more than there is (then the
// connection's end), or `until` holds.
template <class Until>
boost::beast::error_code feed(bhttp::request_parser<bhttp::string_body>& parser, std::string_view& rest, Until until) {
  boost::beast::error_code ec;
  while (!until()) {
    std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    if (ec == bhttp::error::need_more) {
      if (used > 0 && !rest.empty()) continue;
      if (parser.got_some())
        parser.put_eof(ec);
      else
        ec = bhttp::error::end_of_stream;
      return ec;
    }
    if (ec) return ec;
    if (used == 0) return bhttp::error::partial_message;  // no progress: nothing more to give
  }
  return ec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  const std::string_view text = fuzz::text_of(data, size);

  const std::size_t head = http::head_length(text);
  FUZZ_CHECK(head == 0 || (head >= 4 && text.substr(head - 4, 4) == "\r\n\r\n"));
  const bool folded = http::has_obsolete_line_folding(text.substr(0, head));

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxHead));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  std::string_view rest = text;
  if (feed(parser, rest, [&] { return parser.is_header_done(); })) return 0;
  // Beast's head is exactly the bytes the fold check looked at.
  FUZZ_CHECK(head == text.size() - rest.size());
  if (folded) return 0;

  const Request& req = parser.get();
  const auto length = parser.content_length();
  if (http::head_problem(req, length ? std::optional(*length) : std::nullopt, kMaxBody)) return 0;
  parser.body_limit(kMaxBody);
  if (feed(parser, rest, [&] { return parser.is_done(); })) return 0;
  FUZZ_CHECK(parser.get().body().size() <= kMaxBody);

  // The pipeline's view of the target.
  std::string_view target = req.target();
  http::Context ctx(req);
  auto q = target.find('?');
  ctx.path = target.substr(0, q);
  if (q != std::string_view::npos) ctx.query = target.substr(q + 1);
  (void)ctx.query_param("limit");
  (void)ctx.query_param("cursor");
  (void)ctx.user_agent();
  std::vector<std::string_view> segments;
  (void)http::split_path(ctx.path, segments);
  return 0;
}
