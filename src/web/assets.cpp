#include "web/assets.hpp"

#include "core/ascii.hpp"

#include <charconv>

namespace chatd::web {

namespace bhttp = boost::beast::http;

namespace {

// One element of an Accept-style list: the value before ';' (lowercase) and its q (1 when
// absent, 0 when malformed).
struct Ranked {
  std::string value;
  double q = 1.0;
};

std::vector<Ranked> ranked_list(std::string_view header) {
  std::vector<Ranked> out;
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    auto semi = item.find(';');
    Ranked r{ascii_lower(trim_blanks(item.substr(0, semi))), 1.0};
    if (r.value.empty()) continue;
    while (semi != std::string_view::npos) {
      item = item.substr(semi + 1);
      semi = item.find(';');
      std::string_view param = trim_blanks(item.substr(0, semi));
      if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
      std::string_view number = trim_blanks(param.substr(2));
      double q = 0;
      auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), q);
      r.q = ec == std::errc() && end == number.data() + number.size() && q >= 0 && q <= 1 ? q : 0;
    }
    out.push_back(std::move(r));
  }
  return out;
}

// The q a media type gets from an Accept list: from its most specific matching range.
double quality(const std::vector<Ranked>& accept, std::string_view type) {
  std::string_view major = type.substr(0, type.find('/'));
  int best = -1;
  double q = 0;
  for (const auto& r : accept) {
    int specificity = -1;
    if (r.value == type)
      specificity = 2;
    else if (r.value.size() == major.size() + 2 && r.value.starts_with(major) && r.value.ends_with("/*"))
      specificity = 1;
    else if (r.value == "*/*")
      specificity = 0;
    if (specificity > best) {
      best = specificity;
      q = r.q;
    }
  }
  return q;
}

bool header_value(const http::Context& ctx, bhttp::field field, std::string_view& out) {
  auto it = ctx.req.find(field);
  if (it == ctx.req.end()) return false;
  out = it->value();
  return true;
}

// If-None-Match: "*" or a list of entity tags (weak comparison: W/ is ignored).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    std::string_view tag = trim_blanks(if_none_match.substr(0, comma));
    if_none_match = comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace

bool prefers_html(std::string_view accept) {
  auto list = ranked_list(accept);
  double html = quality(list, "text/html");
  return html > 0 && html > quality(list, "application/json");
}

bool accepts_gzip(std::string_view accept_encoding) {
  auto list = ranked_list(accept_encoding);
  int best = -1;
  double q = 0;
  for (const auto& r : list) {
    int specificity = r.value == "gzip" || r.value == "x-gzip" ? 1 : r.value == "*" ? 0 : -1;
    if (specificity > best) {
      best = specificity;
      q = r.q;
    }
  }
  return q > 0;
}

StaticFiles::StaticFiles(std::span<const Asset> assets) : assets_(assets) {
  for (const auto& a : assets_)
    if (a.path == "/index.html") index_ = &a;
}

http::Response StaticFiles::serve(const http::Context& ctx, const Asset& asset) {
  std::string_view header;
  bool gzip = !asset.gzip.empty() && asset.gzip.size() < asset.body.size() &&
              header_value(ctx, bhttp::field::accept_encoding, header) && accepts_gzip(header);
  http::Response res;
  res.version(ctx.req.version());
  if (header_value(ctx, bhttp::field::if_none_match, header) && etag_matches(header, asset.etag)) {
    res.result(bhttp::status::not_modified);
  } else {
    res.result(bhttp::status::ok);
    res.set(bhttp::field::content_type, asset.content_type);
    std::string_view bytes = gzip ? asset.gzip : asset.body;
    res.body().assign(bytes.data(), bytes.size());
    if (gzip) res.set(bhttp::field::content_encoding, "gzip");
  }
  res.set(bhttp::field::etag, asset.etag);
  res.set(bhttp::field::vary, "Accept-Encoding");
  res.set(bhttp::field::cache_control, asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.set("Content-Security-Policy", kSpaCsp);
  return res;
}

void StaticFiles::add_routes(http::Router& router) const {
  auto route = [&router](std::string pattern, const Asset& asset) {
    const Asset* a = &asset;
    // Files cost a copy to serve: the per-IP request limit is for the API.
    router.add({bhttp::verb::get,
                std::move(pattern),
                [a](http::Context& ctx) -> boost::asio::awaitable<http::Response> { co_return serve(ctx, *a); },
                false,
                http::Access::anonymous,
                {},
                false});
  };
  for (const auto& a : assets_) route(std::string(a.path), a);
  if (index_) route("/", *index_);
}

std::optional<http::Response> StaticFiles::fallback(const http::Context& ctx) const {
  if (!index_) return std::nullopt;
  if (ctx.req.method() != bhttp::verb::get && ctx.req.method() != bhttp::verb::head) return std::nullopt;
  std::string_view accept;
  if (!header_value(ctx, bhttp::field::accept, accept) || !prefers_html(accept)) return std::nullopt;
  return serve(ctx, *index_);
}

}  // namespace chatd::web
