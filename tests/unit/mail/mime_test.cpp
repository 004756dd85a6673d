#include "mail/mime.hpp"

#include "fake_smtp.hpp"
#include "mime_reader.hpp"

#include <gtest/gtest.h>

namespace chatd::mail::test {
namespace {

std::vector<std::string> lines_of(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t end = s.find("\r\n", pos);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(MailQuotedPrintable, EncodesWhatMustBeEncoded) {
  EXPECT_EQ(quoted_printable("plain"), "plain");
  EXPECT_EQ(quoted_printable("a=b\n"), "a=3Db\r\n");
  EXPECT_EQ(quoted_printable("Grüße"), "Gr=C3=BC=C3=9Fe");
  EXPECT_EQ(quoted_printable("trailing \nand tab\t\n"), "trailing=20\r\nand tab=09\r\n");
  EXPECT_EQ(quoted_printable("crlf\r\nlf\nend"), "crlf\r\nlf\r\nend");
  EXPECT_EQ(quoted_printable("lone\rcr"), "lone=0Dcr");
  EXPECT_EQ(quoted_printable(""), "");
}

TEST(MailQuotedPrintable, LongLinesGetSoftBreaksAndRoundTrip) {
  std::string text = std::string(200, 'a') + " " + std::string(100, '=') + "\n" + std::string(76, 'b') + "\n" +
                     std::string(75, 'c') + " \nÜ" + std::string(300, 'x');
  std::string qp = quoted_printable(text);
  for (const auto& line : lines_of(qp)) EXPECT_LE(line.size(), 76u) << line;
  EXPECT_EQ(decode_qp(qp), text);
}

TEST(MailEncodeHeaderText, AsciiStaysReadable) {
  EXPECT_EQ(encode_header_text("Confirm your e-mail address", 7), "Confirm your e-mail address");
}

TEST(MailEncodeHeaderText, ControlCharactersCannotInjectHeaders) {
  EXPECT_EQ(encode_header_text("a\r\nBcc: x@y\t", 7), "a  Bcc: x@y ");
}

TEST(MailEncodeHeaderText, NonAsciiBecomesEncodedWordsThatNeverSplitACharacter) {
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "ü€😀";  // 2-, 3- and 4-byte sequences
  std::string encoded = encode_header_text(subject, 7);
  auto lines = lines_of(encoded);
  ASSERT_GT(lines.size(), 1u);
  EXPECT_LE(lines[0].size() + 9, 76u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view word = lines[i];
    if (i > 0) {
      ASSERT_EQ(word.front(), ' ');
      word.remove_prefix(1);
    }
    EXPECT_LE(word.size(), 75u);
    ASSERT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << word;
    EXPECT_TRUE(valid_utf8(base64_decode(word.substr(10, word.size() - 12)))) << "word " << i;
  }
  std::string unfolded;
  for (const auto& line : lines) unfolded += line;
  EXPECT_EQ(decode_words(unfolded), subject);
}

TEST(MailEncodeHeaderText, LooksLikeAnEncodedWordOrTooLongIsEncoded) {
  EXPECT_EQ(decode_words(encode_header_text("=?UTF-8?B?Zm9v?=", 7)), "=?UTF-8?B?Zm9v?=");
  EXPECT_NE(encode_header_text("=?x?=", 7), "=?x?=");
  std::string long_ascii(1200, 'a');
  std::string encoded = encode_header_text(long_ascii, 7);
  for (const auto& line : lines_of(encoded)) EXPECT_LE(line.size(), 77u);
  std::string unfolded;
  for (const auto& line : lines_of(encoded)) unfolded += line;
  EXPECT_EQ(decode_words(unfolded), long_ascii);
}

TEST(MailRfc5322Date, FormatsUtc) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(1751371200123), "Tue, 01 Jul 2025 12:00:00 +0000");
}

TEST(MailAddresses, AddressDomainAndPlainness) {
  EXPECT_EQ(address_of("chatd <chatd@example.org>"), "chatd@example.org");
  EXPECT_EQ(address_of("\"a, b\" <x@y.z>"), "x@y.z");
  EXPECT_EQ(address_of("chatd@localhost"), "chatd@localhost");
  EXPECT_EQ(domain_of("Alice@Example.COM"), "example.com");
  EXPECT_EQ(domain_of("nodomain"), "");
  EXPECT_TRUE(is_plain_address("a@b.c"));
  EXPECT_TRUE(is_plain_address("first.last+tag@sub.example.org"));
  EXPECT_FALSE(is_plain_address("a@b.c\r\nRCPT TO:<x@y>"));
  EXPECT_FALSE(is_plain_address("a b@c.d"));
  EXPECT_FALSE(is_plain_address("<a@b.c>"));
  EXPECT_FALSE(is_plain_address("a@"));
  EXPECT_FALSE(is_plain_address("@b.c"));
  EXPECT_FALSE(is_plain_address("ab.c"));
  EXPECT_FALSE(is_plain_address("ü@b.c"));
  EXPECT_FALSE(is_plain_address(std::string(251, 'a') + "@b.c"));
}

TEST(MailRender, TextOnlyMessage) {
  std::string out = render({"a@b.c", "Hi", "line\n.dot\n", ""}, {"chatd@example.org", 0, "abc123"});
  EXPECT_EQ(out,
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
            "From: chatd@example.org\r\n"
            "To: a@b.c\r\n"
            "Subject: Hi\r\n"
            "Message-ID: <abc123@example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            "Auto-Submitted: auto-generated\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "line\r\n"
            ".dot\r\n");
}

TEST(MailRender, MultipartKeepsBothBodiesExactly) {
  Message m{"a@b.c", "Grüße", "text\nno final newline", "<p>ü</p>\n"};
  std::string out = render(m, {"Chät Bot <bot@example.org>", 0, "b0undary"});
  ParsedMessage p = parse_message(out);
  EXPECT_EQ(decode_words(p.headers["from"]), "Chät Bot <bot@example.org>");
  EXPECT_EQ(decode_words(p.headers["subject"]), "Grüße");
  EXPECT_EQ(header_param(p.headers["content-type"], "boundary"), "=_chatd_b0undary");
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_EQ(decode_qp(p.parts[0].body), m.text);
  EXPECT_EQ(decode_qp(p.parts[1].body), m.html);
  EXPECT_TRUE(out.ends_with("--=_chatd_b0undary--\r\n"));
}

// Found by the mail_mime fuzz target: a display name that fit a header line alone, sent
// plain, made "From: name <address>" longer than 998 octets (SMTP servers may refuse or cut
// such a line). Long names become folded encoded-words, whatever their characters.
TEST(MailRender, ALongDisplayNameStaysWithinTheHeaderLineLimit) {
  const std::string address = "noreply@example.org";
  for (const std::string& name : {std::string(990, 'n'), std::string(985, 'n') + "\n\r\x0e x",
                                  "\"" + std::string(994, 'q') + "\"", std::string(1200, 'w')}) {
    const std::string out = render({"a@b.c", "Hi", "body", ""}, {name + " <" + address + ">", 0, "abc123"});
    for (const auto& line : lines_of(out)) EXPECT_LE(line.size(), 998u) << line.substr(0, 40);
    ParsedMessage p = parse_message(out);
    const std::string from = decode_words(p.headers["from"]);
    EXPECT_TRUE(from.ends_with(" <" + address + ">")) << from.substr(0, 60);
    std::string want = name;
    for (char& c : want)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    if (want.front() == '"') want = want.substr(1, want.size() - 2);
    EXPECT_EQ(from.substr(0, from.size() - address.size() - 3), want);
  }
  // A name that fits stays plain, quotes and all.
  const std::string fits = "\"Chat, Inc.\"";
  const std::string out = render({"a@b.c", "Hi", "body", ""}, {fits + " <" + address + ">", 0, "abc123"});
  EXPECT_NE(out.find("\r\nFrom: " + fits + " <" + address + ">\r\n"), std::string::npos);
}

// Found by the mail_mime fuzz target: a subject of bytes that are not UTF-8 (a long run of
// continuation bytes) went out as one encoded-word longer than a header line may be.
TEST(MailRender, TextThatIsNotUtf8IsStillCutIntoShortWords) {
  for (const std::string& subject : {"Su" + std::string(995, '\xb3'), std::string(300, '\x80') + "x",
                                     "\xf0\x9f\x98\x80" + std::string(200, '\xbf')}) {
    const std::string out = render({"a@b.c", subject, "body", ""}, {"chatd <noreply@example.com>", 0, "abc123"});
    for (const auto& line : lines_of(out)) {
      EXPECT_LE(line.size(), 998u) << line.substr(0, 40);
      if (line.starts_with("Subject: ") || line.starts_with(" =?")) {
        EXPECT_LE(line.size(), 76u) << line.substr(0, 40);
      }
    }
    ParsedMessage p = parse_message(out);
    EXPECT_EQ(decode_words(p.headers["subject"]), subject);  // every byte still there, in order
  }
  // UTF-8 is still never cut inside a character.
  std::string smileys;
  for (int i = 0; i < 40; ++i) smileys += "\xf0\x9f\x98\x80";
  const std::string out = render({"a@b.c", smileys, "body", ""}, {"chatd <noreply@example.com>", 0, "abc123"});
  ParsedMessage p = parse_message(out);
  std::string_view header = p.headers["subject"];
  std::size_t words = 0;
  for (std::size_t at = header.find("=?"); at != std::string_view::npos; at = header.find("=?", at + 2), ++words) {
    std::string word(header.substr(at, header.find("?=", at + 10) + 2 - at));
    EXPECT_EQ(decode_words(word).size() % 4, 0u) << word;
  }
  EXPECT_GT(words, 1u);
}

}  // namespace
}  // namespace chatd::mail::test
