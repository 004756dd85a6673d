#include "config/config.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

using chatd::config::contains;
using chatd::config::Network;
using chatd::config::parse_ip;
using chatd::config::parse_network;

namespace {

using Bytes = std::array<std::uint8_t, 16>;

Bytes mapped(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

Bytes ip(const char* text) {
  auto parsed = parse_ip(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(Bytes{});
}

Network net(const char* text) {
  auto parsed = parse_network(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(Network{});
}

}  // namespace

TEST(ConfigNetwork, ParseIpMapsIpv4IntoIpv6) {
  EXPECT_EQ(ip("1.2.3.4"), mapped(1, 2, 3, 4));
  EXPECT_EQ(ip("255.255.255.255"), mapped(255, 255, 255, 255));
  EXPECT_EQ(ip("0.0.0.0"), mapped(0, 0, 0, 0));
  // The IPv4-mapped IPv6 spelling is the same address.
  EXPECT_EQ(ip("::ffff:1.2.3.4"), mapped(1, 2, 3, 4));
  EXPECT_EQ(ip("::FFFF:0102:0304"), mapped(1, 2, 3, 4));
}

TEST(ConfigNetwork, ParseIpKeepsIpv6) {
  EXPECT_EQ(ip("::1"), (Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(ip("::"), Bytes{});
  EXPECT_EQ(ip("2001:db8::ab:1"), (Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0, 1}));
  EXPECT_EQ(ip("2001:DB8::AB:1"), ip("2001:db8::ab:1"));
  EXPECT_NE(ip("::1"), ip("0.0.0.1"));
}

TEST(ConfigNetwork, ParseIpRefusesAnythingButOneAddress) {
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "1.2.3.256", "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "[::1]", "::1%eth0", "fe80::1%1",
        "1.2.3.4:80", "gggg::1", "1.2.3.4/32", "localhost", "1:2:3:4:5:6:7:8:9", "0x01020304", "16909060"}) {
    EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_ip(std::string("1.2.3.4\0junk", 12)).has_value());
  EXPECT_FALSE(parse_ip(std::string(100, '1')).has_value());
}

TEST(ConfigNetwork, ParseNetworkPrefixes) {
  Network n = net("10.0.0.0/8");
  EXPECT_EQ(n.prefix, 104);
  EXPECT_EQ(n.address, mapped(10, 0, 0, 0));
  EXPECT_EQ(n.text, "10.0.0.0/8");

  EXPECT_EQ(net("1.2.3.4").prefix, 128);
  EXPECT_EQ(net("1.2.3.4/32").prefix, 128);
  EXPECT_EQ(net("::1").prefix, 128);
  EXPECT_EQ(net("2001:db8::/32").prefix, 32);
  EXPECT_EQ(net("0.0.0.0/0").prefix, 96);
  EXPECT_EQ(net("::/0").prefix, 0);
  EXPECT_EQ(net("::ffff:10.0.0.0/104").prefix, 104);  // written in IPv6 terms
}

TEST(ConfigNetwork, ParseNetworkClearsHostBits) {
  EXPECT_EQ(net("10.1.2.3/8").address, mapped(10, 0, 0, 0));
  EXPECT_EQ(net("192.168.3.255/23").address, mapped(192, 168, 2, 0));
  EXPECT_EQ(net("2001:db8:ffff::1/32").address, ip("2001:db8::"));
  EXPECT_EQ(net("::1/0").address, Bytes{});
}

TEST(ConfigNetwork, ParseNetworkRefusesBadPrefixes) {
  for (const char* bad :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/8/8", "/8",
        "10.0.0.0/ 8", "10.0.0.0/1000", "10.0.0.0/8 ", "10.0.0/8", "example.com/8", "10.0.0.0/0x8", ""}) {
    EXPECT_FALSE(parse_network(bad).has_value()) << bad;
  }
}

TEST(ConfigNetwork, ContainsIpv4) {
  Network ten = net("10.0.0.0/8");
  EXPECT_TRUE(contains(ten, ip("10.0.0.0")));
  EXPECT_TRUE(contains(ten, ip("10.255.1.1")));
  EXPECT_TRUE(contains(ten, ip("::ffff:10.1.1.1")));
  EXPECT_FALSE(contains(ten, ip("11.0.0.0")));
  EXPECT_FALSE(contains(ten, ip("9.255.255.255")));
  EXPECT_FALSE(contains(ten, ip("::a00:1")));  // IPv4-compatible, not mapped

  Network odd = net("192.168.0.0/23");
  EXPECT_TRUE(contains(odd, ip("192.168.1.255")));
  EXPECT_FALSE(contains(odd, ip("192.168.2.0")));

  Network one = net("1.2.3.4");
  EXPECT_TRUE(contains(one, ip("1.2.3.4")));
  EXPECT_FALSE(contains(one, ip("1.2.3.5")));
}

TEST(ConfigNetwork, ContainsIpv6AndZeroPrefixes) {
  Network doc = net("2001:db8::/32");
  EXPECT_TRUE(contains(doc, ip("2001:db8:ffff::1")));
  EXPECT_FALSE(contains(doc, ip("2001:db9::")));
  EXPECT_FALSE(contains(doc, ip("1.2.3.4")));

  Network pair = net("fd00::/127");
  EXPECT_TRUE(contains(pair, ip("fd00::1")));
  EXPECT_FALSE(contains(pair, ip("fd00::2")));

  Network all_v4 = net("0.0.0.0/0");
  EXPECT_TRUE(contains(all_v4, ip("1.2.3.4")));
  EXPECT_TRUE(contains(all_v4, ip("255.255.255.255")));
  EXPECT_FALSE(contains(all_v4, ip("::1")));

  Network all = net("::/0");
  EXPECT_TRUE(contains(all, ip("::1")));
  EXPECT_TRUE(contains(all, ip("1.2.3.4")));
  EXPECT_TRUE(contains(all, ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));

  Network loopback6 = net("::1");
  EXPECT_TRUE(contains(loopback6, ip("::1")));
  EXPECT_FALSE(contains(loopback6, ip("127.0.0.1")));
}
