#include "mail/mailer.hpp"

#include "config/config.hpp"
#include "core/log.hpp"
#include "mail/log_mailer.hpp"
#include "mail/smtp_mailer.hpp"

namespace chatd::mail {

std::unique_ptr<Mailer> make_mailer(const config::Config& config, Logger& log) {
  if (!config.smtp_url) {
    log.info("mail.log_only").str("reason", "CHATD_SMTP_URL is unset: e-mails are written to the log");
    return std::make_unique<LogMailer>(log);
  }
  SmtpOptions options;
  options.url = *config.smtp_url;
  options.from = config.mail_from;
  return std::make_unique<SmtpMailer>(options, log);
}

}  // namespace chatd::mail
