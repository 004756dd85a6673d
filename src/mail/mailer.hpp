#pragma once
// Outgoing e-mail. Callers (services on network threads) hand a Message to a Mailer, which
// never blocks them: SmtpMailer queues it for its own sender thread, LogMailer writes it to
// the log (development, when CHATD_SMTP_URL is unset).

#include <cstdint>
#include <memory>
#include <string>

namespace chatd {
class Logger;
namespace config {
struct Config;
}
}  // namespace chatd

namespace chatd::mail {

struct Message {
  std::string to;       // a plain address, local@domain
  std::string subject;  // UTF-8
  std::string text;     // UTF-8 plain-text body
  std::string html;     // UTF-8 HTML body; empty sends a text-only message
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Accepts `m` for delivery without blocking. Returns false when it cannot take the
  // message (queue full, shutting down, recipient not a plain address); the caller logs it.
  // Delivery itself happens later; its failures are logged by the mailer.
  virtual bool send(Message m) = 0;

  // For /metrics: messages delivered, and given up on. Zeros for a mailer that delivers
  // nothing (LogMailer).
  struct Counts {
    std::uint64_t sent = 0, failed = 0;
  };
  virtual Counts counts() const { return {}; }
};

// SmtpMailer when `config.smtp_url` is set, otherwise LogMailer. Throws std::invalid_argument
// when the SMTP settings cannot be used (startup configuration error). `log` must outlive
// the mailer.
std::unique_ptr<Mailer> make_mailer(const config::Config& config, Logger& log);

}  // namespace chatd::mail
