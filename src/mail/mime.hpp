#pragma once
// Rendering a Message as an RFC 5322 / MIME document for SMTP DATA: CRLF line endings, no
// line longer than 998 octets, non-ASCII header text as RFC 2047 encoded-words, bodies as
// quoted-printable UTF-8. Dot-stuffing is not done here: libcurl does it while uploading.

#include "mail/mailer.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace chatd::mail {

// `text` (UTF-8, LF or CRLF line endings) as quoted-printable (RFC 2045 section 6.7): CRLF line
// endings, at most 76 characters per line, trailing white space encoded. Ends with CRLF
// exactly when `text` ends with a line break.
std::string quoted_printable(std::string_view text);

// The value of an unstructured header (such as Subject) whose name is `name_length` long.
// Control characters become spaces (no header injection). Printable ASCII that fits on one
// line and holds no "=?" is returned as is; anything else becomes RFC 2047 "=?UTF-8?B?...?="
// words of at most 75 characters, folded with CRLF SP, never splitting a UTF-8 sequence.
std::string encode_header_text(std::string_view value, std::size_t name_length);

// "Tue, 01 Jul 2025 12:00:00 +0000" (RFC 5322 section 3.3), in UTC.
std::string rfc5322_date(std::int64_t epoch_ms);

// The address of a mailbox: "local@domain" for "Name <local@domain>" or "local@domain".
std::string_view address_of(std::string_view mailbox);

// The part after the last '@', lowercased; empty when there is none. Logs name recipients by
// domain only.
std::string domain_of(std::string_view address);

// Whether `address` can go into the SMTP envelope and the To header as is: 3-254 printable
// ASCII characters with an '@' that is neither first nor last, and no space, control
// character or any of <>()[],;:"\ (which would change the header's meaning).
bool is_plain_address(std::string_view address);

struct RenderOptions {
  std::string_view from;    // "Name <local@domain>" or "local@domain" (CHATD_MAIL_FROM)
  std::int64_t now_ms = 0;  // for the Date header
  std::string_view unique;  // random token for Message-ID and the MIME boundary: [0-9a-z]+
};

// The complete message: Date, From, To, Subject, Message-ID, MIME-Version, Auto-Submitted,
// then multipart/alternative (text/plain and text/html) or, when `m.html` is empty, a single
// text/plain body. `m.to` must satisfy is_plain_address.
std::string render(const Message& m, const RenderOptions& options);

}  // namespace chatd::mail
