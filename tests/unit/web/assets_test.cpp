#include "web/assets.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace chatd::web {
namespace {

namespace bhttp = boost::beast::http;

const std::array<Asset, 3> kAssets{{
    {"/index.html", "text/html; charset=utf-8", "\"idx\"", "<!doctype html><p>hello hello hello hello</p>", "GZ",
     false},
    {"/assets/app-1a2b.js", "text/javascript; charset=utf-8", "\"js\"", "console.log(1)", "", true},
    {"/favicon.svg", "image/svg+xml", "\"svg\"", "<svg/>", "a gzip that is longer than the file", false},
}};

http::Response get(const Asset& asset, std::initializer_list<std::pair<bhttp::field, std::string>> headers) {
  http::Request req{bhttp::verb::get, std::string(asset.path), 11};
  for (const auto& [name, value] : headers) req.set(name, value);
  http::Context ctx(req);
  return StaticFiles::serve(ctx, asset);
}

TEST(PrefersHtml, BrowserNavigationsDoAndApiClientsDoNot) {
  EXPECT_TRUE(prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));  // Chromium
  EXPECT_TRUE(prefers_html("text/html, */*;q=0.1"));
  EXPECT_TRUE(prefers_html("TEXT/HTML"));
  EXPECT_TRUE(prefers_html("text/*, application/json;q=0.5"));
  EXPECT_FALSE(prefers_html("*/*"));  // curl: no preference
  EXPECT_FALSE(prefers_html("application/json"));
  EXPECT_FALSE(prefers_html("text/html, application/json"));  // a tie is not a preference
  EXPECT_FALSE(prefers_html("text/html;q=0.5, application/json"));
  EXPECT_FALSE(prefers_html("text/html;q=0, */*"));
  EXPECT_FALSE(prefers_html("text/html;q=abc"));  // a malformed q counts as 0
  EXPECT_FALSE(prefers_html("text/event-stream"));
  EXPECT_FALSE(prefers_html(""));
  EXPECT_FALSE(prefers_html(",,;"));
}

TEST(AcceptsGzip, ReadsTheListWithQualities) {
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, gzip;q=0.8"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));  // the explicit entry wins over *
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzipped"));
  EXPECT_FALSE(accepts_gzip(""));
}

TEST(StaticFiles, ServesWithItsTypeETagAndCaching) {
  auto res = get(kAssets[1], {});
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), "console.log(1)");
  EXPECT_EQ(res[bhttp::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(res[bhttp::field::etag], "\"js\"");
  EXPECT_EQ(res[bhttp::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ(res["Content-Security-Policy"], kSpaCsp);
  EXPECT_EQ(res[bhttp::field::vary], "Accept-Encoding");
  EXPECT_EQ(get(kAssets[0], {})[bhttp::field::cache_control], "no-cache");
}

TEST(StaticFiles, GzipOnlyWhenAcceptedAndSmaller) {
  auto gz = get(kAssets[0], {{bhttp::field::accept_encoding, "gzip, br"}});
  EXPECT_EQ(gz.body(), "GZ");
  EXPECT_EQ(gz[bhttp::field::content_encoding], "gzip");
  auto plain = get(kAssets[0], {{bhttp::field::accept_encoding, "br"}});
  EXPECT_EQ(plain.body(), kAssets[0].body);
  EXPECT_EQ(plain.find(bhttp::field::content_encoding), plain.end());
  // No gzip twin, or one that is no smaller: the file as it is.
  EXPECT_EQ(get(kAssets[1], {{bhttp::field::accept_encoding, "gzip"}}).body(), kAssets[1].body);
  EXPECT_EQ(get(kAssets[2], {{bhttp::field::accept_encoding, "gzip"}}).body(), kAssets[2].body);
}

TEST(StaticFiles, NotModifiedWhenIfNoneMatchNamesTheETag) {
  for (const char* header : {"\"idx\"", "W/\"idx\"", "\"other\", \"idx\"", "*"}) {
    auto res = get(kAssets[0], {{bhttp::field::if_none_match, header}});
    EXPECT_EQ(res.result(), bhttp::status::not_modified) << header;
    EXPECT_TRUE(res.body().empty());
    EXPECT_EQ(res[bhttp::field::etag], "\"idx\"");
  }
  EXPECT_EQ(get(kAssets[0], {{bhttp::field::if_none_match, "\"js\""}}).result(), bhttp::status::ok);
}

TEST(StaticFiles, RoutesEveryFileAndTheRoot) {
  StaticFiles files(kAssets);
  http::Router router;
  files.add_routes(router);
  http::PathParams params;
  for (const char* path : {"/", "/index.html", "/assets/app-1a2b.js", "/favicon.svg"})
    EXPECT_NE(router.match(bhttp::verb::get, path, params).route, nullptr) << path;
  EXPECT_EQ(router.match(bhttp::verb::get, "/assets/other.js", params).route, nullptr);
  EXPECT_EQ(router.match(bhttp::verb::post, "/", params).route, nullptr);
}

TEST(StaticFiles, FallbackServesTheIndexToBrowserNavigationsOnly) {
  StaticFiles files(kAssets);
  auto ask = [&](bhttp::verb method, const char* accept) {
    http::Request req{method, "/chat/123", 11};
    if (accept) req.set(bhttp::field::accept, accept);
    http::Context ctx(req);
    return files.fallback(ctx);
  };
  auto page = ask(bhttp::verb::get, "text/html,*/*;q=0.8");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body(), kAssets[0].body);
  EXPECT_EQ((*page)[bhttp::field::cache_control], "no-cache");
  EXPECT_TRUE(ask(bhttp::verb::head, "text/html"));
  EXPECT_FALSE(ask(bhttp::verb::get, "application/json"));
  EXPECT_FALSE(ask(bhttp::verb::get, nullptr));
  EXPECT_FALSE(ask(bhttp::verb::post, "text/html"));
  // No UI built in: no fallback.
  StaticFiles none(std::span<const Asset>{});
  http::Request req{bhttp::verb::get, "/login", 11};
  req.set(bhttp::field::accept, "text/html");
  http::Context ctx(req);
  EXPECT_FALSE(none.fallback(ctx));
}

}  // namespace
}  // namespace chatd::web
