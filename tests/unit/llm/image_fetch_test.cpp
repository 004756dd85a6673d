#include "llm/image_fetch.hpp"

#include "fake_transport.hpp"
#include "llm/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace chatd::llm {
namespace {

namespace asio = boost::asio;
using fake::FakeTransport;
using unit::run;
using namespace std::string_literals;

// ---------------------------------------------------------------------------------------------
// is_public_address

TEST(ImageAddressTest, PublicAndNonPublicAddresses) {
  struct Case {
    const char* address;
    bool is_public;
  };
  const std::vector<Case> cases = {
      // IPv4
      {"0.0.0.0", false},          // unspecified
      {"0.1.2.3", false},          // "this network"
      {"10.0.0.1", false},         // private
      {"10.255.255.255", false},   //
      {"100.64.0.1", false},       // CGNAT
      {"100.127.255.254", false},  //
      {"100.63.255.255", true},    // just below CGNAT
      {"100.128.0.0", true},       // just above CGNAT
      {"127.0.0.1", false},        // loopback
      {"127.255.0.9", false},      //
      {"169.254.169.254", false},  // link-local: cloud metadata
      {"172.16.0.1", false},       // private
      {"172.31.255.255", false},   //
      {"172.15.255.255", true},    // just outside 172.16/12
      {"172.32.0.0", true},        //
      {"192.0.0.8", false},        // IETF protocol assignments
      {"192.0.2.10", false},       // documentation
      {"192.88.99.1", false},      // 6to4 relay anycast
      {"192.168.1.1", false},      // private
      {"198.18.0.1", false},       // benchmarking
      {"198.19.255.255", false},   //
      {"198.51.100.7", false},     // documentation
      {"203.0.113.9", false},      // documentation
      {"224.0.0.1", false},        // multicast
      {"239.255.255.250", false},  //
      {"240.0.0.1", false},        // reserved
      {"255.255.255.255", false},  // broadcast
      {"1.1.1.1", true},
      {"8.8.8.8", true},
      {"93.184.216.34", true},
      {"192.0.3.1", true},
      {"223.255.255.255", true},
      // IPv6
      {"::", false},                      // unspecified
      {"::1", false},                     // loopback
      {"::ffff:127.0.0.1", false},        // IPv4-mapped loopback
      {"::ffff:10.1.2.3", false},         // IPv4-mapped private
      {"::ffff:169.254.169.254", false},  // IPv4-mapped link-local
      {"::ffff:100.64.0.1", false},       // IPv4-mapped CGNAT
      {"::ffff:0.0.0.0", false},          // IPv4-mapped unspecified
      {"::ffff:8.8.8.8", true},           // IPv4-mapped public
      {"::127.0.0.1", false},             // IPv4-compatible (deprecated)
      {"::ffff:0:8.8.8.8", false},        // IPv4-translated
      {"64:ff9b::7f00:1", false},         // NAT64 of 127.0.0.1
      {"64:ff9b::a00:1", false},          // NAT64 of 10.0.0.1
      {"64:ff9b::808:808", true},         // NAT64 of 8.8.8.8
      {"64:ff9b:1::808:808", false},      // local-use NAT64
      {"100::1", false},                  // discard-only
      {"fc00::1", false},                 // unique local
      {"fd12:3456:789a::1", false},       //
      {"fe80::1", false},                 // link-local
      {"febf::1", false},                 //
      {"fec0::1", false},                 // site-local (deprecated)
      {"ff02::1", false},                 // multicast
      {"ff0e::101", false},               //
      {"2001::1", false},                 // Teredo
      {"2001:1ff::1", false},             // IETF protocol assignments
      {"2001:db8::1", false},             // documentation
      {"2001:db8:ffff::1", false},        //
      {"3fff::1", false},                 // documentation (RFC 9637)
      {"3fff:fff::1", false},             //
      {"2002:7f00:1::1", false},          // 6to4
      {"5f00::1", false},                 // SRv6 SIDs
      {"4000::1", false},                 // unassigned
      {"2001:200::1", true},              // just above 2001::/23
      {"2001:4860:4860::8888", true},     //
      {"2606:4700:4700::1111", true},     //
      {"2a00:1450:4001::1", true},        //
      {"3ffe::1", true},                  // global unicast below 3fff::/20
      {"3fff:1000::1", true},             // just above 3fff::/20
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_public_address(asio::ip::make_address(c.address)), c.is_public) << c.address;
  }
}

