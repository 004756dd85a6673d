// redis_probe: the client of bench/redis.sh (compiled by the script itself).
//
//   redis_probe http SECONDS HIST_FILE URL
//       GET URL over one keep-alive connection, one request after another, for SECONDS
//   redis_probe redis SECONDS HIST_FILE HOST:PORT ARG...
//       the Redis command ARG... over one connection, one after another, for SECONDS
//   redis_probe revoke TRIES OUT_FILE URL_A URL_B LOGIN PASSWORD
//       TRIES times: log in on A, GET /auth/me on B with the access token (200: B now has the
//       session cached), log out on A (204), then GET /auth/me on B again and again, each
//       request sent as soon as the previous answer is read, until B answers 401. Writes
//       "microseconds polls" per try to OUT_FILE: the time from A's logout answer to B's 401
//       answer, and how many requests B answered before refusing (200s).
//
// http and redis append the latencies to HIST_FILE as "microseconds count" lines (so that
// rounds pool into one distribution) and print "requests p50 p90 p99 cpu" of this run (µs;
// cpu: the probe's own CPU time, so that the script can tell the machine's other load). Any
// unexpected answer (http: not a 200; redis: an error reply) ends the run with an error.
//
// Blocking send and receive and nothing else, like bench/serial_load.cpp: at one request at a
// time, a client with an event loop (wrk) adds jitter of its own that shows up as the tail.

#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <sys/socket.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

long micros(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

// One blocking TCP connection to an IPv4 HOST:PORT, opened on first use and again after the
// peer closed it.
class Conn {
 public:
  explicit Conn(std::string authority) : authority_(std::move(authority)) {
    const auto colon = authority_.rfind(':');
    if (colon == std::string::npos) fail("expected HOST:PORT: " + authority_);
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<std::uint16_t>(std::stoi(authority_.substr(colon + 1))));
    if (inet_pton(AF_INET, authority_.substr(0, colon).c_str(), &addr_.sin_addr) != 1)
      fail("not an IPv4 address: " + authority_);
  }
  ~Conn() { close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  const std::string& authority() const { return authority_; }

  void send_all(std::string_view data) {
    if (fd_ < 0) open();
    for (std::size_t sent = 0; sent < data.size();) {
      const auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) fail(authority_ + ": send failed");
      sent += static_cast<std::size_t>(n);
    }
  }
  // Appends what arrives to `in`; fails when the peer closed.
  void receive(std::string& in) {
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) fail(authority_ + ": connection closed");
    in.append(buf, static_cast<std::size_t>(n));
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0)
      fail("cannot connect to " + authority_);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  std::string authority_;
  sockaddr_in addr_{};
  int fd_ = -1;
};

// ---- HTTP/1.1 ------------------------------------------------------------------------------

struct Url {
  std::string authority;  // HOST:PORT
  std::string path;
};

Url parse_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) fail("expected an http:// URL: " + url);
  const auto slash = url.find('/', scheme.size());
  return {url.substr(scheme.size(), slash - scheme.size()), slash == std::string::npos ? "/" : url.substr(slash)};
}

struct Answer {
  int status = 0;
  std::string body;
};

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

class HttpClient {
 public:
  explicit HttpClient(const std::string& authority) : conn_(authority) {}

  Answer request(std::string_view method, std::string_view path, std::string_view token = {},
                 std::string_view json = {}) {
    out_.clear();
    out_.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(conn_.authority()).append("\r\n");
    if (!token.empty()) out_.append("Authorization: Bearer ").append(token).append("\r\n");
    if (!json.empty()) out_.append("Content-Type: application/json\r\n");
    if (!json.empty() || method == "POST")
      out_.append("Content-Length: ").append(std::to_string(json.size())).append("\r\n");
    out_.append("\r\n").append(json);
    conn_.send_all(out_);

    in_.clear();
    std::size_t head_end = std::string::npos, want = 0;
    bool close_after = false;
    Answer a;
    for (;;) {
      conn_.receive(in_);
      if (head_end == std::string::npos) {
        head_end = in_.find("\r\n\r\n");
        if (head_end == std::string::npos) continue;
        if (in_.compare(0, 9, "HTTP/1.1 ") != 0) fail(conn_.authority() + ": not an HTTP/1.1 answer");
        a.status = std::atoi(in_.c_str() + 9);
        const std::string head = lowercase(std::string_view(in_).substr(0, head_end + 2));
        std::size_t length = 0;
        if (const auto at = head.find("\r\ncontent-length:"); at != std::string::npos)
          length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
        else if (a.status != 204 && a.status != 304)
          fail(conn_.authority() + ": an answer without Content-Length");
        close_after = head.find("\r\nconnection: close\r\n") != std::string::npos;
        want = head_end + 4 + length;
      }
      if (in_.size() >= want) break;
    }
    if (in_.size() != want) fail(conn_.authority() + ": more bytes than the answer");
    a.body = in_.substr(head_end + 4);
    if (close_after) conn_.close();
    return a;
  }

 private:
  Conn conn_;
  std::string out_, in_;  // their memory kept between requests
};

// ---- Redis (RESP2) -------------------------------------------------------------------------

