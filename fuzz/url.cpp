// config/url: the URLs of the settings (database, Redis, SMTP, providers' base URLs and the
// Bedrock endpoint) and host[:port] values. A parsed URL's parts are consistent with the
// text, and masking hides a parsed password.

#include "config/url.hpp"

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  std::string_view text = fuzz::text_of(data, size);
  const std::uint8_t mode = fuzz::take_byte(text);
  std::string error;
  auto url = config::parse_url(text, error, (mode & 1) != 0);
  if (url) {
    FUZZ_CHECK(!url->scheme.empty());
    if (url->host.port) FUZZ_CHECK(*url->host.port >= 1 && *url->host.port <= 65535);
    FUZZ_CHECK(url->path.empty() || url->path[0] == '/');
    FUZZ_CHECK(!url->has_password || url->has_userinfo);
  } else {
    FUZZ_CHECK(!error.empty());
  }
  (void)config::mask_url_password(text);
  error.clear();
  auto host = config::parse_host_port(text, (mode & 2) != 0, error);
  if (!host) FUZZ_CHECK(!error.empty());
  (void)config::is_hostname(text);
  return 0;
}
