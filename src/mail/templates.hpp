#pragma once
// The e-mails chatd sends, each as plain text and HTML. Every interpolated value is
// HTML-escaped in the HTML part and left as is in the text part. Links are built by the
// caller with make_link from CHATD_PUBLIC_URL.

#include "mail/mailer.hpp"

#include <string>
#include <string_view>

namespace chatd::mail {

// "{public_url}{path}?{param}={token}" with `token` percent-encoded (everything but
// A-Z a-z 0-9 - . _ ~) and exactly one '/' between the URL and the path; '&' instead of '?'
// when `path` already has a query. Example: make_link("https://chat.example", "/verify",
// tok) -> "https://chat.example/verify?token=...".
std::string make_link(std::string_view public_url, std::string_view path, std::string_view token,
                      std::string_view param = "token");

// Everything but RFC 3986 unreserved characters as %XX (uppercase hex).
std::string percent_encode(std::string_view value);

// & < > " ' as character references, safe in element content and quoted attributes.
std::string html_escape(std::string_view value);

// Asks `username` to confirm the address `to` by opening `link`.
Message verification_email(std::string_view to, std::string_view username, std::string_view link);

// A single-use password reset link (valid for one hour).
Message password_reset_email(std::string_view to, std::string_view username, std::string_view link);

// `inviter_name` invites `to`; the invitation expires at `expires_at_rfc3339`.
Message invitation_email(std::string_view to, std::string_view inviter_name, std::string_view link,
                         std::string_view expires_at_rfc3339);

}  // namespace chatd::mail
