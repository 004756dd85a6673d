#include "mail/smtp_mailer.hpp"

#include "fake_smtp.hpp"
#include "mime_reader.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <stdexcept>

namespace chatd::mail::test {
namespace {

using namespace std::chrono_literals;

SmtpOptions options_for(const FakeSmtp& server, std::string_view userinfo = {}) {
  SmtpOptions o;
  o.url = server.url(userinfo);
  o.from = "chatd <chatd@example.org>";
  o.first_backoff = 5ms;
  o.max_attempts = 4;
  o.timeout = 10s;
  o.ca_file = server.ca_file();
  return o;
}

Message simple(std::string subject, std::string to = "alice@example.com") {
  return {std::move(to), std::move(subject), "plain body\n", "<p>html body</p>\n"};
}

// Every '\n' is preceded by '\r' and every '\r' followed by '\n'.
bool crlf_only(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
  }
  return true;
}

std::size_t longest_line(std::string_view s) {
  std::size_t longest = 0;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t end = s.find("\r\n", pos);
    if (end == std::string_view::npos) end = s.size();
    longest = std::max(longest, end - pos);
    pos = end + 2;
  }
  return longest;
}

TEST(SmtpMailer, DeliversAWellFormedMultipartMessage) {
  FakeSmtp server;
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  std::string subject = "Grüße aus Köln — bitte bestätigen ✓ — ein ziemlich langer Betreff, der gefaltet werden muss";
  std::string long_line(2000, 'x');
  std::string text = "Hello Ünïcode,\n.hidden line starting with a dot\n.\n..two dots\ntrailing space \n" + long_line +
                     "\nlast line\n";
  std::string html = "<p>Hello &amp; welcome</p>\n<p>" + long_line + "</p>\n.dot in html\n";
  {
    SmtpMailer mailer(options_for(server), log);
    ASSERT_TRUE(mailer.send({"alice@example.com", subject, text, html}));
    ASSERT_TRUE(server.wait_delivered(1));
    ASSERT_TRUE(eventually([&] { return mailer.sent() == 1; }));
    EXPECT_EQ(mailer.failed(), 0u);
    EXPECT_EQ(mailer.failed_attempts(), 0u);
  }
  auto delivered = server.delivered();
  ASSERT_EQ(delivered.size(), 1u);
  const Transaction& t = delivered[0];

  // Envelope: the bare addresses, not the display name.
  EXPECT_EQ(t.mail_from, "<chatd@example.org>");
  ASSERT_EQ(t.rcpt_to.size(), 1u);
  EXPECT_EQ(t.rcpt_to[0], "<alice@example.com>");
  EXPECT_FALSE(t.tls);  // the fake offers no STARTTLS and the URL has no credentials
  EXPECT_TRUE(t.auth_user.empty());

  // Wire format: CRLF only, short lines, and libcurl dot-stuffed every line starting with '.'.
  EXPECT_TRUE(crlf_only(t.wire_data));
  EXPECT_LE(longest_line(t.wire_data), 78u);
  EXPECT_NE(t.wire_data.find("\r\n..hidden line"), std::string::npos);
  EXPECT_NE(t.wire_data.find("\r\n..\r\n"), std::string::npos) << "a lone '.' must be stuffed";
  EXPECT_NE(t.wire_data.find("\r\n...two dots"), std::string::npos);

  ParsedMessage m = parse_message(t.data);
  const std::regex date(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000)");
  EXPECT_TRUE(std::regex_match(m.headers["date"], date)) << m.headers["date"];
  EXPECT_EQ(m.headers["from"], "chatd <chatd@example.org>");
  EXPECT_EQ(m.headers["to"], "alice@example.com");
  EXPECT_EQ(decode_words(m.headers["subject"]), subject);
  EXPECT_NE(m.headers["subject"].find("=?UTF-8?B?"), std::string::npos);
  EXPECT_TRUE(std::regex_match(m.headers["message-id"], std::regex(R"(<[0-9a-f]{32}@example\.org>)")))
      << m.headers["message-id"];
  EXPECT_EQ(m.headers["mime-version"], "1.0");
  EXPECT_EQ(m.headers["content-type"].rfind("multipart/alternative;", 0), 0u) << m.headers["content-type"];

  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[0].headers["content-type"], "text/plain; charset=UTF-8");
  EXPECT_EQ(m.parts[0].headers["content-transfer-encoding"], "quoted-printable");
  EXPECT_EQ(decode_qp(m.parts[0].body), text);
  EXPECT_EQ(m.parts[1].headers["content-type"], "text/html; charset=UTF-8");
  EXPECT_EQ(m.parts[1].headers["content-transfer-encoding"], "quoted-printable");
  EXPECT_EQ(decode_qp(m.parts[1].body), html);
}

