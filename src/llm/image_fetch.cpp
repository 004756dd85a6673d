#include "llm/image_fetch.hpp"

#include "config/url.hpp"
#include "core/ascii.hpp"
#include "llm/http_client.hpp"
#include "llm/image_type.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::llm {

namespace asio = boost::asio;
using namespace std::string_view_literals;

namespace {

// ---------------------------------------------------------------------------------------------
// Addresses

struct V4Range {
  std::uint32_t network;
  int prefix;
};

constexpr std::uint32_t v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d;
}

// IANA's IPv4 special-purpose ranges that are not globally reachable unicast, plus multicast
// and the reserved class E (broadcast included). 192.0.0.0/24 is refused whole, though two
// anycast addresses in it are global: nothing an image is served from.
constexpr std::array<V4Range, 15> kNonPublicV4 = {{
    {v4(0, 0, 0, 0), 8},        // "this network", the unspecified address included
    {v4(10, 0, 0, 0), 8},       // private
    {v4(100, 64, 0, 0), 10},    // carrier-grade NAT
    {v4(127, 0, 0, 0), 8},      // loopback
    {v4(169, 254, 0, 0), 16},   // link-local (cloud metadata services live here)
    {v4(172, 16, 0, 0), 12},    // private
    {v4(192, 0, 0, 0), 24},     // IETF protocol assignments
    {v4(192, 0, 2, 0), 24},     // documentation (TEST-NET-1)
    {v4(192, 88, 99, 0), 24},   // 6to4 relay anycast (deprecated)
    {v4(192, 168, 0, 0), 16},   // private
    {v4(198, 18, 0, 0), 15},    // benchmarking
    {v4(198, 51, 100, 0), 24},  // documentation (TEST-NET-2)
    {v4(203, 0, 113, 0), 24},   // documentation (TEST-NET-3)
    {v4(224, 0, 0, 0), 4},      // multicast
    {v4(240, 0, 0, 0), 4},      // reserved, limited broadcast
}};

bool is_public_v4(std::uint32_t address) {
  return std::none_of(kNonPublicV4.begin(), kNonPublicV4.end(), [address](const V4Range& range) {
    const std::uint32_t mask = ~std::uint32_t{0} << (32 - range.prefix);
    return (address & mask) == range.network;
  });
}

std::uint32_t embedded_v4(const asio::ip::address_v6::bytes_type& b) { return v4(b[12], b[13], b[14], b[15]); }

bool is_public_v6(const asio::ip::address_v6& address) {
  const auto b = address.to_bytes();
  const bool zero_0_to_9 = std::all_of(b.begin(), b.begin() + 10, [](unsigned char c) { return c == 0; });
  if (zero_0_to_9 && b[10] == 0xff && b[11] == 0xff) return is_public_v4(embedded_v4(b));  // ::ffff:0:0/96
  const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
                     std::all_of(b.begin() + 4, b.begin() + 12, [](unsigned char c) { return c == 0; });
  if (nat64) return is_public_v4(embedded_v4(b));  // 64:ff9b::/96, translated to the IPv4 address
  // Only global unicast is public; the rest of the space is loopback, unspecified, IPv4-
  // compatible, discard-only, unique-local, link-local, site-local, multicast or unassigned.
  if ((b[0] & 0xe0) != 0x20) return false;
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0x00) return false;         // 2001::/23, Teredo included
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32, documentation
  if (b[0] == 0x20 && b[1] == 0x02) return false;  // 2002::/16, 6to4: reaches an IPv4 address through a relay
  if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0x00) return false;  // 3fff::/20, documentation
  return true;
}

// ---------------------------------------------------------------------------------------------
// Types

// Whether a Content-Type leaves room for an image: absent, image/*, or the generic binary
// types object stores answer when no type was given.
bool may_be_image(const std::optional<std::string>& content_type) {
  if (!content_type) return true;
  std::string_view type = *content_type;
  type = trim_blanks(type.substr(0, type.find(';')));
  const std::string lower = ascii_lower(type);
  return lower.empty() || lower.starts_with("image/") || lower == "application/octet-stream" ||
         lower == "binary/octet-stream";
}

// ---------------------------------------------------------------------------------------------
// Fetching

