// config/network and the pipeline's client address: IP addresses and networks as
// CHATD_TRUSTED_PROXIES entries are read, and X-Forwarded-For lines (from clients, through
// trusted proxies) as Pipeline::client_ip walks them. A network contains the address it was
// written with; the client address is the peer's or one of the forwarded addresses.

#include "config/config.hpp"
#include "fuzz.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"
#include "limits/memory_rate_limiter.hpp"

#include <fcntl.h>

namespace {

using namespace chatd;

// Client addresses are all this target asks of the pipeline: no caller is ever authenticated.
class NoCallers final : public Authenticator {
 public:
  boost::asio::awaitable<Result<Principal>> authenticate(std::string_view) override {
    co_return fail(Code::unauthenticated, "no callers here");
  }
};

const http::Pipeline& pipeline() {
  static Logger log(LogLevel::error, LogFormat::json, ::open("/dev/null", O_WRONLY | O_CLOEXEC));
  static const http::Router router;
  static obs::Metrics metrics({}, "fuzz");
  static NoCallers nobody;
  static limits::MemoryRateLimiter limiter;
  static const http::Pipeline p = [] {
    http::PipelineOptions options;
    for (const char* n : {"10.0.0.0/8", "::1/128", "fd00::/8"})
      options.trusted_proxies.push_back(*config::parse_network(n));
    return http::Pipeline(router, std::move(options), {nobody, nobody, limiter}, log, metrics);
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::text_of(data, size);
  auto ip = config::parse_ip(text);
  auto network = config::parse_network(text);
  if (network && text.find('/') == std::string_view::npos) {
    FUZZ_CHECK(ip);
    FUZZ_CHECK(config::contains(*network, *ip));
  }
  if (network) {
    if (auto first = config::parse_ip(text.substr(0, text.find('/')))) (void)config::contains(*network, *first);
  }

  // Each line of the input is one X-Forwarded-For field of a request from a trusted proxy.
  http::Request req;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (line.find_first_of("\r\0", 0, 2) != std::string_view::npos) continue;  // not a field value
    req.insert("X-Forwarded-For", line);
  }
  const std::string client = pipeline().client_ip(req, http::Peer{"10.1.2.3", false});
  FUZZ_CHECK(client == "10.1.2.3" || (config::parse_ip(client) && text.find(client) != std::string_view::npos));
  return 0;
}
