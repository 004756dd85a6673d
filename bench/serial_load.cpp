// chatd_serial_load: the load generator of bench/chat.sh's rounds at concurrency 1.
//
//   chatd_serial_load SECONDS BODY_FILE HIST_FILE URL [TOKEN]
//
// Sends one POST after another over one keep-alive connection for SECONDS and appends the
// latencies to HIST_FILE as "microseconds count" lines (so that the rounds of one path pool
// into one distribution), then prints "requests p50 p99" of this run (µs). URL is http://IPv4:PORT/path;
// TOKEN, if given, is sent as a bearer token. Any answer but a 200 with a Content-Length
// ends the run with an error.
//
// Why not wrk, which the other rows use: at concurrency 1 wrk's own jitter (its event loop,
// timers and Lua) is most of the tail it reports. Against nginx serving a static file, wrk
// gave a p99 of 234 to 480 µs from run to run where this loop, a blocking send and receive
// and nothing else, gives 140 µs; the p50s agree (77 µs). The tail being compared is the
// servers', not the client's.

#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  std::string url;
  std::string request;  // the whole request, sent as is every time
  int fd = -1;
  std::string in;                  // the answer being read, its memory kept between requests
  std::map<long, long> histogram;  // microseconds -> count
  long requests = 0;
};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// url: http://IPv4:PORT/path
Target open_target(const std::string& url, const std::string& token, const std::string& body) {
  Target t;
  t.url = url;
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) fail("expected an http:// URL: " + url);
  const auto slash = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), slash - scheme.size());
  const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) fail("expected HOST:PORT in " + url);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1))));
  if (inet_pton(AF_INET, authority.substr(0, colon).c_str(), &addr.sin_addr) != 1) fail("not an IPv4 address: " + url);
  t.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (t.fd < 0 || ::connect(t.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail("cannot connect to " + url);
  const int one = 1;
  ::setsockopt(t.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  std::ostringstream r;
  r << "POST " << path << " HTTP/1.1\r\nHost: " << authority << "\r\nContent-Type: application/json\r\n";
  if (!token.empty()) r << "Authorization: Bearer " << token << "\r\n";
  r << "Content-Length: " << body.size() << "\r\n\r\n" << body;
  t.request = r.str();
  return t;
}

std::size_t content_length(std::string_view head) {
  std::string lower(head);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) fail("an answer without Content-Length");
  return std::strtoul(lower.c_str() + at + 17, nullptr, 10);
}

// One request and its whole answer; returns the time taken.
Clock::duration exchange(Target& t) {
  const auto start = Clock::now();
  for (std::size_t sent = 0; sent < t.request.size();) {
    const auto n = ::send(t.fd, t.request.data() + sent, t.request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) fail(t.url + ": send failed");
    sent += static_cast<std::size_t>(n);
  }
  std::string& in = t.in;
  in.clear();
  std::size_t head_end = std::string::npos, want = 0;
  char buf[16384];
  for (;;) {
    const auto n = ::recv(t.fd, buf, sizeof buf, 0);
    if (n <= 0) fail(t.url + ": connection closed");
    in.append(buf, static_cast<std::size_t>(n));
    if (head_end == std::string::npos) {
      head_end = in.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      if (in.compare(0, 12, "HTTP/1.1 200") != 0) fail(t.url + ": " + in.substr(0, in.find('\r')));
      want = head_end + 4 + content_length(std::string_view(in).substr(0, head_end));
    }
    if (in.size() >= want) break;
  }
  if (in.size() != want) fail(t.url + ": more bytes than the answer");
  return Clock::now() - start;
}

long percentile(const Target& t, double q) {
  long seen = 0;
  for (const auto& [us, count] : t.histogram) {
    seen += count;
    if (static_cast<double>(seen) >= static_cast<double>(t.requests) * q / 100) return us;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::fprintf(stderr, "usage: %s SECONDS BODY_FILE HIST_FILE URL [TOKEN]\n", argv[0]);
    return 2;
  }
  try {
    const auto seconds = std::chrono::seconds(std::atol(argv[1]));
    std::ifstream body_file(argv[2]);
    if (!body_file) fail(std::string("cannot read ") + argv[2]);
    const std::string body((std::istreambuf_iterator<char>(body_file)), std::istreambuf_iterator<char>());
    Target t = open_target(argv[4], argc == 6 ? argv[5] : "", body);
    const auto end = Clock::now() + seconds;
    while (Clock::now() < end) {
      const auto took = std::chrono::duration_cast<std::chrono::microseconds>(exchange(t)).count();
      ++t.histogram[static_cast<long>(took)];
      ++t.requests;
    }
    ::close(t.fd);
    std::ofstream out(argv[3], std::ios::app);
    for (const auto& [us, count] : t.histogram) out << us << ' ' << count << '\n';
    if (!out) fail(std::string("cannot write ") + argv[3]);
    std::printf("%ld %ld %ld\n", t.requests, percentile(t, 50), percentile(t, 99));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chatd_serial_load: %s\n", e.what());
    return 1;
  }
  return 0;
}
