// config/network: IP addresses and networks, as X-Forwarded-For items (from clients,
// through trusted proxies) and CHATD_TRUSTED_PROXIES entries are read. A network contains
// the address it was written with.

#include "config/config.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
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
  return 0;
}
