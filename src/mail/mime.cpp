#include "mail/mime.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace chatd::mail {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr std::size_t kQpLine = 76;        // RFC 2045: encoded lines at most 76 characters
constexpr std::size_t kFoldedLine = 76;    // header lines we fold stay within this
constexpr std::size_t kHeaderLine = 998;   // RFC 5322: hard limit without CRLF
constexpr std::size_t kWordBytes = 45;     // 45 bytes -> 60 base64 chars -> a 72-char encoded-word
constexpr std::size_t kWordOverhead = 12;  // "=?UTF-8?B?" and "?="

bool is_printable_ascii(unsigned char c) { return c >= 0x20 && c < 0x7f; }

void append_base64(std::string& out, std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

// Encodes one line (no line break inside) with soft line breaks.
void append_qp_line(std::string& out, std::string_view line) {
  std::size_t column = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    bool last = i + 1 == line.size();
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
    std::size_t width = literal ? 1 : 3;
    // Keep room for the '=' of a soft break unless this is the line's last token.
    std::size_t limit = last ? kQpLine : kQpLine - 1;
    if (column + width > limit) {
      out += "=\r\n";
      column = 0;
    }
    if (literal) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
    column += width;
  }
}

// Length of the longest prefix of `s` no longer than `max` that does not end inside a UTF-8
// sequence (continuation bytes are 10xxxxxx). A sequence is at most 4 bytes long, so its start
// is at most 3 bytes back from `max`; a longer run of continuation bytes is not UTF-8 and is
// cut anywhere (before, the run was kept whole: an encoded-word as long as the run).
std::size_t utf8_cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s.size();
  auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80; };
  for (std::size_t cut = max; cut > 0 && max - cut < 4; --cut)
    if (!continuation(cut)) return cut;
  if (max >= 4) return max;
  // `max` is shorter than the first sequence: take that sequence whole.
  std::size_t cut = 1;
  while (cut < s.size() && cut < 4 && continuation(cut)) ++cut;
  return cut;
}

std::string display_name_of(std::string_view mailbox) {
  auto lt = mailbox.find('<');
  if (lt == std::string_view::npos) return {};
  std::string_view name = mailbox.substr(0, lt);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  return std::string(name);
}

// "Name <addr>", the display name as encoded-words when it is not printable ASCII or when the
// line "From: Name <addr>" would not fit a header line (the quotes of a quoted name are
// dropped first: an encoded-word must not stand inside a quoted string).
std::string from_header(std::string_view from) {
  std::string_view address = address_of(from);
  std::string name = display_name_of(from);
  if (name.empty()) return std::string(address);
  const std::size_t tail = address.size() + 3;  // " <" address ">", after the name
  bool plain = std::string_view("From: ").size() + name.size() + tail <= kHeaderLine;
  for (char c : name) plain = plain && is_printable_ascii(static_cast<unsigned char>(c));
  if (!plain) {
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    // Counted as part of the header's name: what stays plain text still fits with the address.
    name = encode_header_text(name, 4 + tail);
  }
  return name + " <" + std::string(address) + ">";
}

void append_part(std::string& out, std::string_view boundary, std::string_view type, std::string_view body) {
  out += "--";
  out += boundary;
  out += "\r\nContent-Type: ";
  out += type;
  out += "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += quoted_printable(body);
  out += "\r\n";  // belongs to the next delimiter (RFC 2046), so a final line break survives
}

}  // namespace

std::string quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 8);
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      append_qp_line(out, text.substr(start));
      return out;
    }
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    append_qp_line(out, line);
    out += "\r\n";
    start = nl + 1;
  }
}

std::string encode_header_text(std::string_view value, std::size_t name_length) {
  std::string clean(value);
  bool ascii = true;
  for (char& c : clean) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      c = ' ';
    else if (u >= 0x80)
      ascii = false;
  }
  if (ascii && clean.find("=?") == std::string::npos && name_length + 2 + clean.size() <= kHeaderLine) return clean;

  std::string out;
  std::string_view rest = clean;
  // The first word shares its line with "Name: ", later ones follow a folding space; both
  // stay within 76 characters where the name allows it.
  std::size_t used = name_length + 2 + kWordOverhead;
  std::size_t first_room = kFoldedLine > used + 4 ? kFoldedLine - used : 4;
  std::size_t max_bytes = std::min(kWordBytes, first_room / 4 * 3);
  while (!rest.empty()) {
    std::size_t n = utf8_cut(rest, max_bytes);
    max_bytes = kWordBytes;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?";
    append_base64(out, rest.substr(0, n));
    out += "?=";
    rest.remove_prefix(n);
  }
  return out;
}

std::string rfc5322_date(std::int64_t epoch_ms) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string_view address_of(std::string_view mailbox) {
  auto lt = mailbox.rfind('<');
  if (lt != std::string_view::npos) {
    auto gt = mailbox.find('>', lt);
    if (gt != std::string_view::npos) return mailbox.substr(lt + 1, gt - lt - 1);
  }
  while (!mailbox.empty() && mailbox.front() == ' ') mailbox.remove_prefix(1);
  while (!mailbox.empty() && mailbox.back() == ' ') mailbox.remove_suffix(1);
  return mailbox;
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string domain(address.substr(at + 1));
  for (char& c : domain) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return domain;
}

bool is_plain_address(std::string_view address) {
  if (address.size() < 3 || address.size() > 254) return false;
  for (char c : address) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::string_view("<>()[],;:\"\\").find(c) != std::string_view::npos) return false;
  }
  auto at = address.rfind('@');
  return at != std::string_view::npos && at != 0 && at + 1 != address.size();
}

std::string render(const Message& m, const RenderOptions& options) {
  std::string domain = domain_of(address_of(options.from));
  if (domain.empty()) domain = "localhost";
  std::string out;
  out.reserve(1024 + (m.text.size() + m.html.size()) * 11 / 10);
  out += "Date: " + rfc5322_date(options.now_ms) + "\r\n";
  out += "From: " + from_header(options.from) + "\r\n";
  out += "To: " + m.to + "\r\n";
  out += "Subject: " + encode_header_text(m.subject, 7) + "\r\n";
  out += "Message-ID: <" + std::string(options.unique) + "@" + domain + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  // RFC 3834: tells autoresponders (vacation replies) not to answer.
  out += "Auto-Submitted: auto-generated\r\n";
  if (m.html.empty()) {
    out += "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
    out += quoted_printable(m.text);
    if (!out.ends_with("\r\n")) out += "\r\n";
    return out;
  }
  // "=_" cannot occur in quoted-printable output ('=' is always followed by hex or CRLF), so
  // the boundary can never appear inside a part.
  std::string boundary = "=_chatd_" + std::string(options.unique);
  out += "Content-Type: multipart/alternative;\r\n boundary=\"" + boundary + "\"\r\n\r\n";
  append_part(out, boundary, "text/plain", m.text);
  append_part(out, boundary, "text/html", m.html);
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace chatd::mail
