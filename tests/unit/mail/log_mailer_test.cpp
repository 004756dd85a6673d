#include "mail/log_mailer.hpp"

#include "config/config.hpp"
#include "mail/smtp_mailer.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace chatd::mail::test {
namespace {

TEST(LogMailer, WritesTheMessageToTheLog) {
  LogFile file;
  Logger log(LogLevel::info, LogFormat::json, file.fd());
  LogMailer mailer(log);
  EXPECT_TRUE(
      mailer.send({"bob@example.com", "Confirm", "open https://chat.example/verify-email?token=abc\n", "<p>html</p>"}));
  log.flush();
  auto lines = file.events("mail.logged");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["to"], "bob@example.com");
  EXPECT_EQ(lines[0]["subject"], "Confirm");
  EXPECT_EQ(lines[0]["text"], "open https://chat.example/verify-email?token=abc\n");
}

TEST(MakeMailer, LogMailerWithoutSmtpUrl) {
  LogFile file;
  Logger log(LogLevel::info, LogFormat::json, file.fd());
  config::Config c;
  auto mailer = make_mailer(c, log);
  EXPECT_NE(dynamic_cast<LogMailer*>(mailer.get()), nullptr);
  log.flush();
  EXPECT_EQ(file.events("mail.log_only").size(), 1u);
}

TEST(MakeMailer, SmtpMailerWithSmtpUrl) {
  LogFile file;
  Logger log(LogLevel::info, LogFormat::json, file.fd());
  config::Config c;
  c.smtp_url = "smtp://user:SECRET-PW@127.0.0.1:2525";
  c.mail_from = "chatd <chatd@example.org>";
  {
    auto mailer = make_mailer(c, log);
    EXPECT_NE(dynamic_cast<SmtpMailer*>(mailer.get()), nullptr);
  }
  log.flush();
  auto lines = file.events("mail.smtp");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["host"], "127.0.0.1");
  EXPECT_EQ(lines[0]["port"], "2525");
  EXPECT_EQ(lines[0]["tls"], "starttls_required");
  EXPECT_EQ(lines[0]["auth"], true);
  EXPECT_EQ(file.text().find("SECRET-PW"), std::string::npos);
}

}  // namespace
}  // namespace chatd::mail::test
