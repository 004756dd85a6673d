// Addresses and networks for CHATD_TRUSTED_PROXIES and the HTTP layer's X-Forwarded-For.

#include "config/config.hpp"

#include <arpa/inet.h>
#include <cstring>

namespace chatd::config {

namespace {

constexpr std::size_t kMaxAddressText = 64;  // longer than any textual IPv6 address

}  // namespace

std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text) {
  // inet_pton needs a NUL-terminated string; an embedded NUL would cut the text short.
  if (text.empty() || text.size() > kMaxAddressText || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string s(text);
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

std::optional<Network> parse_network(std::string_view text) {
  auto slash = text.find('/');
  auto address = parse_ip(text.substr(0, slash));
  if (!address) return std::nullopt;
  bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  int max_prefix = v4 ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    // Strict: 1-3 decimal digits, no sign, no leading zero ("/08" is refused).
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max_prefix) return std::nullopt;
  }
  Network net;
  net.prefix = v4 ? prefix + 96 : prefix;
  net.text.assign(text);
  net.address = *address;
  // Clear the host bits so that the stored address is the network's first address.
  for (int bit = net.prefix; bit < 128; ++bit) {
    auto idx = static_cast<std::size_t>(bit / 8);
    net.address[idx] = static_cast<std::uint8_t>(net.address[idx] & ~(0x80u >> (bit % 8)));
  }
  return net;
}

bool contains(const Network& network, const std::array<std::uint8_t, 16>& address) {
  int prefix = network.prefix < 0 ? 0 : (network.prefix > 128 ? 128 : network.prefix);
  int full = prefix / 8;
  for (int i = 0; i < full; ++i) {
    auto idx = static_cast<std::size_t>(i);
    if (network.address[idx] != address[idx]) return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto idx = static_cast<std::size_t>(full);
  auto mask = static_cast<std::uint8_t>(0xffu << (8 - rest));
  return (network.address[idx] & mask) == (address[idx] & mask);
}

}  // namespace chatd::config
