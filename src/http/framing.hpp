#pragma once
// The transport's checks of a request head before it reads a body: what the head looked
// like on the wire (Beast unfolds obsolete folded lines without saying so) and what the
// parsed fields say about the body's framing. Plain functions, so that they can be tested
// and fuzzed without a socket.

#include "core/result.hpp"
#include "http/message.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace chatd::http {

// The length of the head at the start of `bytes`, up to and including the blank line that
// ends it ("\r\n\r\n"); 0 while that line has not arrived.
std::size_t head_length(std::string_view bytes);

// Whether a head as received (request line, header lines) holds an obsolete folded line: a
// header line that starts with a space or a tab, continuing the line before it (RFC 9112
// section 5.2). A proxy in front may read such a field differently from Beast, which joins
// the lines, so chatd refuses the request (400) instead of choosing a reading.
bool has_obsolete_line_folding(std::string_view head);

// Whether `pending`, the bytes of a chunked body that the parser has not taken yet, start a
// chunk-size line that no further bytes can make valid: not a hex digit first, or after the
// digits anything but white space, ';' (an extension) or CR. (The parser keeps the CRLF that
// ends a chunk's data with the next size line; it is skipped. Extensions and trailers are
// left to the parser.) Beast judges a size line only once its CRLF has arrived, so a client
// that sends "zz", or ends its lines with a bare LF, would otherwise get no answer at all.
bool starts_malformed_chunk_size(std::string_view pending);

// Why a parsed head must be refused, or nullopt when its body can be read. In order: an
// ambiguous framing (Content-Length and Transfer-Encoding together, repeated or list-valued
// Content-Length, a transfer coding other than chunked, chunked in HTTP/1.0, a missing or
// repeated Host: 400 bad_request), a repeated Content-Type, Authorization or
// Content-Encoding (400 bad_request), a compressed body (415 unsupported_media_type) and a
// Content-Length above `max_body` (413). `content_length` is the parser's reading of it.
std::optional<Error> head_problem(const Request& head, std::optional<std::uint64_t> content_length,
                                  std::uint64_t max_body);

}  // namespace chatd::http
