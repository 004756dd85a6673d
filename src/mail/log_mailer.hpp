#pragma once
// The development mailer: every message goes to the log ("mail.logged" with to, subject and
// the plain-text body) so that a newcomer without an SMTP server can still open the
// verification link. Never used when CHATD_SMTP_URL is set, because the bodies carry
// one-time tokens.

#include "core/log.hpp"
#include "mail/mailer.hpp"

namespace chatd::mail {

class LogMailer final : public Mailer {
 public:
  explicit LogMailer(Logger& log) : log_(log) {}
  // Always returns true (the logger itself never blocks; it drops lines when full).
  bool send(Message m) override;

 private:
  Logger& log_;
};

}  // namespace chatd::mail
