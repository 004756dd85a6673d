#include "mail/smtp_mailer.hpp"

#include "core/time.hpp"
#include "crypto/random.hpp"
#include "mail/mime.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <pthread.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <vector>

namespace chatd::mail {
namespace {

constexpr auto kMaxBackoff = std::chrono::minutes(10);
constexpr auto kMaxConnectTimeout = std::chrono::seconds(10);
constexpr int kPollMs = 1000;  // curl_multi_wakeup interrupts it sooner

struct UrlParts {
  std::string scheme;
  std::string host;
  std::string port;
  bool has_credentials = false;
  std::vector<std::string> secrets;  // the password as written and decoded, to scrub from errors
};

UrlParts parse_url(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u) throw std::runtime_error("out of memory");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    throw std::invalid_argument("the SMTP URL is malformed (want smtp://[user:pass@]host:port or smtps://...)");
  }
  auto get = [&](CURLUPart part, unsigned flags) {
    char* value = nullptr;
    std::string out;
    if (curl_url_get(u.get(), part, &value, flags) == CURLUE_OK && value) out = value;
    curl_free(value);
    return out;
  };
  UrlParts parts;
  parts.scheme = get(CURLUPART_SCHEME, 0);
  parts.host = get(CURLUPART_HOST, 0);
  parts.port = get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  std::string user = get(CURLUPART_USER, 0);
  for (auto flags : {0u, static_cast<unsigned>(CURLU_URLDECODE)}) {
    std::string password = get(CURLUPART_PASSWORD, flags);
    if (!password.empty()) parts.secrets.push_back(std::move(password));
  }
  parts.has_credentials = !user.empty() || !parts.secrets.empty();
  if (parts.scheme != "smtp" && parts.scheme != "smtps") {
    throw std::invalid_argument("the SMTP URL must start with smtp:// or smtps://");
  }
  if (parts.host.empty()) throw std::invalid_argument("the SMTP URL names no host");
  return parts;
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

struct Upload {
  std::string_view data;
  std::size_t pos = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, upload->data.size() - upload->pos);
  std::memcpy(buffer, upload->data.data() + upload->pos, n);
  upload->pos += n;
  return n;
}

// The sockets libcurl has open, so that an abort can shut them down: removing an unfinished
// SMTP transfer makes libcurl send QUIT and wait for the answer, which a stalled server never
// gives. Touched only by the thread calling into the multi handle.
using OpenSockets = std::vector<curl_socket_t>;

int on_socket_open(void* user, curl_socket_t fd, curlsocktype) {
  static_cast<OpenSockets*>(user)->push_back(fd);
  return CURL_SOCKOPT_OK;
}