TEST(SmtpMailer, CredentialsAreSentWithAuthAfterStartTls) {
  FakeSmtp server({.starttls = true, .user = "mailer", .password = "s3cret p@ss:/"});
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  SmtpMailer mailer(options_for(server, "mailer:s3cret%20p%40ss%3A%2F"), log);
  ASSERT_TRUE(mailer.send(simple("hello")));
  ASSERT_TRUE(server.wait_delivered(1));
  auto t = server.delivered()[0];
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.auth_user, "mailer");
  EXPECT_EQ(t.auth_password, "s3cret p@ss:/");

  auto commands = server.commands();
  auto starttls = std::find(commands.begin(), commands.end(), "STARTTLS");
  auto auth =
      std::find_if(commands.begin(), commands.end(), [](const std::string& c) { return c.rfind("AUTH ", 0) == 0; });
  ASSERT_NE(starttls, commands.end());
  ASSERT_NE(auth, commands.end());
  EXPECT_LT(starttls, auth);
  EXPECT_TRUE(eventually([&] { return mailer.sent() == 1; }));
}

TEST(SmtpMailer, ImplicitTlsWithSmtps) {
  FakeSmtp server({.implicit_tls = true, .user = "mailer", .password = "pw"});
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  SmtpMailer mailer(options_for(server, "mailer:pw"), log);
  ASSERT_EQ(options_for(server).url.rfind("smtps://", 0), 0u);
  ASSERT_TRUE(mailer.send(simple("over tls")));
  ASSERT_TRUE(server.wait_delivered(1));
  EXPECT_TRUE(server.delivered()[0].tls);
  EXPECT_EQ(server.delivered()[0].auth_password, "pw");
}

TEST(SmtpMailer, AnUntrustedCertificateFailsWithoutRetrying) {
  FakeSmtp server({.starttls = true});
  FakeSmtp other;
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  auto o = options_for(server);
  o.ca_file = other.ca_file();  // trusts another self-signed certificate only
  SmtpMailer mailer(o, log);
  ASSERT_TRUE(mailer.send(simple("x")));
  ASSERT_TRUE(eventually([&] { return mailer.failed() == 1; }));
  EXPECT_EQ(mailer.failed_attempts(), 1u);
  EXPECT_TRUE(server.delivered().empty());
}

TEST(SmtpMailer, RefusesToSendCredentialsInClear) {
  const std::string password = "PW-MARKER-7f3a9c";
  FakeSmtp server;  // no STARTTLS, no TLS
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  {
    SmtpMailer mailer(options_for(server, "mailer:" + password), log);
    ASSERT_TRUE(mailer.send(simple("secret mail")));
    ASSERT_TRUE(eventually([&] { return mailer.failed() == 1; }));
    EXPECT_EQ(mailer.sent(), 0u);
    EXPECT_EQ(mailer.failed_attempts(), 1u) << "a server without STARTTLS will not grow it in a second";
  }
  EXPECT_TRUE(server.delivered().empty());
  std::string received = server.received();
  EXPECT_EQ(received.find(password), std::string::npos);
  EXPECT_EQ(received.find(base64_encode(password)), std::string::npos);
  EXPECT_EQ(received.find(base64_encode(std::string("\0mailer\0", 8) + password)), std::string::npos);
  for (const auto& c : server.commands()) {
    EXPECT_NE(c.rfind("AUTH", 0), 0u) << c;
    EXPECT_NE(c.rfind("MAIL", 0), 0u) << c;
  }
  log.flush();
  auto failures = file.events("mail.failed");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0]["permanent"], true);
  EXPECT_EQ(file.text().find(password), std::string::npos);
}

class SmtpMailerRetry : public ::testing::TestWithParam<Failure> {};

