// What chatd reads of an upstream's HTTP response besides the body's answer: the head as
// Beast parses it with the client's limits, Retry-After, and the error message of an
// error body (OpenAI, Anthropic and AWS shapes).

#include "fuzz.hpp"
#include "llm/provider_util.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  namespace bhttp = boost::beast::http;
  const std::string_view text = fuzz::text_of(data, size);

  if (auto ms = llm::parse_retry_after_ms(text)) FUZZ_CHECK(*ms >= 0 && *ms <= 86'400'000);
  (void)llm::upstream_error_message(text, "ValidationException");
  (void)llm::excerpt(text, 200);

  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(text.data(), text.size()), ec);
  if (ec && ec != bhttp::error::need_more) return 0;
  if (!parser.is_header_done()) return 0;
  const auto& head = parser.get();
  if (auto it = head.find(bhttp::field::retry_after); it != head.end()) (void)llm::parse_retry_after_ms(it->value());
  if (parser.is_done()) (void)llm::upstream_error_message(head.body(), "");
  return 0;
}