// The end of the complete reply starting at `at` in `in`, or npos when more bytes are needed.
// An error reply ('-') sets `error`.
std::size_t resp_end(const std::string& in, std::size_t at, std::string& error) {
  if (at >= in.size()) return std::string::npos;
  const auto eol = in.find("\r\n", at);
  if (eol == std::string::npos) return std::string::npos;
  const char type = in[at];
  switch (type) {
    case '+':
    case ':': return eol + 2;
    case '-': error = in.substr(at + 1, eol - at - 1); return eol + 2;
    case '$': {
      const long n = std::strtol(in.c_str() + at + 1, nullptr, 10);
      if (n < 0) return eol + 2;
      const std::size_t end = eol + 2 + static_cast<std::size_t>(n) + 2;
      return in.size() >= end ? end : std::string::npos;
    }
    case '*': {
      const long n = std::strtol(in.c_str() + at + 1, nullptr, 10);
      std::size_t next = eol + 2;
      for (long i = 0; i < n; ++i) {
        next = resp_end(in, next, error);
        if (next == std::string::npos) return next;
      }
      return next;
    }
    default: fail(std::string("an unknown RESP type: ") + type);
  }
}

// ---- Latency runs ----------------------------------------------------------------------------

struct Histogram {
  std::map<long, long> counts;  // microseconds -> count
  long total = 0;
  void add(long us) {
    ++counts[us];
    ++total;
  }
  long percentile(double q) const {
    long seen = 0;
    for (const auto& [us, count] : counts) {
      seen += count;
      if (static_cast<double>(seen) >= static_cast<double>(total) * q / 100) return us;
    }
    return 0;
  }
  void append_to(const std::string& file) const {
    std::ofstream out(file, std::ios::app);
    for (const auto& [us, count] : counts) out << us << ' ' << count << '\n';
    if (!out) fail("cannot write " + file);
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const long cpu_us =
        (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000L + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    std::printf("%ld %ld %ld %ld %ld\n", total, percentile(50), percentile(90), percentile(99), cpu_us);
  }
};

void run_http(long seconds, const std::string& hist_file, const std::string& url) {
  const Url u = parse_url(url);
  HttpClient client(u.authority);
  Histogram h;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    const auto start = Clock::now();
    const Answer a = client.request("GET", u.path);
    h.add(micros(Clock::now() - start));
    if (a.status != 200) fail(url + ": status " + std::to_string(a.status));
  }
  h.append_to(hist_file);
}

void run_redis(long seconds, const std::string& hist_file, const std::string& authority,
               const std::vector<std::string>& args) {
  std::string command = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) command += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  Conn conn(authority);
  Histogram h;
  std::string in, error;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    const auto start = Clock::now();
    conn.send_all(command);
    in.clear();
    std::size_t done = std::string::npos;
    while (done == std::string::npos) {
      conn.receive(in);
      done = resp_end(in, 0, error);
    }
    h.add(micros(Clock::now() - start));
    if (!error.empty()) fail(authority + ": " + error);
    if (done != in.size()) fail(authority + ": more bytes than the reply");
  }
  h.append_to(hist_file);
}

// ---- Revocation propagation ------------------------------------------------------------------

std::string json_string_field(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  const auto at = json.find(key);
  if (at == std::string::npos) fail("no \"" + name + "\" in " + json.substr(0, 200));
  const auto start = at + key.size();
  const auto end = json.find('"', start);
  return json.substr(start, end - start);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

void run_revoke(long tries, const std::string& out_file, const std::string& url_a, const std::string& url_b,
                const std::string& login, const std::string& password) {
  Url a = parse_url(url_a), b = parse_url(url_b);
  for (Url* u : {&a, &b})
    if (u->path.ends_with('/')) u->path.pop_back();  // the routes below start with '/'
  HttpClient on_a(a.authority), on_b(b.authority);
  const std::string credentials =
      "{\"login\":\"" + json_escape(login) + "\",\"password\":\"" + json_escape(password) + "\"}";
  std::ofstream out(out_file);
  for (long i = 0; i < tries; ++i) {
    const Answer logged_in = on_a.request("POST", a.path + "/auth/login", {}, credentials);
    if (logged_in.status != 200) fail("login on A: status " + std::to_string(logged_in.status));
    const std::string token = json_string_field(logged_in.body, "access_token");
    if (const Answer used = on_b.request("GET", b.path + "/auth/me", token); used.status != 200)
      fail("first use on B: status " + std::to_string(used.status));
    if (const Answer out_a = on_a.request("POST", a.path + "/auth/logout", token); out_a.status != 204)
      fail("logout on A: status " + std::to_string(out_a.status));
    const auto logged_out = Clock::now();
    const auto give_up = logged_out + std::chrono::seconds(10);
    long polls = 0;
    for (;;) {
      const Answer polled = on_b.request("GET", b.path + "/auth/me", token);
      if (polled.status == 401) break;
      if (polled.status != 200) fail("polling B: status " + std::to_string(polled.status));
      ++polls;
      if (Clock::now() > give_up) fail("B still accepts the token 10 s after the logout");
    }
    out << micros(Clock::now() - logged_out) << ' ' << polls << '\n';
  }
  if (!out.flush()) fail("cannot write " + out_file);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 4 && args[0] == "http") {
      run_http(std::stol(args[1]), args[2], args[3]);
    } else if (args.size() >= 5 && args[0] == "redis") {
      run_redis(std::stol(args[1]), args[2], args[3], std::vector<std::string>(args.begin() + 4, args.end()));
    } else if (args.size() == 7 && args[0] == "revoke") {
      run_revoke(std::stol(args[1]), args[2], args[3], args[4], args[5], args[6]);
    } else {
      std::fprintf(stderr,
                   "usage: %s http SECONDS HIST_FILE URL\n"
                   "       %s redis SECONDS HIST_FILE HOST:PORT ARG...\n"
                   "       %s revoke TRIES OUT_FILE URL_A URL_B LOGIN PASSWORD\n",
                   argv[0], argv[0], argv[0]);
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "redis_probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