int on_socket_close(void* user, curl_socket_t fd) {
  auto* open = static_cast<OpenSockets*>(user);
  open->erase(std::remove(open->begin(), open->end(), fd), open->end());
  return ::close(fd);
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// curl_global_init is reference counted (and thread-safe since 7.84).
struct CurlGlobal {
  CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

struct MultiHandle {
  MultiHandle() : handle(curl_multi_init()) {
    if (!handle) throw std::runtime_error("curl_multi_init failed");
  }
  ~MultiHandle() { curl_multi_cleanup(handle); }
  MultiHandle(const MultiHandle&) = delete;
  MultiHandle& operator=(const MultiHandle&) = delete;
  CURLM* handle;
};

struct Outcome {
  bool ok = false;
  bool permanent = false;  // retrying cannot help
  long curl_code = 0;
  long smtp_code = 0;
  std::string error;
};

// Failures that another attempt in a few seconds cannot fix: a 5xx reply (RFC 5321 section
// 4.2.1), or a TLS/URL problem that only a configuration change cures.
bool is_permanent(CURLcode code, long smtp_code) {
  if (smtp_code >= 500 && smtp_code <= 599) return true;
  switch (code) {
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_LOGIN_DENIED: return true;
    default: return false;
  }
}

}  // namespace

struct SmtpMailer::State {
  State(const SmtpOptions& opts, Logger& logger);

  void run();
  void deliver(const Message& m);
  Outcome attempt(const Message& m, std::string_view data);
  std::chrono::milliseconds backoff(int attempt);

  const SmtpOptions options;
  Logger& log;
  const UrlParts url;
  const std::string envelope_from;  // "<local@domain>"
  CurlGlobal curl_global;
  OpenSockets open_sockets;  // before multi_handle: its cleanup may still close sockets
  MultiHandle multi_handle;
  CURLM* const multi = multi_handle.handle;
  std::mt19937_64 rng{std::random_device{}()};  // backoff jitter; sender thread only

  mutable std::mutex mu;
  std::condition_variable cv;       // queue, stopping
  std::condition_variable done_cv;  // finished
  std::deque<Message> queue;
  bool stopping = false;
  bool finished = false;
  std::atomic<bool> aborting{false};

  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> failed_attempts{0};

  std::thread thread;
};

SmtpMailer::State::State(const SmtpOptions& opts, Logger& logger)
    : options(opts),
      log(logger),
      url(parse_url(opts.url)),
      envelope_from("<" + std::string(address_of(opts.from)) + ">") {
  if (!is_plain_address(address_of(options.from))) {
    throw std::invalid_argument("the sender address is not local@domain or Name <local@domain>");
  }
  if (options.max_attempts < 1) throw std::invalid_argument("max_attempts must be at least 1");
  bool implicit_tls = url.scheme == "smtps";
  log.info("mail.smtp")
      .str("host", url.host)
      .str("port", url.port)
      .str("tls", implicit_tls          ? "implicit"
                  : url.has_credentials ? "starttls_required"
                                        : "starttls_when_offered")
      .boolean("auth", url.has_credentials);
  thread = std::thread([this] { run(); });
}

void SmtpMailer::State::run() {
  // With CURLOPT_NOSIGNAL libcurl leaves SIGPIPE alone, and a TLS write to a closed socket
  // raises it; blocked here, it stays pending on this thread instead of killing the process.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);

  for (;;) {
    Message m;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (!queue.empty() && aborting) {
        std::size_t left = queue.size();
        queue.clear();
        failed += left;
        log.error("mail.abandoned").num("messages", static_cast<std::int64_t>(left));
      }
      if (queue.empty()) {
        finished = true;
        done_cv.notify_all();
        return;
      }
      m = std::move(queue.front());
      queue.pop_front();
    }
    deliver(m);
  }
}

void SmtpMailer::State::deliver(const Message& m) {
  // Rendered once, so that every attempt carries the same Message-ID (receivers can drop
  // a duplicate when an attempt failed after the server had accepted the data).
  std::string data = render(m, {options.from, system_now_ms(), crypto::random_hex(16)});
  std::string domain = domain_of(m.to);
  for (int n = 1;; ++n) {
    Outcome outcome = attempt(m, data);
    if (outcome.ok) {
      ++sent;
      log.info("mail.sent").str("domain", domain).str("subject", m.subject).num("attempt", n);
      return;
    }
    ++failed_attempts;
    bool stop_now;
    {
      std::lock_guard lock(mu);
      stop_now = stopping;
    }
    bool final = outcome.permanent || n >= options.max_attempts || stop_now;
    auto delay = final ? std::chrono::milliseconds(0) : backoff(n);
    {
      auto line = log.warn("mail.failed");
      line.num("attempt", n)
          .num("max_attempts", options.max_attempts)
          .str("domain", domain)
          .str("error", outcome.error)
          .num("curl_code", outcome.curl_code);
      if (outcome.smtp_code >= 400) line.num("smtp_code", outcome.smtp_code);
      line.boolean("permanent", outcome.permanent).boolean("will_retry", !final);
      if (!final) line.num("retry_in_ms", delay.count());
    }
    if (final) {
      ++failed;
      log.error("mail.undeliverable").str("domain", domain).str("subject", m.subject).num("attempts", n);
      return;
    }
    std::unique_lock lock(mu);
    // The destructor interrupts the wait; the message then gets one last attempt.
    cv.wait_for(lock, delay, [&] { return stopping; });
  }
}

std::chrono::milliseconds SmtpMailer::State::backoff(int attempt) {
  auto base = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff);
  auto first = std::max(options.first_backoff, std::chrono::milliseconds(1));
  if (attempt - 1 < 30 && first * (std::int64_t{1} << (attempt - 1)) < base) {
    base = first * (std::int64_t{1} << (attempt - 1));
  }
  // "Equal jitter": between half and all of the exponential delay, so that a burst of
  // failures does not come back in lockstep.
  std::uniform_int_distribution<std::int64_t> jitter(base.count() / 2, base.count());
  return std::chrono::milliseconds(jitter(rng));
}

