// What chatd reads of an upstream's HTTP response besides the body's answer: the head as
// llm/http_client.cpp parses it (UpstreamParser, the client's head limit, no body limit: the
// caller bounds what it keeps), the body through a small window as the client reads it,
// Retry-After, and the error message of an error body (OpenAI, Anthropic and AWS shapes).
// UpstreamParser is checked against Beast's response_parser, which stores the same head in
// its own fields: the same status, framing, keep-alive, body, and the first value of every field.

#include "fuzz.hpp"
#include "llm/provider_util.hpp"
#include "llm/upstream_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <limits>
#include <string>

namespace {

namespace bhttp = boost::beast::http;

struct Parsed {
  bool head = false;  // the head was parsed
  bool done = false;
  bool failed = false;
  std::string body;
};

// Feeds `text` to a parser whose window is `window`/`window_size`, at most 64 KiB of body
// kept, as read_body() with its limit keeps it.
template <class Parser, class SetWindow, class Room>
Parsed feed(Parser& parser, std::string_view text, SetWindow set_window, Room room_left) {
  Parsed out;
  parser.header_limit(16 * 1024);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::beast::error_code ec;
  text.remove_prefix(parser.put(boost::asio::buffer(text.data(), text.size()), ec));
  if (ec || !parser.is_header_done()) {
    out.failed = ec && ec != bhttp::error::need_more;
    return out;
  }
  out.head = true;
  char window[4096];
  while (!parser.is_done() && out.body.size() < 64 * 1024) {
    set_window(window, sizeof window);
    const std::size_t used = parser.put(boost::asio::buffer(text.data(), text.size()), ec);
    text.remove_prefix(used);
    out.body.append(window, sizeof window - room_left());
    if (ec == bhttp::error::need_buffer) ec = {};  // the window is full: the next round empties it
    if (ec) out.failed = ec != bhttp::error::need_more;
    if (ec || used == 0) break;  // malformed, or the input is used up
  }
  out.done = parser.is_done();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  const std::string_view text = fuzz::text_of(data, size);

  if (auto ms = llm::parse_retry_after_ms(text)) FUZZ_CHECK(*ms >= 0 && *ms <= 86'400'000);
  (void)llm::upstream_error_message(text, "ValidationException");
  (void)llm::excerpt(text, 200);

  llm::UpstreamParser parser;
  const Parsed ours = feed(
      parser, text,
      [&](char* w, std::size_t n) {
        parser.body.data = w;
        parser.body.size = n;
      },
      [&] { return parser.body.size; });

  bhttp::response_parser<bhttp::buffer_body> beast;
  const Parsed reference = feed(
      beast, text,
      [&](char* w, std::size_t n) {
        beast.get().body().data = w;
        beast.get().body().size = n;
      },
      [&] { return beast.get().body().size; });

  FUZZ_CHECK(ours.head == reference.head);
  FUZZ_CHECK(ours.failed == reference.failed);
  if (!ours.head) return 0;
  FUZZ_CHECK(parser.status() == static_cast<int>(beast.get().result_int()));
  FUZZ_CHECK(ours.done == reference.done);
  FUZZ_CHECK(ours.body == reference.body);
  FUZZ_CHECK(parser.keep_alive() == beast.keep_alive());
  for (const auto& field : beast.get()) {
    const auto first = beast.get().find(field.name_string());
    const auto value = parser.header(std::string_view(field.name_string().data(), field.name_string().size()));
    FUZZ_CHECK(value && *value == first->value());
  }
  if (auto retry = parser.header("retry-after")) (void)llm::parse_retry_after_ms(*retry);
  (void)llm::upstream_error_message(ours.body, "");
  return 0;
}
