#include "http/framing.hpp"

#include <boost/beast/core/string.hpp>

#include <string>

namespace chatd::http {

namespace beast = boost::beast;

namespace {

// RFC 9112 §6.3: a request with both Content-Length and Transfer-Encoding, a repeated or
// list-valued Content-Length, or a Transfer-Encoding that does not end in chunked is a
// smuggling vector: refuse it and close the connection.
const char* framing_problem(const Request& head) {
  int content_lengths = 0;
  int hosts = 0;
  bool transfer_encoding = false;
  for (const auto& f : head) {
    if (f.name() == bhttp::field::content_length) {
      ++content_lengths;
      if (f.value().find(',') != std::string_view::npos) return "Content-Length holds a list";
    } else if (f.name() == bhttp::field::transfer_encoding) {
      if (transfer_encoding) return "Transfer-Encoding is repeated";
      transfer_encoding = true;
      // chatd decodes no transfer coding but chunked, so anything before it (gzip, chunked)
      // would be read as plain data. (Beast has trimmed the value of surrounding white space.)
      if (!beast::iequals(f.value(), "chunked")) return "Transfer-Encoding other than chunked";
    } else if (f.name() == bhttp::field::host) {
      ++hosts;
    }
  }
  if (content_lengths > 1) return "Content-Length is repeated";
  if (content_lengths > 0 && transfer_encoding) return "Content-Length and Transfer-Encoding together";
  if (transfer_encoding && head.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  // RFC 9112 section 3.2: an HTTP/1.1 request carries exactly one Host (HTTP/1.0 may omit it).
  if (hosts > 1) return "Host is repeated";
  if (hosts == 0 && head.version() >= 11) return "Host is missing";
  return nullptr;
}

// Fields chatd reads one value of: a second copy could be read differently by a proxy in
// front, so the request is refused rather than one copy chosen.
const char* repeated_field(const Request& head) {
  struct Single {
    bhttp::field name;
    const char* why;
  };
  static constexpr Single kSingle[] = {{bhttp::field::content_type, "Content-Type is repeated"},
                                       {bhttp::field::authorization, "Authorization is repeated"},
                                       {bhttp::field::content_encoding, "Content-Encoding is repeated"}};
  for (const auto& single : kSingle) {
    if (head.count(single.name) > 1) return single.why;
  }
  return nullptr;
}

}  // namespace

std::size_t head_length(std::string_view bytes) {
  auto end = bytes.find("\r\n\r\n");
  return end == std::string_view::npos ? 0 : end + 4;
}

bool has_obsolete_line_folding(std::string_view head) {
  // Every line after the request line; the blank line that ends the head starts with CR.
  for (auto eol = head.find("\r\n"); eol != std::string_view::npos; eol = head.find("\r\n", eol + 2)) {
    if (eol + 2 < head.size() && (head[eol + 2] == ' ' || head[eol + 2] == '\t')) return true;
  }
  return false;
}

bool starts_malformed_chunk_size(std::string_view pending) {
  if (pending.starts_with("\r\n")) pending.remove_prefix(2);
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  std::size_t digits = 0;
  while (digits < pending.size() && hex(pending[digits])) ++digits;
  if (digits == pending.size()) return false;  // nothing yet, or digits so far
  if (digits == 0) return pending != "\r";     // a lone CR may be the start of the CRLF
  const char next = pending[digits];
  return next != ';' && next != ' ' && next != '\t' && next != '\r';
}

std::optional<Error> head_problem(const Request& head, std::optional<std::uint64_t> content_length,
                                  std::uint64_t max_body) {
  if (const char* why = framing_problem(head)) {
    return fail(Code::invalid_argument, std::string("ambiguous request framing: ") + why, "bad_request");
  }
  if (const char* why = repeated_field(head)) return fail(Code::invalid_argument, why, "bad_request");
  if (auto coding = head.find(bhttp::field::content_encoding);
      coding != head.end() && !beast::iequals(coding->value(), "identity")) {
    // A compressed body would be read as JSON. RFC 9110 section 8.4.1: 415.
    return fail(Code::unsupported, "a request body must not be compressed (Content-Encoding)",
                "unsupported_media_type");
  }
  if (content_length && *content_length > max_body) {
    return fail(Code::too_large, "the request body exceeds " + std::to_string(max_body) + " bytes");
  }
  return std::nullopt;
}

}  // namespace chatd::http