// ---------------------------------------------------------------------------------------------
// fetch_image

const std::string kPng = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01"s;
const std::string kJpeg = "\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01"s;
const std::string kGif = "GIF89a\x01\0\x01\0\x80\0\0"s;
const std::string kWebp = "RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0"s;

fake::Script answer(int status, std::vector<std::pair<std::string, std::string>> headers,
                    std::vector<std::string> chunks = {}) {
  fake::Script s;
  s.status = status;
  s.headers = std::move(headers);
  s.chunks = std::move(chunks);
  return s;
}

fake::Script redirect(std::string location, int status = 302) {
  return answer(status, {{"Location", std::move(location)}, {"Content-Length", "0"}});
}

fake::Script png() { return answer(200, {{"Content-Type", "image/png"}}, {kPng.substr(0, 5), kPng.substr(5)}); }

class ImageFetchTest : public ::testing::Test {
 protected:
  ImageFetchTest() {
    options.max_bytes = 1000;
    options.timeout_ms = 5000;
  }
  Result<Image> fetch(const std::string& url) {
    Cancellation cancel;
    return run(fetch_image(transport, url, options, cancel));
  }
  // The fetch fails with `code`, its detail starting with `detail`.
  void expect_failure(const std::string& url, Code code, const std::string& detail) {
    auto r = fetch(url);
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code, code);
    EXPECT_EQ(r.error().detail.substr(0, detail.size()), detail) << r.error().detail;
  }

  FakeTransport transport;
  ImageFetchOptions options;
};

TEST_F(ImageFetchTest, APngIsFetched) {
  transport.script = png();
  auto r = fetch("https://images.example/a/cat.png?sig=secret");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r.value().media_type, "image/png");
  EXPECT_EQ(r.value().data, kPng);
  EXPECT_EQ(r.value().url, "");
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(transport.requests[0].method, "GET");
  EXPECT_EQ(transport.requests[0].url, "https://images.example/a/cat.png?sig=secret");
  EXPECT_EQ(transport.requests[0].body, "");
  EXPECT_GT(transport.last_timeouts.total_ms, 0);
  EXPECT_LE(transport.last_timeouts.total_ms, 5000);
  EXPECT_LE(transport.last_timeouts.connect_ms, 5000);
  EXPECT_LE(transport.last_timeouts.first_byte_ms, 5000);
}

TEST_F(ImageFetchTest, EveryFormatIsKnownByItsBytes) {
  const std::vector<std::pair<std::string, std::string>> formats = {
      {kPng, "image/png"}, {kJpeg, "image/jpeg"}, {kGif, "image/gif"}, {kWebp, "image/webp"}};
  for (const auto& [bytes, type] : formats) {
    transport.script = answer(200, {{"Content-Type", "image/whatever"}}, {bytes});
    auto r = fetch("https://images.example/x");
    ASSERT_TRUE(r) << type << ": " << r.error().detail;
    EXPECT_EQ(r.value().media_type, type);
    EXPECT_EQ(r.value().data, bytes);
  }
}

TEST_F(ImageFetchTest, TheBytesWinOverTheContentTypesSubtype) {
  for (const std::string header : {"image/jpeg", "IMAGE/GIF; charset=binary", "application/octet-stream", ""}) {
    transport.script = answer(200, {}, {kPng});
    if (!header.empty()) transport.script.headers.emplace_back("Content-Type", header);
    auto r = fetch("https://images.example/x.jpg");
    ASSERT_TRUE(r) << header << ": " << r.error().detail;
    EXPECT_EQ(r.value().media_type, "image/png") << header;
  }
}

TEST_F(ImageFetchTest, ARedirectIsFollowed) {
  transport.scripts = {redirect("/b/dog.png"), png()};
  auto r = fetch("https://images.example/a/cat.png");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r.value().media_type, "image/png");
  ASSERT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(transport.requests[1].url, "https://images.example/b/dog.png");
  EXPECT_EQ(transport.requests[1].method, "GET");
}

