#include "mail/templates.hpp"

#include <gtest/gtest.h>

namespace chatd::mail {
namespace {

TEST(MailMakeLink, PercentEncodesTheTokenAsAQueryParameter) {
  EXPECT_EQ(make_link("https://chat.example", "/verify-email", "abc-DEF_1.2~3"),
            "https://chat.example/verify-email?token=abc-DEF_1.2~3");
  EXPECT_EQ(make_link("https://chat.example/", "verify-email", "a+b/c=d&e f"),
            "https://chat.example/verify-email?token=a%2Bb%2Fc%3Dd%26e%20f");
  EXPECT_EQ(make_link("https://chat.example/app", "/reset?x=1", "t\xc3\xbc"),
            "https://chat.example/app/reset?x=1&token=t%C3%BC");
  EXPECT_EQ(make_link("http://127.0.0.1:8080", "/register", "C0DE", "invite_code"),
            "http://127.0.0.1:8080/register?invite_code=C0DE");
}

TEST(MailHtmlEscape, EscapesMarkupCharacters) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain ü"), "plain ü");
}

TEST(MailTemplates, VerificationEscapesHtmlButNotText) {
  std::string name = "<script>alert('x')</script>";
  std::string link = make_link("https://chat.example", "/verify-email", "tok&en");
  Message m = verification_email("bob@example.com", name, link);
  EXPECT_EQ(m.to, "bob@example.com");
  EXPECT_FALSE(m.subject.empty());
  EXPECT_NE(m.text.find("Hello " + name + ","), std::string::npos);
  EXPECT_NE(m.text.find(link), std::string::npos);
  EXPECT_EQ(m.html.find("<script>"), std::string::npos);
  EXPECT_NE(m.html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(m.html.find("href=\"https://chat.example/verify-email?token=tok%26en\""), std::string::npos);
}

TEST(MailTemplates, PasswordResetCarriesTheLinkAndExpiry) {
  std::string link = make_link("https://chat.example", "/reset-password", "r3set");
  Message m = password_reset_email("bob@example.com", "bob", link);
  EXPECT_NE(m.text.find(link), std::string::npos);
  EXPECT_NE(m.text.find("one hour"), std::string::npos);
  EXPECT_NE(m.html.find(link), std::string::npos);
}

TEST(MailTemplates, InvitationEscapesTheInviterAndLink) {
  std::string link = "https://chat.example/register?a=1&invite_code=xyz";
  Message m = invitation_email("new@example.com", "eve\"<b>", link, "2026-01-01T00:00:00Z");
  EXPECT_NE(m.text.find("eve\"<b> invited you"), std::string::npos);
  EXPECT_NE(m.text.find("2026-01-01T00:00:00Z"), std::string::npos);
  EXPECT_NE(m.html.find("eve&quot;&lt;b&gt; invited you"), std::string::npos);
  EXPECT_EQ(m.html.find("<b>"), std::string::npos);
  EXPECT_NE(m.html.find("href=\"https://chat.example/register?a=1&amp;invite_code=xyz\""), std::string::npos);
  EXPECT_EQ(m.subject, "eve\"<b> invited you to chatd");
}

}  // namespace
}  // namespace chatd::mail