TEST_P(SmtpMailerRetry, TransientFailuresAreRetriedUntilDelivered) {
  FakeSmtp server({.fail_first = 2, .failure = GetParam()});
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  SmtpMailer mailer(options_for(server), log);
  ASSERT_TRUE(mailer.send(simple("retry me")));
  ASSERT_TRUE(eventually([&] { return mailer.sent() == 1; }));
  EXPECT_EQ(mailer.failed(), 0u);
  EXPECT_EQ(mailer.failed_attempts(), 2u);
  EXPECT_EQ(server.delivered().size(), 1u);
  EXPECT_EQ(server.connections(), 3u);

  log.flush();
  auto failures = file.events("mail.failed");
  ASSERT_EQ(failures.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(failures[i]["attempt"], i + 1);
    EXPECT_EQ(failures[i]["will_retry"], true);
    EXPECT_EQ(failures[i]["domain"], "example.com");
    EXPECT_FALSE(failures[i]["error"].get<std::string>().empty());
    EXPECT_GE(failures[i]["retry_in_ms"].get<int>(), 2 << i) << "backoff doubles, jitter keeps at least half";
  }
  auto sent = file.events("mail.sent");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["attempt"], 3);
  EXPECT_EQ(sent[0]["subject"], "retry me");
}

INSTANTIATE_TEST_SUITE_P(Mail, SmtpMailerRetry,
                         ::testing::Values(Failure::greeting_421, Failure::rcpt_451, Failure::data_451,
                                           Failure::drop_after_mail));

TEST(SmtpMailer, GivesUpAfterMaxAttemptsAndKeepsWorking) {
  FakeSmtp server({.fail_first = 3, .failure = Failure::rcpt_451});
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  auto o = options_for(server);
  o.max_attempts = 3;
  SmtpMailer mailer(o, log);
  ASSERT_TRUE(mailer.send(simple("doomed")));
  ASSERT_TRUE(eventually([&] { return mailer.failed() == 1; }));
  EXPECT_EQ(mailer.failed_attempts(), 3u);
  ASSERT_TRUE(mailer.send(simple("next")));
  ASSERT_TRUE(eventually([&] { return mailer.sent() == 1; }));
  ASSERT_EQ(server.delivered().size(), 1u);
  EXPECT_NE(server.delivered()[0].data.find("Subject: next\r\n"), std::string::npos);

  log.flush();
  auto failures = file.events("mail.failed");
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(failures[2]["attempt"], 3);
  EXPECT_EQ(failures[2]["will_retry"], false);
  EXPECT_EQ(failures[2]["smtp_code"], 451);
  auto gave_up = file.events("mail.undeliverable");
  ASSERT_EQ(gave_up.size(), 1u);
  EXPECT_EQ(gave_up[0]["attempts"], 3);
  EXPECT_EQ(gave_up[0]["subject"], "doomed");
  EXPECT_EQ(gave_up[0]["level"], "error");
}

TEST(SmtpMailer, PermanentRejectionIsNotRetried) {
  FakeSmtp server({.fail_first = 1, .failure = Failure::reject_550});
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  SmtpMailer mailer(options_for(server), log);
  ASSERT_TRUE(mailer.send(simple("unknown user", "nobody@example.com")));
  ASSERT_TRUE(eventually([&] { return mailer.failed() == 1; }));
  EXPECT_EQ(mailer.failed_attempts(), 1u);
  ASSERT_TRUE(mailer.send(simple("known user")));
  ASSERT_TRUE(eventually([&] { return mailer.sent() == 1; }));
  log.flush();
  auto failures = file.events("mail.failed");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0]["smtp_code"], 550);
  EXPECT_EQ(failures[0]["permanent"], true);
}

TEST(SmtpMailer, SendDoesNotBlockAndRefusesWhenTheQueueIsFull) {
  FakeSmtp server({.stall = true});
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  auto o = options_for(server);
  o.queue_capacity = 2;
  SmtpMailer mailer(o, log);
  ASSERT_TRUE(mailer.send(simple("1")));
  ASSERT_TRUE(server.wait_connections(1));  // the sender thread holds "1" in a stalled transfer
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(mailer.send(simple("2")));
  EXPECT_TRUE(mailer.send(simple("3")));
  EXPECT_FALSE(mailer.send(simple("4")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);  // the transfer is stuck for 10 s
  EXPECT_EQ(mailer.queued(), 2u);

  server.release();
  ASSERT_TRUE(server.wait_delivered(3));
  ASSERT_TRUE(eventually([&] { return mailer.sent() == 3; }));
  auto delivered = server.delivered();
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NE(delivered[i].data.find("Subject: " + std::to_string(i + 1) + "\r\n"), std::string::npos) << "in order";
  }
}