TEST_F(ImageFetchTest, RedirectTargetsAreResolvedAgainstTheCurrentUrl) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://cdn.example:8443/x.png", "https://cdn.example:8443/x.png"},
      {"//cdn.example/y.png#frag", "https://cdn.example/y.png"},
      {"/root.png", "https://images.example:444/root.png"},
      {"sibling.png", "https://images.example:444/a/b/sibling.png"},
      {"?v=2", "https://images.example:444/a/b/cat.png?v=2"},
  };
  for (const auto& [location, target] : cases) {
    transport.requests.clear();
    transport.scripts = {redirect(location, 301), png()};
    auto r = fetch("https://images.example:444/a/b/cat.png?v=1");
    ASSERT_TRUE(r) << location << ": " << r.error().detail;
    ASSERT_EQ(transport.requests.size(), 2u);
    EXPECT_EQ(transport.requests[1].url, target) << location;
  }
}

TEST_F(ImageFetchTest, ARedirectToHttpIsRefused) {
  transport.scripts = {redirect("http://images.example/cat.png", 307), png()};
  expect_failure("https://images.example/cat.png", Code::invalid_argument,
                 "the image URL redirects to a URL that is not https");
  EXPECT_EQ(transport.requests.size(), 1u);
}

TEST_F(ImageFetchTest, TooManyRedirectsAreRefused) {
  transport.scripts = {redirect("/again")};  // answers every request
  expect_failure("https://images.example/loop", Code::invalid_argument, "the image URL redirects more than 3 times");
  EXPECT_EQ(transport.requests.size(), 4u);  // the first request and three redirects

  transport.requests.clear();
  options.max_redirects = 3;
  transport.scripts = {redirect("/1"), redirect("/2"), redirect("/3"), png()};
  ASSERT_TRUE(fetch("https://images.example/0"));
  EXPECT_EQ(transport.requests.size(), 4u);
}

TEST_F(ImageFetchTest, ARedirectWithoutLocationIsRefused) {
  transport.script = answer(302, {});
  expect_failure("https://images.example/x", Code::invalid_argument, "the image URL redirects without saying where");
}

TEST_F(ImageFetchTest, OnlyHttpsUrlsAreFetched) {
  transport.script = png();
  expect_failure("http://images.example/cat.png", Code::invalid_argument, "the image URL must be an https URL");
  expect_failure("ftp://images.example/cat.png", Code::invalid_argument, "the image URL must be an https URL");
  expect_failure("https://user:pw@images.example/cat.png", Code::invalid_argument,
                 "the image URL must not hold credentials");
  expect_failure("https://images.example/a b.png", Code::invalid_argument, "the image URL is not valid");
  EXPECT_TRUE(transport.requests.empty());
}

TEST_F(ImageFetchTest, AContentLengthAboveTheLimitIsRefusedUnread) {
  options.max_bytes = 100;
  transport.script = answer(200, {{"Content-Type", "image/png"}, {"Content-Length", "101"}}, {kPng});
  expect_failure("https://images.example/big.png", Code::invalid_argument, "the image is larger than 100 bytes");
  EXPECT_EQ(transport.reads, 0u);
}

TEST_F(ImageFetchTest, ABodyGrowingPastTheLimitIsRefused) {
  options.max_bytes = 100;
  transport.script = answer(200, {{"Content-Type", "image/png"}},
                            {kPng, std::string(40, 'x'), std::string(40, 'x'), std::string(40, 'x')});
  expect_failure("https://images.example/big.png", Code::invalid_argument, "the image is larger than 100 bytes");
  EXPECT_EQ(transport.reads, 3u);  // stopped at the piece that went past the limit

  // Exactly the limit is fine (and a lying small Content-Length changes nothing).
  transport.script = answer(200, {{"Content-Length", "10"}}, {kPng, std::string(100 - kPng.size(), 'x')});
  auto r = fetch("https://images.example/just.png");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r.value().data.size(), 100u);
}

