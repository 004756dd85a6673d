#include "mail/templates.hpp"

namespace chatd::mail {
namespace {

std::string str(std::string_view s) { return std::string(s); }

// The HTML frame around a body made of already escaped paragraphs.
std::string html_page(std::string_view title, std::string_view body) {
  std::string out;
  out += "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>";
  out += html_escape(title);
  out += "</title>\n</head>\n<body style=\"font-family: sans-serif; line-height: 1.5; color: #222;\">\n";
  out += body;
  out += "</body>\n</html>\n";
  return out;
}

// A button-like link followed by the link written out, for clients that hide buttons.
std::string html_link(std::string_view label, std::string_view link) {
  std::string href = html_escape(link);
  return "<p><a href=\"" + href + "\" style=\"display: inline-block; padding: 8px 16px; background: #2563eb; " +
         "color: #fff; text-decoration: none; border-radius: 4px;\">" + html_escape(label) + "</a></p>\n" +
         "<p>If the button does not work, copy this link into your browser:<br>\n<a href=\"" + href + "\">" + href +
         "</a></p>\n";
}

}  // namespace

std::string percent_encode(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
                      u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  return out;
}

std::string make_link(std::string_view public_url, std::string_view path, std::string_view token,
                      std::string_view param) {
  while (!public_url.empty() && public_url.back() == '/') public_url.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string out(public_url);
  out += '/';
  out += path;
  out += path.find('?') == std::string_view::npos ? '?' : '&';
  out += percent_encode(param);
  out += '=';
  out += percent_encode(token);
  return out;
}

std::string html_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

Message verification_email(std::string_view to, std::string_view username, std::string_view link) {
  Message m;
  m.to = str(to);
  m.subject = "Confirm your e-mail address for chatd";
  m.text = "Hello " + str(username) + ",\n\n" +
           "please confirm your e-mail address for your chatd account by opening this link:\n\n" + str(link) + "\n\n" +
           "The link works once. If you did not create a chatd account, ignore this e-mail.\n";
  m.html = html_page(m.subject, "<p>Hello " + html_escape(username) + ",</p>\n" +
                                    "<p>please confirm your e-mail address for your chatd account.</p>\n" +
                                    html_link("Confirm e-mail address", link) +
                                    "<p>The link works once. If you did not create a chatd account, ignore this "
                                    "e-mail.</p>\n");
  return m;
}

Message password_reset_email(std::string_view to, std::string_view username, std::string_view link) {
  Message m;
  m.to = str(to);
  m.subject = "Reset your chatd password";
  m.text = "Hello " + str(username) + ",\n\n" + "someone asked to reset the password of your chatd account. " +
           "To choose a new password, open this link:\n\n" + str(link) + "\n\n" +
           "The link works once and expires in one hour. If you did not ask for this, ignore this e-mail: " +
           "your password stays unchanged.\n";
  m.html = html_page(m.subject, "<p>Hello " + html_escape(username) + ",</p>\n" +
                                    "<p>someone asked to reset the password of your chatd account.</p>\n" +
                                    html_link("Choose a new password", link) +
                                    "<p>The link works once and expires in one hour. If you did not ask for "
                                    "this, ignore this e-mail: your password stays unchanged.</p>\n");
  return m;
}

Message invitation_email(std::string_view to, std::string_view inviter_name, std::string_view link,
                         std::string_view expires_at_rfc3339) {
  Message m;
  m.to = str(to);
  m.subject = str(inviter_name) + " invited you to chatd";
  m.text = str(inviter_name) + " invited you to join chatd. Create your account with this link:\n\n" + str(link) +
           "\n\n" + "The invitation expires at " + str(expires_at_rfc3339) + ".\n";
  m.html = html_page(m.subject, "<p>" + html_escape(inviter_name) + " invited you to join chatd.</p>\n" +
                                    html_link("Create your account", link) + "<p>The invitation expires at " +
                                    html_escape(expires_at_rfc3339) + ".</p>\n");
  return m;
}

}  // namespace chatd::mail