// scheme://authority of a URL, for the log: the path and query may hold signatures.
std::string origin_of(const config::Url& url) { return url.scheme + "://" + url.authority; }

Error refuse(std::string detail, std::string internal) {
  Error e = fail(Code::invalid_argument, std::move(detail));
  e.internal = std::move(internal);
  return e;
}

// `location` (a redirect's target, absolute or relative) resolved against `base`. Dot segments
// are left for the server to interpret, the fragment is dropped.
std::string resolve_location(const config::Url& base, std::string_view location) {
  location = trim_blanks(location);
  location = location.substr(0, location.find('#'));
  const auto scheme_end = location.find_first_of(":/?");
  if (scheme_end != std::string_view::npos && scheme_end > 0 && location[scheme_end] == ':') {
    return std::string(location);  // absolute
  }
  if (location.starts_with("//")) return base.scheme + ":" + std::string(location);
  std::string out = origin_of(base);
  if (location.starts_with("/")) return out + std::string(location);
  const std::string path = base.path.empty() ? "/" : base.path;
  if (location.starts_with("?")) return out + path + std::string(location);
  return out + path.substr(0, path.rfind('/') + 1) + std::string(location);
}

// A failure of the transport, in the image's terms.
Error network_failure(const Error& cause, const ImageFetchOptions& options, const std::string& origin) {
  Error e;
  if (cause.code == Code::timeout) {
    e = fail(Code::timeout, "the image was not fetched within " + std::to_string(options.timeout_ms) + " ms");
  } else {
    e = fail(Code::upstream, "the image could not be fetched (" + cause.detail + ")");
  }
  e.internal = origin + ": " + cause.detail + (cause.internal.empty() ? "" : " / " + cause.internal);
  return e;
}

std::optional<std::uint64_t> parse_content_length(const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  const std::string_view digits = trim_blanks(*value);
  if (digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(std::string(digits));
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

bool is_public_address(const asio::ip::address& address) {
  if (address.is_v4()) return is_public_v4(address.to_v4().to_uint());
  return is_public_v6(address.to_v6());
}

asio::awaitable<Result<Image>> fetch_image(Transport& transport, std::string url, const ImageFetchOptions& options,
                                           Cancellation& cancel) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max<std::int64_t>(options.timeout_ms, 0));
  const auto max_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(options.max_bytes, 0));
  const std::string too_large = "the image is larger than " + std::to_string(max_bytes) + " bytes";
  const std::string not_an_image = "the image URL does not point to a PNG, JPEG, GIF or WebP image";

  for (int redirects = 0;; ++redirects) {
    std::string problem;
    const auto parsed = config::parse_url(url, problem);
    if (!parsed) {
      if (redirects > 0) co_return refuse("the image URL redirects to an invalid URL", problem);
      co_return refuse("the image URL is not valid (" + problem + ")", problem);
    }
    const std::string origin = origin_of(*parsed);
    if (parsed->scheme != "https") {
      if (redirects > 0) co_return refuse("the image URL redirects to a URL that is not https", "to " + origin);
      co_return refuse("the image URL must be an https URL", origin);
    }
    if (parsed->has_userinfo) co_return refuse("the image URL must not hold credentials", origin);
    if (parsed->host.host.empty()) co_return refuse("the image URL has no host", origin);

    const auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left_ms <= 0) {
      Error e = fail(Code::timeout, "the image was not fetched within " + std::to_string(options.timeout_ms) + " ms");
      e.internal = origin + ": no time left after " + std::to_string(redirects) + " redirects";
      co_return e;
    }
    Timeouts timeouts;
    timeouts.connect_ms = left_ms;
    timeouts.first_byte_ms = left_ms;
    timeouts.total_ms = left_ms;
    UpstreamRequest request;
    request.method = "GET";
    request.url = url;
    request.headers.emplace_back("Accept", "image/png, image/jpeg, image/gif, image/webp");
    auto sent = co_await transport.send(std::move(request), timeouts, cancel);
    if (!sent) {
      if (sent.error().reason == kAddressNotAllowed) {
        co_return refuse("the image URL does not point to a public address", origin + ": " + sent.error().internal);
      }
      co_return network_failure(sent.error(), options, origin);
    }
    const std::unique_ptr<UpstreamResponse> response = std::move(sent.value());
    const int status = response->status();

    if (is_redirect(status)) {
      const auto location = response->header("location");
      if (!location || trim_blanks(*location).empty()) {
        co_return refuse("the image URL redirects without saying where", origin + ": " + std::to_string(status));
      }
      if (redirects >= options.max_redirects) {
        co_return refuse("the image URL redirects more than " + std::to_string(options.max_redirects) + " times",
                         origin);
      }
      url = resolve_location(*parsed, *location);
      continue;  // the response is dropped unread: its connection is closed, not pooled
    }
    if (status >= 500) {
      Error e = fail(Code::upstream, "the image server answered HTTP " + std::to_string(status));
      e.internal = origin;
      co_return e;
    }
    if (status != 200) {
      co_return refuse("the image URL answered HTTP " + std::to_string(status) + " instead of an image", origin);
    }

    const auto content_type = response->header("content-type");
    if (!may_be_image(content_type)) co_return refuse(not_an_image, origin + ": Content-Type " + *content_type);
    if (const auto length = parse_content_length(response->header("content-length")); length && *length > max_bytes) {
      co_return refuse(too_large, origin + ": Content-Length " + std::to_string(*length));
    }
    response->release_head();

    std::string data;
    bool sniffed = false;
    for (;;) {
      auto piece = co_await response->read_some();
      if (!piece) co_return network_failure(piece.error(), options, origin);
      const std::string& bytes = piece.value();
      if (bytes.empty()) break;
      if (bytes.size() > max_bytes - data.size()) {
        co_return refuse(too_large, origin + ": the body went past " + std::to_string(max_bytes) + " bytes");
      }
      data += bytes;
      // Refuse a non-image at its first bytes rather than after reading all of it.
      if (!sniffed && data.size() >= kImageTypeBytes) {
        if (image_type_of(data).empty())
          co_return refuse(not_an_image, origin + ": the bytes are no known image format");
        sniffed = true;
      }
    }
    const std::string_view media_type = image_type_of(data);
    if (media_type.empty()) co_return refuse(not_an_image, origin + ": the bytes are no known image format");
    Image image;
    image.media_type = std::string(media_type);
    image.data = std::move(data);
    co_return image;
  }
}