TEST_F(ImageFetchTest, AnHtmlPageIsRefusedWithoutEchoingIt) {
  transport.script = answer(200, {{"Content-Type", "text/html; charset=utf-8"}}, {"<html>secret page</html>"});
  auto r = fetch("https://images.example/page");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_argument);
  EXPECT_EQ(r.error().detail, "the image URL does not point to a PNG, JPEG, GIF or WebP image");
  EXPECT_EQ(r.error().internal.find("secret"), std::string::npos);
  EXPECT_EQ(transport.reads, 0u);  // refused on its Content-Type

  // The same bytes labelled as an image are refused on their bytes, at the first piece.
  transport.script = answer(200, {{"Content-Type", "image/png"}}, {"<html>secret page</html>", std::string(5000, 'x')});
  transport.reads = 0;
  r = fetch("https://images.example/page");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_argument);
  EXPECT_EQ(r.error().detail.find("secret"), std::string::npos);
  EXPECT_EQ(r.error().internal.find("secret"), std::string::npos);
  EXPECT_EQ(transport.reads, 1u);

  // An SVG is an image, but not one of the four.
  transport.script = answer(200, {{"Content-Type", "image/svg+xml"}}, {"<svg xmlns='http://www.w3.org/2000/svg'/>"});
  expect_failure("https://images.example/x.svg", Code::invalid_argument, "the image URL does not point to a PNG");
  // Too short to be anything.
  transport.script = answer(200, {{"Content-Type", "image/png"}}, {"\x89PN"});
  expect_failure("https://images.example/short.png", Code::invalid_argument, "the image URL does not point to a PNG");
}

TEST_F(ImageFetchTest, ATimeoutIsATimeout) {
  options.timeout_ms = 1234;
  transport.script.send_error = Code::timeout;
  expect_failure("https://images.example/slow.png", Code::timeout, "the image was not fetched within 1234 ms");
  EXPECT_LE(transport.last_timeouts.total_ms, 1234);

  transport.script = png();
  transport.script.read_error = Code::timeout;
  expect_failure("https://images.example/slow.png", Code::timeout, "the image was not fetched within 1234 ms");

  options.timeout_ms = 0;  // no time at all: nothing is sent
  transport.requests.clear();
  expect_failure("https://images.example/slow.png", Code::timeout, "the image was not fetched within 0 ms");
  EXPECT_TRUE(transport.requests.empty());
}

TEST_F(ImageFetchTest, NetworkFailuresAndServerErrorsAreUpstreamErrors) {
  transport.script.send_error = Code::upstream;
  expect_failure("https://images.example/x.png", Code::upstream, "the image could not be fetched");
  transport.script = png();
  transport.script.read_error = Code::upstream;
  expect_failure("https://images.example/x.png", Code::upstream, "the image could not be fetched");
  transport.script = answer(503, {{"Content-Type", "text/html"}}, {"<html>down</html>"});
  expect_failure("https://images.example/x.png", Code::upstream, "the image server answered HTTP 503");
  transport.script = answer(404, {{"Content-Type", "text/html"}}, {"<html>gone</html>"});
  expect_failure("https://images.example/x.png", Code::invalid_argument, "the image URL answered HTTP 404");
}

