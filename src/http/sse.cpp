#include "http/sse.hpp"

namespace chatd::http {
namespace {

// Splits at CRLF, CR or LF, calling fn(line) for each line. N line ends give N + 1 lines (a trailing
// line end gives a final empty line) so that "a\n" round-trips through a reader as "a\n".
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      fn(text.substr(start));
      return;
    }
    fn(text.substr(start, end - start));
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;
  }
}

}  // namespace

std::string sse_format(std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(event.size() + data.size() + 16);
  event = event.substr(0, event.find_first_of("\r\n"));
  if (!event.empty()) {
    out.append("event: ").append(event).push_back('\n');
  }
  for_each_line(data, [&](std::string_view line) {
    if (line.empty()) {
      out.append("data:\n");
    } else {
      out.append("data: ").append(line).push_back('\n');
    }
  });
  out.push_back('\n');
  return out;
}

std::string sse_comment(std::string_view text) {
  std::string out;
  for_each_line(text, [&](std::string_view line) {
    if (line.empty()) {
      out.append(":\n");
    } else {
      out.append(": ").append(line).push_back('\n');
    }
  });
  out.push_back('\n');
  return out;
}

}  // namespace chatd::http
