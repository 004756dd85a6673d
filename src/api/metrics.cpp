#include "api/metrics.hpp"

#include "core/ascii.hpp"
#include "crypto/hash.hpp"
#include "http/problem.hpp"
#include "observability/metrics.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;

namespace {

// "Bearer <token>" with the configured token, compared in constant time.
bool token_matches(const http::Context& ctx, const std::string& token) {
  auto header = ctx.req.find(bhttp::field::authorization);
  if (header == ctx.req.end()) return false;
  std::string_view value = trim_blanks(header->value());
  if (value.size() < 7 || ascii_lower(value.substr(0, 7)) != "bearer ") return false;
  return crypto::constant_time_equal(trim_blanks(value.substr(7)), token);
}

}  // namespace

HandlerResult metrics(const Services& s, http::Context& ctx) {
  if (s.metrics_token && !token_matches(ctx, *s.metrics_token)) {
    http::Response res = http::problem_response(
        fail(Code::unauthenticated, "/metrics needs Authorization: Bearer <CHATD_METRICS_TOKEN>"));
    res.set(bhttp::field::www_authenticate, "Bearer");
    co_return res;
  }
  http::Response res{bhttp::status::ok, ctx.req.version()};
  res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = s.metrics.render();
  co_return res;
}

}  // namespace chatd::api