// With the real client and is_public_address as its filter, a loopback URL is refused before
// any connection: nothing listens on the port, so a connection attempt would fail differently.
TEST_F(ImageFetchTest, ANonPublicAddressIsRefusedByTheTransportFilter) {
  asio::io_context ioc;
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor probe(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  HttpClientOptions client_options;
  client_options.allow_address = is_public_address;
  HttpClient client(client_options);
  for (const std::string host : {"127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"}) {
    Cancellation cancel;
    auto r = run(ioc, fetch_image(client, "https://" + host + ":" + std::to_string(port) + "/x.png", options, cancel));
    ASSERT_FALSE(r) << host;
    EXPECT_EQ(r.error().code, Code::invalid_argument) << host << ": " << r.error().internal;
    EXPECT_EQ(r.error().detail, "the image URL does not point to a public address") << host;
  }
}

// ---------------------------------------------------------------------------------------------
// fetch_request_images

ChatMessage user_with_parts(std::vector<ContentPart> parts) {
  ChatMessage m;
  m.role = "user";
  m.parts = std::move(parts);
  return m;
}

ContentPart text_part(std::string text) {
  ContentPart p;
  p.text = std::move(text);
  return p;
}

ContentPart url_part(std::string url) {
  ContentPart p;
  p.image.emplace();
  p.image->url = std::move(url);
  p.image->detail = "low";
  return p;
}

ContentPart data_part() {
  ContentPart p;
  p.image.emplace();
  p.image->media_type = "image/gif";
  p.image->data = kGif;
  return p;
}

class ImageRequestFetchTest : public ImageFetchTest {
 protected:
  Status fetch_all(ChatRequest& request) {
    Cancellation cancel;
    return run(fetch_request_images(transport, request, options, cancel));
  }
};

TEST_F(ImageRequestFetchTest, UrlOnlyImagesAreFilledIn) {
  ChatRequest request;
  request.messages.push_back(ChatMessage{"system", "Be brief."});
  request.messages.push_back(user_with_parts({text_part("Compare"), data_part(), url_part("https://a.example/1.png")}));
  request.messages.push_back(ChatMessage{"assistant", "Sure."});
  request.messages.push_back(user_with_parts({url_part("https://a.example/2.jpg"), text_part("and this")}));
  transport.scripts = {png(), answer(200, {{"Content-Type", "image/jpeg"}}, {kJpeg})};
  auto r = fetch_all(request);
  ASSERT_TRUE(r) << r.error().detail;
  ASSERT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(transport.requests[0].url, "https://a.example/1.png");
  EXPECT_EQ(transport.requests[1].url, "https://a.example/2.jpg");
  const Image& first = *request.messages[1].parts[2].image;
  EXPECT_EQ(first.media_type, "image/png");
  EXPECT_EQ(first.data, kPng);
  EXPECT_EQ(first.url, "");
  EXPECT_EQ(first.detail, "low");
  const Image& second = *request.messages[3].parts[0].image;
  EXPECT_EQ(second.media_type, "image/jpeg");
  EXPECT_EQ(second.data, kJpeg);
  const Image& given = *request.messages[1].parts[1].image;  // a data: image stays as it was
  EXPECT_EQ(given.media_type, "image/gif");
  EXPECT_EQ(given.data, kGif);
}

TEST_F(ImageRequestFetchTest, AFailureNamesTheOpenAiParameter) {
  ChatRequest request;
  request.messages.push_back(ChatMessage{"system", "Be brief."});
  request.messages.push_back(user_with_parts({text_part("Look"), url_part("https://a.example/1.png")}));
  request.messages.push_back(
      user_with_parts({text_part("and"), data_part(), url_part("https://a.example/page.html"), text_part("?")}));
  transport.scripts = {png(), answer(200, {{"Content-Type", "text/html"}}, {"<html></html>"})};
  auto r = fetch_all(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_argument);
  ASSERT_EQ(r.error().fields.size(), 1u);
  EXPECT_EQ(r.error().fields[0].field, "messages[2].content[2].image_url.url");
  EXPECT_EQ(r.error().fields[0].message, "the image URL does not point to a PNG, JPEG, GIF or WebP image");
  EXPECT_EQ(request.messages[1].parts[1].image->data, kPng);  // fetched before the failure

  // A network failure keeps its code, and names the parameter too.
  transport.requests.clear();
  transport.scripts.clear();
  transport.script.send_error = Code::timeout;
  r = fetch_all(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::timeout);
  ASSERT_EQ(r.error().fields.size(), 1u);
  EXPECT_EQ(r.error().fields[0].field, "messages[2].content[2].image_url.url");
  EXPECT_EQ(transport.requests.size(), 1u);  // the image fetched before is not fetched again
}

TEST_F(ImageRequestFetchTest, AtMostSixteenImagesAreFetched) {
  ChatRequest request;
  std::vector<ContentPart> parts;
  for (int i = 0; i < 10; ++i) parts.push_back(url_part("https://a.example/" + std::to_string(i) + ".png"));
  request.messages.push_back(user_with_parts(parts));
  parts.insert(parts.begin(), data_part());
  request.messages.push_back(user_with_parts(parts));
  transport.script = png();
  auto r = fetch_all(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_argument);
  ASSERT_EQ(r.error().fields.size(), 1u);
  EXPECT_EQ(r.error().fields[0].field, "messages[1].content[7].image_url.url");  // the 17th
  EXPECT_TRUE(transport.requests.empty());

  request.messages.pop_back();
  request.messages.push_back(user_with_parts({url_part("https://a.example/a.png")}));
  ASSERT_TRUE(fetch_all(request));  // ten and one
  EXPECT_EQ(transport.requests.size(), 11u);
}

}  // namespace
}  // namespace chatd::llm
