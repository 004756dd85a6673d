#pragma once
// Reading back what the mailer rendered, written independently of src/mail/mime.cpp so
// that the tests check the wire format rather than the encoder against itself.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::mail::test {

struct Part {
  std::map<std::string, std::string> headers;  // lowercase names, unfolded values
  std::string body;                            // as transmitted (still transfer-encoded)
};

struct ParsedMessage {
  std::map<std::string, std::string> headers;  // lowercase names, unfolded values
  std::string body;
  std::vector<Part> parts;  // multipart children, empty for a single-part message
};

// Splits headers from body (at the first empty line) and a multipart body into its parts.
ParsedMessage parse_message(std::string_view data);

// Quoted-printable to bytes; CRLF line endings become LF.
std::string decode_qp(std::string_view text);

// An unstructured header value with RFC 2047 encoded-words (B and Q, UTF-8) decoded; white
// space between adjacent encoded-words is dropped, as RFC 2047 requires.
std::string decode_words(std::string_view value);

// The value of a `name="value"` or `name=value` parameter in a header such as Content-Type.
std::string header_param(std::string_view header, std::string_view name);

}  // namespace chatd::mail::test