TEST(SmtpMailer, LogsNeitherBodyNorPasswordNorLocalPart) {
  const std::string password = "PW-MARKER-51d2e0";
  const std::string body = "BODY-MARKER-token-9a8b7c";
  FakeSmtp server({.fail_first = 1, .failure = Failure::data_451, .starttls = true, .user = "u", .password = password});
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  {
    SmtpMailer mailer(options_for(server, "u:" + password), log);
    ASSERT_TRUE(mailer.send({"LOCAL-MARKER@example.com", "Your link", body + "\n", "<p>" + body + "</p>"}));
    ASSERT_TRUE(eventually([&] { return mailer.sent() == 1; }));
  }
  log.flush();
  std::string text = file.text();
  EXPECT_EQ(file.events("mail.failed").size(), 1u);
  EXPECT_EQ(file.events("mail.sent").size(), 1u);
  EXPECT_EQ(file.events("mail.smtp").size(), 1u);
  EXPECT_NE(text.find("example.com"), std::string::npos);
  EXPECT_EQ(text.find("BODY-MARKER"), std::string::npos) << text;
  EXPECT_EQ(text.find("PW-MARKER"), std::string::npos) << text;
  EXPECT_EQ(text.find("LOCAL-MARKER"), std::string::npos) << text;
  ASSERT_EQ(server.delivered().size(), 1u);
  EXPECT_NE(server.delivered()[0].data.find(body), std::string::npos);  // the marker was really sent
}

TEST(SmtpMailer, DestructorDeliversWhatIsQueued) {
  FakeSmtp server;
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  {
    SmtpMailer mailer(options_for(server), log);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(mailer.send(simple(std::to_string(i))));
  }
  EXPECT_EQ(server.delivered().size(), 3u);
}

TEST(SmtpMailer, DestructorGivesUpOnAStalledServerAfterTheDrainTimeout) {
  FakeSmtp server({.stall = true});
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  auto start = std::chrono::steady_clock::now();
  {
    auto o = options_for(server);
    o.timeout = 60s;
    o.drain_timeout = 100ms;
    SmtpMailer mailer(o, log);
    ASSERT_TRUE(mailer.send(simple("stuck")));
    ASSERT_TRUE(mailer.send(simple("queued")));
    ASSERT_TRUE(server.wait_connections(1));
    start = std::chrono::steady_clock::now();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  log.flush();
  auto abandoned = file.events("mail.abandoned");
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0]["messages"], 1);
  EXPECT_EQ(file.events("mail.undeliverable").size(), 1u);
}

TEST(SmtpMailer, RejectsRecipientsThatCouldInjectHeaders) {
  FakeSmtp server;
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  SmtpMailer mailer(options_for(server), log);
  EXPECT_FALSE(mailer.send(simple("x", "alice@example.com\r\nBcc: eve@example.net")));
  EXPECT_FALSE(mailer.send(simple("x", "Alice <alice@example.com>")));
  EXPECT_FALSE(mailer.send(simple("x", "")));
  EXPECT_EQ(mailer.queued(), 0u);
  log.flush();
  EXPECT_EQ(file.events("mail.rejected").size(), 3u);
}

TEST(SmtpMailer, HeaderInjectionThroughTheSubjectIsNeutralised) {
  FakeSmtp server;
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  SmtpMailer mailer(options_for(server), log);
  ASSERT_TRUE(mailer.send(simple("hi\r\nBcc: eve@example.net")));
  ASSERT_TRUE(server.wait_delivered(1));
  ParsedMessage m = parse_message(server.delivered()[0].data);
  EXPECT_EQ(m.headers.count("bcc"), 0u);
  EXPECT_EQ(m.headers["subject"], "hi  Bcc: eve@example.net");
}

TEST(SmtpMailer, BadSettingsThrowAtConstruction) {
  LogFile file;
  Logger log(LogLevel::debug, LogFormat::json, file.fd());
  SmtpOptions o;
  o.from = "chatd@example.org";
  o.url = "http://mail.example.org:25";
  EXPECT_THROW(SmtpMailer(o, log), std::invalid_argument);
  o.url = "not a url";
  EXPECT_THROW(SmtpMailer(o, log), std::invalid_argument);
  o.url = "smtp://mail.example.org:587";
  o.from = "no address";
  EXPECT_THROW(SmtpMailer(o, log), std::invalid_argument);
}

}  // namespace
}  // namespace chatd::mail::test
