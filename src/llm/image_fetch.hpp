#pragma once
// Fetching the images a client gave as https URLs, for providers that take only the bytes
// (Bedrock). The URLs come from untrusted clients, so the fetch is SSRF-safe when `transport`
// is an HttpClient whose allow_address is is_public_address: that filter checks the very
// address connected to, on every hop. This code follows redirects itself (https only, a
// bounded number), bounds the bytes read and the time taken, and accepts only PNG, JPEG, GIF
// and WebP.
//
// The type: the Content-Type header must not say something other than an image (absent,
// image/* and application/octet-stream pass; text/html is refused before its body is read)
// and the first bytes must be one of the four formats; the media type returned is the one
// the bytes show, whatever subtype the header claimed.

#include "core/result.hpp"
#include "llm/cancel.hpp"
#include "llm/provider.hpp"
#include "llm/transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace chatd::llm {

// Whether `address` is a public unicast address that chatd may fetch from. False for the
// unspecified, loopback, private (RFC 1918), CGNAT, link-local, multicast, broadcast,
// reserved, benchmarking and documentation ranges of IPv4, and in IPv6 for everything outside
// global unicast (2000::/3: so loopback, unique-local, link-local, site-local, multicast, ...)
// plus its special ranges (2001::/23 with Teredo, 2001:db8::/32, 6to4 2002::/16, 3fff::/20).
// IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses are judged by the IPv4
// address they carry.
bool is_public_address(const boost::asio::ip::address& address);

struct ImageFetchOptions {
  std::int64_t max_bytes = 0;       // CHATD_MAX_IMAGE_BYTES: larger images are refused
  std::int64_t timeout_ms = 10000;  // the whole fetch of one image, redirects included
  int max_redirects = 3;
};

// At most this many images are fetched for one request; more is refused.
inline constexpr std::size_t kMaxFetchedImages = 16;

// GETs the image at `url` (https only) and returns it with its bytes and media type ("url"
// left empty). Errors, with a detail a client can read (never the response body, never the
// URL's path or query, which may hold signatures):
// - Code::invalid_argument: the URL is not https or not valid, a redirect goes to a non-https
//   URL or there are more than max_redirects, the host is not public (the transport refused
//   it with kAddressNotAllowed), the image is larger than max_bytes (a Content-Length above
//   it is refused before any body byte), the answer is not a PNG, JPEG, GIF or WebP image,
//   or the server answered a status other than 200, a redirect or 5xx;
// - Code::timeout: the fetch took longer than timeout_ms;
// - Code::upstream: DNS, connection, TLS or read failure, a 5xx answer, or cancellation.
// `transport`, `options` and `cancel` must outlive the call.
boost::asio::awaitable<Result<Image>> fetch_image(Transport& transport, std::string url,
                                                  const ImageFetchOptions& options, Cancellation& cancel);

// Whether `request` holds an image known only by its URL (not its bytes).
bool has_url_images(const ChatRequest& request);

// Fetches every image of `request` known only by its URL (one after the other) and sets its
// `data` and `media_type` (clearing `url`, as Image documents). Call it on the request as the
// OpenAI reader built it: messages[i] and parts[j] are then the OpenAI messages[i].content[j].
// Errors: more than kMaxFetchedImages such images (Code::invalid_argument, before fetching
// any), or the first failed fetch_image (its code and detail); either way Error::fields holds
// one FieldError naming the image's URL parameter ("messages[1].content[2].image_url.url").
// Images fetched before a failure keep their bytes.
boost::asio::awaitable<Result<void>> fetch_request_images(Transport& transport, ChatRequest& request,
                                                          const ImageFetchOptions& options, Cancellation& cancel);

}  // namespace chatd::llm