Outcome SmtpMailer::State::attempt(const Message& m, std::string_view data) {
  Outcome outcome;
  if (aborting) {
    outcome.error = "shutting down";
    outcome.curl_code = CURLE_ABORTED_BY_CALLBACK;
    return outcome;
  }
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  std::unique_ptr<curl_slist, SlistDeleter> rcpt(curl_slist_append(nullptr, ("<" + m.to + ">").c_str()));
  if (!easy || !rcpt) {
    outcome.error = "out of memory";
    outcome.curl_code = CURLE_OUT_OF_MEMORY;
    return outcome;
  }
  Upload upload{data, 0};
  char error_buffer[CURL_ERROR_SIZE] = {};
  auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout).count();
  auto connect_ms = std::min<std::int64_t>(
      timeout_ms, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxConnectTimeout).count());
  bool require_tls = url.scheme == "smtps" || url.has_credentials;
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, options.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(e, CURLOPT_MAIL_FROM, envelope_from.c_str());
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(e, CURLOPT_READDATA, &upload);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
  curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!options.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_ms));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  // A fresh connection per message: an idle pooled SMTP connection is usually closed by the
  // server long before the next e-mail.
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_socket_open);
  curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, &open_sockets);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_socket_close);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, &open_sockets);

  // The multi interface instead of curl_easy_perform so that the destructor can interrupt a
  // hanging transfer at once (curl_multi_wakeup) rather than after the whole timeout.
  CURLcode code = CURLE_OK;
  if (CURLMcode mc = curl_multi_add_handle(multi, e); mc != CURLM_OK) {
    outcome.error = curl_multi_strerror(mc);
    outcome.curl_code = CURLE_FAILED_INIT;
    return outcome;
  }
  int running = 1;
  bool done = false;
  while (!done) {
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc == CURLM_OK && running > 0 && !aborting) mc = curl_multi_poll(multi, nullptr, 0, kPollMs, nullptr);
    if (mc != CURLM_OK) {
      code = CURLE_FAILED_INIT;
      std::snprintf(error_buffer, sizeof error_buffer, "%s", curl_multi_strerror(mc));
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) code = msg->data.result;
      }
      done = true;
    } else if (aborting) {
      code = CURLE_ABORTED_BY_CALLBACK;
      std::snprintf(error_buffer, sizeof error_buffer, "aborted at shutdown");
      for (curl_socket_t fd : open_sockets) ::shutdown(fd, SHUT_RDWR);  // curl still owns and closes them
      break;
    }
  }
  curl_multi_remove_handle(multi, e);

  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &outcome.smtp_code);
  if (code == CURLE_OK) {
    outcome.ok = true;
    return outcome;
  }
  outcome.curl_code = code;
  outcome.permanent = is_permanent(code, outcome.smtp_code);
  std::string error = error_buffer[0] ? std::string(error_buffer) : std::string(curl_easy_strerror(code));
  outcome.error = scrub(std::move(error), url.secrets);
  return outcome;
}

SmtpMailer::SmtpMailer(const SmtpOptions& options, Logger& log) : state_(std::make_unique<State>(options, log)) {}

SmtpMailer::~SmtpMailer() {
  State& s = *state_;
  {
    std::unique_lock lock(s.mu);
    s.stopping = true;
    s.cv.notify_all();
    if (!s.done_cv.wait_for(lock, s.options.drain_timeout, [&] { return s.finished; })) s.aborting = true;
  }
  if (s.aborting) curl_multi_wakeup(s.multi);
  s.thread.join();
}

bool SmtpMailer::send(Message m) {
  State& s = *state_;
  if (!is_plain_address(m.to)) {
    s.log.warn("mail.rejected")
        .str("reason", "recipient is not a plain address")
        .num("length", static_cast<std::int64_t>(m.to.size()));
    return false;
  }
  {
    std::lock_guard lock(s.mu);
    if (s.stopping || s.queue.size() >= s.options.queue_capacity) return false;
    s.queue.push_back(std::move(m));
  }
  s.cv.notify_all();
  return true;
}

std::uint64_t SmtpMailer::sent() const { return state_->sent; }
std::uint64_t SmtpMailer::failed() const { return state_->failed; }
std::uint64_t SmtpMailer::failed_attempts() const { return state_->failed_attempts; }
std::size_t SmtpMailer::queued() const {
  std::lock_guard lock(state_->mu);
  return state_->queue.size();
}

}  // namespace chatd::mail
