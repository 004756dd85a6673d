// What chatd reads of an upstream's HTTP response besides the body's answer: the head as
// llm/http_client.cpp parses it (Beast, the client's head limit, no body limit: the caller
// bounds what it keeps), the body through a small buffer_body window as the client reads it,
// Retry-After, and the error message of an error body (OpenAI, Anthropic and AWS shapes).

#include "fuzz.hpp"
#include "llm/provider_util.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <limits>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  namespace bhttp = boost::beast::http;
  const std::string_view text = fuzz::text_of(data, size);

  if (auto ms = llm::parse_retry_after_ms(text)) FUZZ_CHECK(*ms >= 0 && *ms <= 86'400'000);
  (void)llm::upstream_error_message(text, "ValidationException");
  (void)llm::excerpt(text, 200);

  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::beast::error_code ec;
  std::string_view rest = text;
  rest.remove_prefix(parser.put(boost::asio::buffer(rest.data(), rest.size()), ec));
  if (ec || !parser.is_header_done()) return 0;
  const auto& head = parser.get();
  if (auto it = head.find(bhttp::field::retry_after); it != head.end()) (void)llm::parse_retry_after_ms(it->value());

  // The body, at most 64 KiB of it kept, as read_body() with its limit keeps it.
  std::string body;
  char window[4096];
  while (!parser.is_done() && body.size() < 64 * 1024) {
    parser.get().body().data = window;
    parser.get().body().size = sizeof window;
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    body.append(window, sizeof window - parser.get().body().size);
    if (ec == bhttp::error::need_buffer) ec = {};  // the window is full: the next round empties it
    if (ec || used == 0) break;                    // malformed, or the input is used up
  }
  (void)llm::upstream_error_message(body, "");
  return 0;
}