bool has_url_images(const ChatRequest& request) {
  for (const auto& m : request.messages)
    for (const auto& part : m.parts)
      if (part.image && part.image->data.empty() && !part.image->url.empty()) return true;
  return false;
}

asio::awaitable<Result<void>> fetch_request_images(Transport& transport, ChatRequest& request,
                                                   const ImageFetchOptions& options, Cancellation& cancel) {
  struct Pending {
    Image* image;
    std::string param;
  };
  std::vector<Pending> pending;
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    auto& parts = request.messages[i].parts;
    for (std::size_t j = 0; j < parts.size(); ++j) {
      auto& image = parts[j].image;
      if (!image || !image->data.empty() || image->url.empty()) continue;
      std::string param = "messages[" + std::to_string(i) + "].content[" + std::to_string(j) + "].image_url.url";
      if (pending.size() == kMaxFetchedImages) {
        Error e = fail(Code::invalid_argument,
                       "at most " + std::to_string(kMaxFetchedImages) + " images are fetched by URL per request");
        FieldError field;
        field.field = std::move(param);
        field.message = e.detail + " (send the others as data: URLs)";
        e.fields.push_back(std::move(field));
        co_return e;
      }
      Pending p;
      p.image = &*image;
      p.param = std::move(param);
      pending.push_back(std::move(p));
    }
  }
  for (auto& p : pending) {
    auto fetched = co_await fetch_image(transport, p.image->url, options, cancel);
    if (!fetched) {
      Error e = std::move(fetched.error());
      FieldError field;
      field.field = p.param;
      field.message = e.detail;
      e.fields.push_back(std::move(field));
      co_return e;
    }
    p.image->media_type = std::move(fetched.value().media_type);
    p.image->data = std::move(fetched.value().data);
    p.image->url.clear();
  }
  co_return ok();
}

}  // namespace chatd::llm
