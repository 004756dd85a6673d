#pragma once
// Delivery through an SMTP relay with libcurl. send() only queues (bounded); one owned
// sender thread takes messages in order, delivers each on a fresh connection and retries
// failures with exponential backoff and jitter. Logs name the recipient's domain only and
// never contain a body (it carries one-time tokens) or the URL's password.
//
// TLS: smtps:// is implicit TLS. smtp:// upgrades with STARTTLS when the server offers it,
// and requires STARTTLS when the URL carries credentials, so a password never travels in
// clear (such a message fails instead). Certificates are always verified.

#include "core/log.hpp"
#include "mail/mailer.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace chatd::mail {

struct SmtpOptions {
  std::string url;   // smtp://[user:pass@]host:port or smtps://[user:pass@]host:port
  std::string from;  // "local@domain" or "Name <local@domain>" (CHATD_MAIL_FROM)
  int max_attempts = 4;
  std::chrono::milliseconds first_backoff{1000};  // doubled after each failed attempt
  std::size_t queue_capacity = 1000;
  std::chrono::seconds timeout{30};  // one whole delivery attempt
  // How long the destructor keeps delivering what is still queued before it gives up.
  std::chrono::milliseconds drain_timeout{5000};
  // PEM file of CA certificates to trust instead of the system store (private relays, tests).
  std::string ca_file;
};

class SmtpMailer final : public Mailer {
 public:
  // Starts the sender thread. Throws std::invalid_argument when `url` is not a usable
  // smtp:// or smtps:// URL or `from` holds no address. `log` must outlive the mailer.
  SmtpMailer(const SmtpOptions& options, Logger& log);
  // Stops taking messages, delivers what is queued (one attempt each, no more backoff) until
  // drain_timeout, aborts what is still running or queued then (counted as failed) and joins.
  ~SmtpMailer() override;
  SmtpMailer(const SmtpMailer&) = delete;
  SmtpMailer& operator=(const SmtpMailer&) = delete;

  // Never blocks on the network. Returns false (and queues nothing) when the queue is full,
  // when the mailer is shutting down, or when `m.to` is not a plain address (logged as
  // "mail.rejected"; such a value could inject headers or SMTP commands).
  bool send(Message m) override;

  // Counters for tests and metrics.
  Counts counts() const override { return {sent(), failed()}; }
  std::uint64_t sent() const;             // messages delivered
  std::uint64_t failed() const;           // messages given up (attempts exhausted, permanent error, shutdown)
  std::uint64_t failed_attempts() const;  // delivery attempts that failed, retried or not
  std::size_t queued() const;             // waiting, not counting the one being delivered

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace chatd::mail
