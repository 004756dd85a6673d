#include "fake_smtp.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <netinet/in.h>
#include <pthread.h>
#include <stdexcept>
#include <sys/socket.h>
#include <utility>

namespace chatd::mail::test {

std::string base64_encode(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += alphabet[(v >> shift) & 63];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      continue;  // '=' and white space
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// A self-signed certificate for 127.0.0.1 and the server context using it.
struct FakeSmtp::Tls {
  Tls() {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    cert = X509_new();
    if (!key || !cert) throw std::runtime_error("cannot create a test key");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] :
         {std::pair{NID_basic_constraints, "critical,CA:TRUE"}, std::pair{NID_subject_key_identifier, "hash"},
          std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      if (!ext) throw std::runtime_error("cannot add a certificate extension");
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
    if (X509_sign(cert, key, EVP_sha256()) == 0) throw std::runtime_error("cannot sign the test certificate");
    server_ctx = SSL_CTX_new(TLS_server_method());
    if (!server_ctx || SSL_CTX_use_certificate(server_ctx, cert) != 1 || SSL_CTX_use_PrivateKey(server_ctx, key) != 1) {
      throw std::runtime_error("cannot set up the test TLS context");
    }
  }
  ~Tls() {
    SSL_CTX_free(server_ctx);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  Tls(const Tls&) = delete;
  Tls& operator=(const Tls&) = delete;

  std::string write_pem() const {
    char path[] = "/tmp/chatd-mailtest-ca-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    FILE* f = fdopen(fd, "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    return path;
  }

  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  SSL_CTX* server_ctx = nullptr;
};

// One client connection: line reading over a plain socket or TLS.
class FakeSmtp::Conn {
 public:
  Conn(FakeSmtp& server, int fd) : server_(server), fd_(fd) {}
  ~Conn() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool tls() const { return ssl_ != nullptr; }

  bool start_tls(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    return SSL_accept(ssl_) == 1;
  }

  // One line without its CRLF; false at end of stream.
  bool read_line(std::string& line) {
    for (;;) {
      if (auto end = buffer_.find("\r\n"); end != std::string::npos) {
        line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return true;
      }
      char chunk[4096];
      long n = ssl_ ? SSL_read(ssl_, chunk, sizeof chunk) : ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      server_.record(std::string_view(chunk, static_cast<std::size_t>(n)));
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  bool write(std::string_view text) {
    while (!text.empty()) {
      long n = ssl_ ? SSL_write(ssl_, text.data(), static_cast<int>(text.size()))
                    : ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

 private:
  FakeSmtp& server_;
  int fd_;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

FakeSmtp::FakeSmtp(FakeSmtpOptions options) : options_(std::move(options)) {
  tls_ = std::make_unique<Tls>();
  ca_file_ = tls_->write_pem();
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot listen on loopback");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

FakeSmtp::~FakeSmtp() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (active_fd_ >= 0) ::shutdown(active_fd_, SHUT_RDWR);
  }
  cv_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  thread_.join();
  ::close(listen_fd_);
  std::remove(ca_file_.c_str());
}

std::string FakeSmtp::url(std::string_view userinfo) const {
  std::string out = options_.implicit_tls ? "smtps://" : "smtp://";
  if (!userinfo.empty()) {
    out += userinfo;
    out += '@';
  }
  return out + "127.0.0.1:" + std::to_string(port_);
}

std::vector<Transaction> FakeSmtp::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

std::size_t FakeSmtp::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

std::vector<std::string> FakeSmtp::commands() const {
  std::lock_guard lock(mu_);
  return commands_;
}

std::string FakeSmtp::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

bool FakeSmtp::wait_delivered(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return delivered_.size() >= n; });
}

bool FakeSmtp::wait_connections(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return connections_ >= n; });
}

void FakeSmtp::release() {
  {
    std::lock_guard lock(mu_);
    released_ = true;
  }
  cv_.notify_all();
}

void FakeSmtp::record(std::string_view bytes) {
  std::lock_guard lock(mu_);
  received_.append(bytes);
}

void FakeSmtp::run() {
  // OpenSSL writes with write(2); a client that hung up must not kill the test binary.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  for (std::size_t index = 0;; ++index) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;  // shut down
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      active_fd_ = fd;
      ++connections_;
    }
    cv_.notify_all();
    serve(fd, index);
    {
      std::lock_guard lock(mu_);
      active_fd_ = -1;
    }
    ::close(fd);
  }
}

void FakeSmtp::serve(int fd, std::size_t index) {
  if (options_.stall) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return released_ || stopping_; });
    if (stopping_) return;
  }
  Conn conn(*this, fd);
  if (options_.implicit_tls && !conn.start_tls(tls_->server_ctx)) return;
  Failure failure = static_cast<int>(index) < options_.fail_first ? options_.failure : Failure::none;
  if (failure == Failure::greeting_421) {
    conn.write("421 fake.test busy, try again later\r\n");
    return;
  }
  conn.write("220 fake.test ESMTP ready\r\n");

  Transaction t;
  std::string line;
  auto credentials_ok = [&] {
    return options_.user.empty() || (t.auth_user == options_.user && t.auth_password == options_.password);
  };
  while (conn.read_line(line)) {
    {
      std::lock_guard lock(mu_);
      commands_.push_back(line);
    }
    std::string verb = line.substr(0, line.find(' '));
    for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string arg = line.size() > verb.size() ? line.substr(verb.size() + 1) : std::string();

    if (verb == "EHLO") {
      std::string reply = "250-fake.test greets you\r\n";
      if (options_.starttls && !conn.tls()) reply += "250-STARTTLS\r\n";
      reply += "250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n";
      conn.write(reply);
    } else if (verb == "HELO") {
      conn.write("250 fake.test\r\n");
    } else if (verb == "STARTTLS") {
      if (!options_.starttls || conn.tls()) {
        conn.write("502 STARTTLS not available\r\n");
        continue;
      }
      conn.write("220 go ahead\r\n");
      if (!conn.start_tls(tls_->server_ctx)) return;
      t = Transaction{};
    } else if (verb == "AUTH") {
      std::string mech = arg.substr(0, arg.find(' '));
      std::string initial = arg.size() > mech.size() ? arg.substr(mech.size() + 1) : std::string();
      if (mech == "PLAIN") {
        if (initial.empty()) {
          conn.write("334 \r\n");
          if (!conn.read_line(initial)) return;
        }
        std::string decoded = base64_decode(initial);  // authzid \0 authcid \0 password
        auto first = decoded.find('\0');
        auto second = decoded.find('\0', first + 1);
        if (first == std::string::npos || second == std::string::npos) {
          conn.write("501 malformed\r\n");
          continue;
        }
        t.auth_user = decoded.substr(first + 1, second - first - 1);
        t.auth_password = decoded.substr(second + 1);
      } else if (mech == "LOGIN") {
        std::string user = initial;
        if (user.empty()) {
          conn.write("334 VXNlcm5hbWU6\r\n");
          if (!conn.read_line(user)) return;
        }
        conn.write("334 UGFzc3dvcmQ6\r\n");
        std::string password;
        if (!conn.read_line(password)) return;
        t.auth_user = base64_decode(user);
        t.auth_password = base64_decode(password);
      } else {
        conn.write("504 unsupported mechanism\r\n");
        continue;
      }
      conn.write(credentials_ok() ? "235 authenticated\r\n" : "535 authentication failed\r\n");
    } else if (verb == "MAIL") {
      if (failure == Failure::drop_after_mail) return;
      if (!credentials_ok()) {
        conn.write("530 authentication required\r\n");
        continue;
      }
      t.mail_from = arg.substr(arg.find(':') + 1);
      t.rcpt_to.clear();
      conn.write("250 sender ok\r\n");
    } else if (verb == "RCPT") {
      if (failure == Failure::rcpt_451) {
        conn.write("451 4.3.0 temporary failure, try again\r\n");
      } else if (failure == Failure::reject_550) {
        conn.write("550 5.1.1 no such user\r\n");
      } else {
        t.rcpt_to.push_back(arg.substr(arg.find(':') + 1));
        conn.write("250 recipient ok\r\n");
      }
    } else if (verb == "DATA") {
      if (t.mail_from.empty() || t.rcpt_to.empty()) {
        conn.write("503 need MAIL and RCPT first\r\n");
        continue;
      }
      conn.write("354 end with <CRLF>.<CRLF>\r\n");
      t.wire_data.clear();
      t.data.clear();
      for (;;) {
        if (!conn.read_line(line)) return;
        if (line == ".") break;
        t.wire_data += line + "\r\n";
        t.data += (line.starts_with('.') ? line.substr(1) : line) + "\r\n";
      }
      if (failure == Failure::data_451) {
        conn.write("451 4.3.0 local error in processing\r\n");
      } else {
        t.tls = conn.tls();
        {
          std::lock_guard lock(mu_);
          delivered_.push_back(t);
        }
        cv_.notify_all();
        conn.write("250 queued\r\n");
      }
      t.mail_from.clear();
      t.rcpt_to.clear();
    } else if (verb == "RSET") {
      t.mail_from.clear();
      t.rcpt_to.clear();
      conn.write("250 ok\r\n");
    } else if (verb == "NOOP") {
      conn.write("250 ok\r\n");
    } else if (verb == "QUIT") {
      conn.write("221 bye\r\n");
      return;
    } else {
      conn.write("500 unknown command\r\n");
    }
  }
}

}  // namespace chatd::mail::test
