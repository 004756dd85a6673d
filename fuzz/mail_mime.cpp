// mail/mime: rendering a message whose subject, bodies and recipient carry user-supplied
// text (usernames, addresses). The rendering has CRLF line ends only and no line over 998
// octets, the subject and the bodies read back as they were given (with the test suite's
// independent MIME reader), and an address that passes is_plain_address cannot add a header.

#include "fuzz.hpp"
#include "mail/mime.hpp"
#include "unit/mail/mime_reader.hpp"

namespace {

// Splits the input at NUL bytes into up to `n` fields.
std::vector<std::string> fields(std::string_view text, std::size_t n) {
  std::vector<std::string> out;
  while (out.size() + 1 < n) {
    const auto nul = text.find('\0');
    if (nul == std::string_view::npos) break;
    out.emplace_back(text.substr(0, nul));
    text.remove_prefix(nul + 1);
  }
  out.emplace_back(text);
  out.resize(n);
  return out;
}

bool valid_from(std::string_view from) {
  std::string_view address = from;
  if (auto lt = from.find('<'); lt != std::string_view::npos) {
    if (from.back() != '>' || from.find('>') != from.size() - 1) return false;
    address = from.substr(lt + 1, from.size() - lt - 2);
  }
  return chatd::mail::is_plain_address(address);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lf_only(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  auto f = fields(fuzz::text_of(data, size), 5);
  mail::Message m;
  m.to = mail::is_plain_address(f[0]) ? f[0] : "ann@example.com";
  m.subject = f[1];
  m.text = f[2];
  m.html = f[3];
  // CHATD_MAIL_FROM as the settings accept it (config/values.cpp: "local@domain" or
  // "Name <local@domain>" with no space or control character in the address), here with a
  // plain address.
  const std::string from = valid_from(f[4]) ? f[4] : "chatd <noreply@example.com>";
  if (mail::is_plain_address(f[0])) {
    for (char c : f[0]) FUZZ_CHECK(c > ' ' && c < 0x7f);
  }
  (void)mail::domain_of(mail::address_of(from));

  mail::RenderOptions options;
  options.from = from;
  options.now_ms = 1'750'000'000'000;
  options.unique = "abc123";
  const std::string rendered = mail::render(m, options);
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < rendered.size(); ++i) {
    if (rendered[i] == '\n') FUZZ_CHECK(i > 0 && rendered[i - 1] == '\r');
    if (rendered[i] == '\r') FUZZ_CHECK(i + 1 < rendered.size() && rendered[i + 1] == '\n');
    if (rendered[i] == '\n') {
      FUZZ_CHECK(i - line_start <= 999);
      line_start = i + 1;
    }
  }
  const auto parsed = mail::test::parse_message(rendered);
  FUZZ_CHECK(parsed.headers.count("to") == 1);
  FUZZ_CHECK(parsed.headers.count("subject") == 1);

  // Quoted-printable and encoded-words read back as written.
  FUZZ_CHECK(mail::test::decode_qp(mail::quoted_printable(m.text)) == lf_only(m.text));
  std::string subject = m.subject;
  for (char& c : subject) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  // White space around a header value is not part of it (the reader trims it too).
  const std::string_view want = trim(subject);
  const std::string& sent = parsed.headers.at("subject");  // unfolded by the reader
  FUZZ_CHECK(trim(mail::test::decode_words(sent)) == want || sent == want);
  return 0;
}
