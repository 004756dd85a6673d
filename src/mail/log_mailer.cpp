#include "mail/log_mailer.hpp"

namespace chatd::mail {

bool LogMailer::send(Message m) {
  log_.info("mail.logged").str("to", m.to).str("subject", m.subject).str("text", m.text);
  return true;
}

}  // namespace chatd::mail
