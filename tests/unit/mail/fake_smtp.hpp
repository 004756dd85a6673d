#pragma once
// A minimal SMTP server for tests: one thread, a loopback listener on port 0, connections
// served one after another. It speaks enough real SMTP for libcurl (greeting, EHLO with
// AUTH PLAIN LOGIN, optional STARTTLS or implicit TLS with a self-signed certificate, AUTH,
// MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) and can be scripted to fail the
// first N connections or to hold connections before the greeting.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace chatd::mail::test {

enum class Failure {
  none,
  greeting_421,     // "421" instead of the greeting
  rcpt_451,         // "451" to RCPT TO
  data_451,         // takes the whole message, then "451"
  reject_550,       // "550" to RCPT TO (permanent)
  drop_after_mail,  // closes the connection after MAIL FROM without answering
};

struct FakeSmtpOptions {
  int fail_first = 0;  // connections that fail with `failure`
  Failure failure = Failure::none;
  bool starttls = false;      // offer STARTTLS
  bool implicit_tls = false;  // TLS from the first byte (smtps://)
  bool stall = false;         // hold every connection before the greeting until release()
  std::string user{};         // AUTH accepts only this user/password when set
  std::string password{};
};

struct Transaction {
  std::string mail_from;             // the MAIL FROM argument as sent, e.g. "<a@b.c>"
  std::vector<std::string> rcpt_to;  // RCPT TO arguments
  std::string wire_data;             // DATA lines as sent (dot-stuffed, CRLF), without the final "."
  std::string data;                  // the message after removing dot-stuffing
  bool tls = false;
  std::string auth_user;  // decoded AUTH credentials, empty without AUTH
  std::string auth_password;
};

class FakeSmtp {
 public:
  explicit FakeSmtp(FakeSmtpOptions options = {});
  ~FakeSmtp();
  FakeSmtp(const FakeSmtp&) = delete;
  FakeSmtp& operator=(const FakeSmtp&) = delete;

  std::uint16_t port() const { return port_; }
  // "smtp://[userinfo@]127.0.0.1:port" (scheme smtps when implicit TLS).
  std::string url(std::string_view userinfo = {}) const;
  // PEM file with the server's self-signed certificate (to trust with CURLOPT_CAINFO).
  const std::string& ca_file() const { return ca_file_; }

  std::vector<Transaction> delivered() const;
  std::size_t connections() const;
  std::vector<std::string> commands() const;  // every command line received, in order
  std::string received() const;               // every byte received (after TLS decryption)

  // Wait with a deadline; return whether the condition came true.
  bool wait_delivered(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  bool wait_connections(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Lets held connections continue (and no later connection is held).
  void release();

 private:
  struct Tls;
  class Conn;
  void run();
  void serve(int fd, std::size_t index);
  void record(std::string_view bytes);

  FakeSmtpOptions options_;
  std::unique_ptr<Tls> tls_;
  std::string ca_file_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  bool released_ = false;
  int active_fd_ = -1;
  std::size_t connections_ = 0;
  std::vector<Transaction> delivered_;
  std::vector<std::string> commands_;
  std::string received_;
  std::thread thread_;
};

std::string base64_encode(std::string_view in);
std::string base64_decode(std::string_view in);

}  // namespace chatd::mail::test
