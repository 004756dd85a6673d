#pragma once
// The built web UI, compiled into the binary (cmake/embed_web.cmake writes the table from
// web/dist at build time), and how it is served: routes for its files, the SPA's index.html
// for browser navigations to any path no API route takes, ETags, caching and gzip.

#include "http/message.hpp"
#include "http/router.hpp"

#include <optional>
#include <span>
#include <string_view>

namespace chatd::web {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/index-3f2a1b.js"
  std::string_view content_type;  // with charset for text
  std::string_view etag;          // quoted strong ETag of the identity bytes
  std::string_view body;
  std::string_view gzip;  // the same bytes gzipped at build time; empty when there are none
  bool immutable;         // a hashed file name under /assets/: cached for a year
};

// Every file of the built UI; empty when the binary was built without one.
std::span<const Asset> embedded_assets();

// The policy of the SPA's pages and files: scripts, styles, fonts, images and requests from
// this origin only (images also as data: URLs), no plugins, no framing, no <base>.
inline constexpr std::string_view kSpaCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

class StaticFiles {
 public:
  explicit StaticFiles(std::span<const Asset> assets);

  // GET (and HEAD) routes for every file, "/" for index.html.
  void add_routes(http::Router& router) const;

  // The SPA's index.html for a GET or HEAD that no route took and whose Accept prefers
  // text/html over JSON (a browser navigation to /login, /chat/<id>, ...); nullopt otherwise,
  // and when there is no UI built in.
  std::optional<http::Response> fallback(const http::Context& ctx) const;

  // The answer for one file: 200 (gzip when accepted and smaller), or 304 when If-None-Match
  // names its ETag.
  static http::Response serve(const http::Context& ctx, const Asset& asset);

 private:
  std::span<const Asset> assets_;
  const Asset* index_ = nullptr;
};

// True when an Accept header ranks text/html above application/json (explicit types, their
// type/* ranges and */* all count, with their q values). A missing header is false.
bool prefers_html(std::string_view accept);

// True when an Accept-Encoding header accepts gzip (explicitly or through *, q > 0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace chatd::web
