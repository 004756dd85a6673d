#include "http/pipeline.hpp"

#include "core/ascii.hpp"
#include "core/ids.hpp"
#include "core/json_scan.hpp"
#include "core/scope_exit.hpp"
#include "http/problem.hpp"

#include <algorithm>
#include <array>
#include <exception>

namespace chatd::http {

namespace {

constexpr std::string_view kApiCspLine =
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; base-uri 'none'\r\n";
constexpr std::string_view kSecurityLines =
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n";
// Enough for the lines finish() adds after the rate-limit lines, with a long request id.
constexpr std::size_t kExtraHeadBytes = 512;
constexpr std::string_view kHstsLine = "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n";
constexpr std::string_view kCorsAllowHeaders = "Authorization, Content-Type, X-Request-Id, X-CSRF-Token";
constexpr std::string_view kCorsExposeHeaders =
    "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// "application/json" or "application/json; charset=utf-8" (any case); other charsets refused.
bool is_json_content_type(std::string_view value) {
  std::size_t semi = value.find(';');
  if (!iequals(trim_blanks(value.substr(0, semi)), "application/json")) return false;
  while (semi != std::string_view::npos) {
    value = value.substr(semi + 1);
    semi = value.find(';');
    std::string_view param = trim_blanks(value.substr(0, semi));
    auto eq = param.find('=');
    if (eq == std::string_view::npos || !iequals(trim_blanks(param.substr(0, eq)), "charset")) continue;
    std::string_view charset = trim_blanks(param.substr(eq + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"')
      charset = charset.substr(1, charset.size() - 2);
    if (!iequals(charset, "utf-8") && !iequals(charset, "utf8")) return false;
  }
  return true;
}

bool route_needs_auth(const Route& route, const Request& req) {
  if (route.access == Access::optional_user) return req.find(bhttp::field::authorization) != req.end();
  return route.access != Access::anonymous;
}

bool has_body(const Request& req) {
  return !req.body().empty() || req.find(bhttp::field::transfer_encoding) != req.end() ||
         (req.find(bhttp::field::content_length) != req.end() && req[bhttp::field::content_length] != "0");
}

// The /v1 routes speak OpenAI's error shape, {"error": {"message", "type", "param", "code"}},
// so that OpenAI client libraries report our errors properly. Every problem document on
// those paths (from the pipeline or a handler) is rewritten here, in one place.
void to_openai_error(Response& res) {
  auto ct = res.find(bhttp::field::content_type);
  if (ct == res.end() || ct->value() != "application/problem+json") return;
  auto problem = nlohmann::json::parse(res.body(), nullptr, false);
  if (!problem.is_object()) return;
  int status = res.result_int();
  const char* type = "invalid_request_error";
  if (status == 401)
    type = "authentication_error";
  else if (status == 403)
    type = "permission_error";
  else if (status == 429)
    type = "rate_limit_error";
  else if (status >= 500)
    type = "api_error";
  std::string message = problem.value("detail", std::string());
  if (problem.contains("errors") && problem["errors"].is_array()) {
    for (const auto& e : problem["errors"]) {
      if (!e.is_object()) continue;
      message += "; " + e.value("field", std::string()) + ": " + e.value("message", std::string());
    }
  }
  nlohmann::json param = nullptr;
  if (problem.contains("errors") && problem["errors"].is_array() && !problem["errors"].empty() &&
      problem["errors"][0].is_object())
    param = problem["errors"][0].value("field", std::string());
  nlohmann::json body = nlohmann::json::object();
  body["error"] = nlohmann::json::object();
  body["error"]["message"] = message;
  body["error"]["type"] = type;
  body["error"]["param"] = param;
  body["error"]["code"] = problem.value("code", std::string());
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.set(bhttp::field::content_type, "application/json");
}

}  // namespace

namespace {

void append_path(std::string& path, std::string_view key) {
  if (!path.empty()) path += '.';
  // A NUL in a member name is shown escaped, so that the field name stays printable.
  for (char c : key) c == '\0' ? path += "\\u0000" : path += c;
}

bool find_nul(const nlohmann::json& value, std::string& path) {
  switch (value.type()) {
    case nlohmann::json::value_t::string: return value.get_ref<const std::string&>().find('\0') != std::string::npos;
    case nlohmann::json::value_t::object:
      for (const auto& [key, member] : value.items()) {
        std::size_t mark = path.size();
        append_path(path, key);
        if (key.find('\0') != std::string::npos || find_nul(member, path)) return true;
        path.resize(mark);
      }
      return false;
    case nlohmann::json::value_t::array:
      for (std::size_t i = 0; i < value.size(); ++i) {
        std::size_t mark = path.size();
        path += '[' + std::to_string(i) + ']';
        if (find_nul(value[i], path)) return true;
        path.resize(mark);
      }
      return false;
    default: return false;
  }
}

}  // namespace

// JSON text holds no raw control characters: a NUL in a parsed string (a key or a value)
// comes from the escape \u0000 only.
bool may_hold_nul(std::string_view json_text) { return json_text.find("\\u0000") != std::string_view::npos; }

std::optional<std::string> field_holding_nul(const nlohmann::json& body) {
  std::string path;
  if (!find_nul(body, path)) return std::nullopt;
  return path.empty() ? std::string("body") : path;
}

namespace {

// A plain coroutine function (not a lambda) owns its arguments in its frame.
boost::asio::awaitable<void> counted_stream(obs::Gauge& open, StreamBody inner, ResponseStream& out) {
  open.add(1);
  ScopeExit closed([&open] { open.add(-1); });
  co_await inner(out);
}

std::vector<obs::HttpMetrics::RouteLabel> route_labels(const Router& router) {
  std::vector<obs::HttpMetrics::RouteLabel> labels;
  for (const auto& r : router.routes()) labels.push_back({std::string(bhttp::to_string(r->method)), r->pattern});
  labels.push_back({"GET", "(web ui)"});
  return labels;
}

}  // namespace

Pipeline::Pipeline(const Router& router, PipelineOptions options, Guards guards, Logger& log, obs::Metrics& metrics)
    : router_(router),
      options_(std::move(options)),
      log_(log),
      metrics_(metrics),
      http_metrics_(route_labels(router)),
      web_ui_slot_(router.routes().size()),
      guards_(guards) {}

bool Pipeline::valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

std::string Pipeline::client_ip(const Request& req, const Peer& peer) const {
  if (options_.trusted_proxies.empty()) return peer.ip;
  auto trusted = [&](std::string_view ip) {
    auto addr = config::parse_ip(ip);
    if (!addr) return false;
    return std::any_of(options_.trusted_proxies.begin(), options_.trusted_proxies.end(),
                       [&](const config::Network& n) { return config::contains(n, *addr); });
  };
  if (!trusted(peer.ip)) return peer.ip;
  // Walk X-Forwarded-For from the right: the first address not among the trusted proxies
  // is the client. Several header lines are one list, in order.
  std::vector<std::string_view> hops;
  auto [first, last] = req.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) {
    std::string_view v = it->value();
    std::size_t pos = 0;
    while (pos <= v.size()) {
      auto comma = v.find(',', pos);
      std::string_view item =
          trim_blanks(v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
      if (!item.empty()) hops.push_back(item);
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  std::string client = peer.ip;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    auto addr = config::parse_ip(*it);
    if (!addr) break;  // garbage: keep the last hop we could trust
    client = std::string(*it);
    if (!trusted(*it)) break;
  }
  return client;
}

bool Pipeline::peer_trusted(const Peer& peer) const {
  if (options_.trusted_proxies.empty()) return false;
  auto addr = config::parse_ip(peer.ip);
  return addr && std::any_of(options_.trusted_proxies.begin(), options_.trusted_proxies.end(),
                             [&](const config::Network& n) { return config::contains(n, *addr); });
}

bool Pipeline::origin_allowed(std::string_view origin) const {
  return std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) != options_.cors_origins.end();
}

Context Pipeline::begin(const Request& req, const Peer& peer) const {
  Context ctx(req);
  ctx.started = std::chrono::steady_clock::now();
  auto rid = req.find("X-Request-Id");
  ctx.request_id = rid != req.end() && valid_request_id(rid->value()) ? std::string(rid->value()) : new_uuid_v7();
  ctx.client_ip = client_ip(req, peer);
  ctx.secure = peer.tls;
  // Behind a trusted proxy its X-Forwarded-Proto says whether the client used TLS, also on
  // requests the proxy makes itself (health checks carry no X-Forwarded-For).
  if (!peer.tls && peer_trusted(peer)) {
    auto proto = req.find("X-Forwarded-Proto");
    ctx.secure = proto != req.end() && iequals(trim_blanks(proto->value()), "https");
  }
  std::string_view target = req.target();
  auto q = target.find('?');
  ctx.path = target.substr(0, q);
  if (q != std::string_view::npos) ctx.query = target.substr(q + 1);
  return ctx;
}

void Pipeline::finish(Context& ctx, Response& res) const {
  if (ctx.path.starts_with("/v1/") || ctx.path == "/v1") to_openai_error(res);
  // The headers every response carries, as pre-rendered lines (see Response::extra_head).
  res.extra_head.reserve(std::max(kExtraHeadBytes, res.extra_head.size() + 256 + ctx.request_id.size()));
  res.add_line("X-Request-Id", ctx.request_id);
  res.extra_head += kSecurityLines;
  if (res.find("Content-Security-Policy") == res.end()) res.extra_head += kApiCspLine;
  if (ctx.secure) res.extra_head += kHstsLine;
  if (!options_.cors_origins.empty()) {
    auto origin = ctx.req.find(bhttp::field::origin);
    if (origin != ctx.req.end() && origin_allowed(origin->value())) {
      res.set(bhttp::field::access_control_allow_origin, origin->value());
      res.set(bhttp::field::access_control_allow_credentials, "true");
      res.set(bhttp::field::access_control_expose_headers, kCorsExposeHeaders);
    }
    res.set(bhttp::field::vary, "Origin");
  }
  if (res.stream) {
    // Counted while the body is being written, however the writing ends.
    res.stream = [&open = metrics_.open_streams(), inner = std::move(res.stream)](ResponseStream& out) {
      return counted_stream(open, inner, out);
    };
    // The body follows the head as chunks (HTTP/1.0 has no chunks: the end of the body is
    // the end of the connection; the transport closes it).
    res.body().clear();
    res.erase(bhttp::field::content_length);
    if (ctx.req.version() >= 11) res.chunked(true);
  } else if (ctx.req.method() == bhttp::verb::head) {
    // Same headers as GET, no body bytes.
    res.content_length(res.body().size());
    res.body().clear();
  } else {
    res.prepare_payload();
  }
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ctx.started).count();
  http_metrics_.request(ctx.route_index == Context::kNoRoute ? http_metrics_.unmatched() : ctx.route_index,
                        res.result_int(), micros);
  auto line = log_.info("http.request");
  line.str("request_id", ctx.request_id)
      .str("method", ctx.req.method_string())
      .str("route", ctx.route.empty() ? std::string_view("unmatched") : ctx.route)
      .num("status", res.result_int())
      .num("duration_us", micros)
      .num("bytes", static_cast<std::int64_t>(ctx.req.method() == bhttp::verb::head ? 0 : res.body().size()))
      .str("ip", ctx.client_ip);
  if (!ctx.error_note.empty()) line.str("error", ctx.error_note);
}

namespace {

Response unauthorized(std::string detail) {
  Response res = problem_response(fail(Code::unauthenticated, std::move(detail)));
  res.set(bhttp::field::www_authenticate, "Bearer");
  return res;
}

// Sets `credential` to the request's bearer token; the 401 for a missing or malformed
// Authorization header.
std::optional<Response> bearer_credential(const Request& req, std::string_view& credential) {
  auto header = req.find(bhttp::field::authorization);
  if (header == req.end()) return unauthorized("this resource needs an access token (Authorization: Bearer)");
  std::string_view value = trim_blanks(header->value());
  if (value.size() < 8 || !iequals(value.substr(0, 7), "Bearer ") || trim_blanks(value.substr(7)).empty())
    return unauthorized("the Authorization header must be \"Bearer <token>\"");
  credential = trim_blanks(value.substr(7));
  return std::nullopt;
}

}  // namespace

Authenticator& Pipeline::authenticator_for(const Route& route) const {
  return route.access == Access::api ? guards_.api : guards_.users;
}

std::optional<Response> Pipeline::admit(Context& ctx, const Route& route, Result<Principal> principal) const {
  if (!principal) {
    if (principal.error().code != Code::unauthenticated) return error_response(ctx, principal.error());
    Response res = unauthorized("the access token is invalid, expired or revoked");
    res.set(bhttp::field::www_authenticate, "Bearer error=\"invalid_token\"");
    return res;
  }
  ctx.principal = std::move(principal).value();
  if (route.access == Access::admin && !ctx.principal->has_role("admin"))
    return problem_response(fail(Code::permission_denied, "this resource is for administrators"));
  return std::nullopt;
}

bool Pipeline::authorize_now(Context& ctx, const Route& route, std::optional<Response>& refused) const {
  std::string_view credential;
  if ((refused = bearer_credential(ctx.req, credential))) return true;
  std::optional<Result<Principal>> at_hand = authenticator_for(route).authenticate_now(credential);
  if (!at_hand) return false;
  refused = admit(ctx, route, std::move(*at_hand));
  return true;
}

boost::asio::awaitable<std::optional<Response>> Pipeline::authorize(Context& ctx, const Route& route) const {
  std::string_view credential;
  if (auto bad = bearer_credential(ctx.req, credential)) co_return bad;
  Result<Principal> principal = co_await authenticator_for(route).authenticate(credential);
  co_return admit(ctx, route, std::move(principal));
}

namespace {

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The limiter's key "bucket:ip:address" or "bucket:user:id", in a buffer each thread reuses:
// valid until the thread's next call.
std::string_view limit_key(std::string_view bucket, std::string_view kind, std::string_view who) {
  thread_local std::string key;
  key.assign(bucket).append(kind).append(who);
  return key;
}

// The route's per-IP buckets, in the order they are counted ("global" first).
struct IpBuckets {
  std::array<std::string_view, 2> names;
  std::size_t count = 0;
};
IpBuckets ip_buckets(const Route& route) {
  IpBuckets b;
  if (route.global_limit) b.names[b.count++] = "global";
  if (!route.rate_bucket.empty()) b.names[b.count++] = route.rate_bucket;
  return b;
}

}  // namespace

const config::RateLimit* Pipeline::rule_for(std::string_view bucket) const {
  auto rule = options_.rate_limits.find(std::string(bucket));  // short: no allocation
  return rule == options_.rate_limits.end() ? nullptr : &rule->second;
}

const config::RateLimit* Pipeline::user_rule(const Context& ctx, const Route& route) const {
  if (route.user_rate_bucket.empty() || !ctx.principal) return nullptr;
  return rule_for(route.user_rate_bucket);
}

void Pipeline::count(std::string_view bucket, const limits::Decision& d, std::optional<limits::Decision>& shown) const {
  if (!d.allowed) metrics_.rate_limited(bucket);
  shown = shown ? limits::most_restrictive(*shown, d) : d;
}

bool Pipeline::limit_now(const Context& ctx, const Route& route, std::optional<limits::Decision>& shown) const {
  const std::int64_t now = epoch_ms();
  const IpBuckets buckets = ip_buckets(route);
  shown.reset();
  for (std::size_t i = 0; i < buckets.count; ++i) {
    if (shown && !shown->allowed) break;  // a refused request costs the other buckets nothing
    const config::RateLimit* rule = rule_for(buckets.names[i]);
    if (!rule) continue;
    std::optional<limits::Decision> d =
        guards_.limiter.hit_now(limit_key(buckets.names[i], ":ip:", ctx.client_ip), *rule, now);
    if (!d) return false;  // this limiter waits: nothing was counted (it never answers at once)
    count(buckets.names[i], *d, shown);
  }
  return true;
}

boost::asio::awaitable<std::optional<limits::Decision>> Pipeline::limit(const Context& ctx, const Route& route) const {
  const std::int64_t now = epoch_ms();
  const IpBuckets buckets = ip_buckets(route);
  std::optional<limits::Decision> shown;
  for (std::size_t i = 0; i < buckets.count; ++i) {
    if (shown && !shown->allowed) break;  // a refused request costs the other buckets nothing
    const config::RateLimit* rule = rule_for(buckets.names[i]);
    if (!rule) continue;
    std::string key(limit_key(buckets.names[i], ":ip:", ctx.client_ip));
    limits::Decision d = co_await guards_.limiter.hit(std::move(key), *rule, now);
    count(buckets.names[i], d, shown);
  }
  co_return shown;
}

bool Pipeline::limit_user_now(const Context& ctx, const Route& route, std::optional<limits::Decision>& shown) const {
  shown.reset();
  const config::RateLimit* rule = user_rule(ctx, route);
  if (!rule) return true;
  std::optional<limits::Decision> d =
      guards_.limiter.hit_now(limit_key(route.user_rate_bucket, ":user:", ctx.principal->user_id), *rule, epoch_ms());
  if (!d) return false;
  count(route.user_rate_bucket, *d, shown);
  return true;
}

boost::asio::awaitable<std::optional<limits::Decision>> Pipeline::limit_user(const Context& ctx,
                                                                             const Route& route) const {
  std::optional<limits::Decision> shown;
  const config::RateLimit* rule = user_rule(ctx, route);
  if (!rule) co_return shown;
  std::string key(limit_key(route.user_rate_bucket, ":user:", ctx.principal->user_id));
  limits::Decision d = co_await guards_.limiter.hit(std::move(key), *rule, epoch_ms());
  count(route.user_rate_bucket, d, shown);
  co_return shown;
}

Response Pipeline::reject(const Request& head, const Peer& peer, const Error& error) const {
  Context ctx = begin(head, peer);
  Response res = error_response(ctx, error);
  finish(ctx, res);
  return res;
}

boost::asio::awaitable<Response> Pipeline::handle(const Request& req, const Peer& peer) const {
  Context ctx = begin(req, peer);
  Response res;

  // CORS preflight: answered here for the configured origins only.
  auto origin = req.find(bhttp::field::origin);
  if (req.method() == bhttp::verb::options && origin != req.end() &&
      req.find(bhttp::field::access_control_request_method) != req.end()) {
    if (!origin_allowed(origin->value())) {
      res = problem_response(fail(Code::permission_denied, "this origin is not allowed", "forbidden"));
    } else {
      PathParams ignored;
      Match m = router_.match(bhttp::verb::unknown, ctx.path, ignored);
      if (!m.path_known) {
        res = problem_response(fail(Code::not_found, "no such resource"));
      } else {
        res = empty_response(bhttp::status::no_content);
        res.set(bhttp::field::access_control_allow_methods, m.allow);
        res.set(bhttp::field::access_control_allow_headers, kCorsAllowHeaders);
        res.set(bhttp::field::access_control_max_age, "600");
      }
    }
    finish(ctx, res);
    co_return res;
  }

  Match m = router_.match(req.method(), ctx.path, ctx.params);
  if (!m.route) {
    if (m.path_known) {
      res = problem_response(
          fail(Code::method_not_allowed, "this resource does not support " + std::string(req.method_string())));
      res.set(bhttp::field::allow, m.allow);
    } else if (auto page = fallback_ ? fallback_(ctx) : std::nullopt) {
      ctx.route = "(web ui)";
      ctx.route_index = web_ui_slot_;
      res = std::move(*page);
    } else {
      res = problem_response(fail(Code::not_found, "no such resource"));
    }
    finish(ctx, res);
    co_return res;
  }
  ctx.route = m.route->pattern;
  ctx.route_index = m.route->index;
  if (auto field = query_param_holding_nul(ctx.query)) {
    res = problem_response(Error::validation({{*field, "must not contain NUL characters"}}));
    finish(ctx, res);
    co_return res;
  }

  std::optional<limits::Decision> limited;
  if (!limit_now(ctx, *m.route, limited)) limited = co_await limit(ctx, *m.route);
  // Limited routes send their RateLimit-* headers on every response.
  auto finish_limited = [&](Response& r) {
    if (limited) {
      r.extra_head.reserve(kExtraHeadBytes);  // the room finish() needs too: one allocation
      limits::append_rate_limit_lines(*limited, r.extra_head);
    }
    finish(ctx, r);
  };
  if (limited && !limited->allowed) {
    // Retry-After comes with the rate-limit lines (finish_limited).
    res = problem_response(fail(Code::rate_limited, "too many requests; slow down"));
    finish_limited(res);
    co_return res;
  }

  if (route_needs_auth(*m.route, req)) {
    std::optional<Response> refused;
    if (!authorize_now(ctx, *m.route, refused)) refused = co_await authorize(ctx, *m.route);
    if (refused) {
      res = std::move(*refused);
      finish_limited(res);
      co_return res;
    }
    std::optional<limits::Decision> per_user;
    if (!limit_user_now(ctx, *m.route, per_user)) per_user = co_await limit_user(ctx, *m.route);
    if (per_user) {
      limited = limited ? limits::most_restrictive(*limited, *per_user) : *per_user;
      if (!per_user->allowed) {
        res = problem_response(fail(Code::rate_limited, "too many requests; slow down"));
        finish_limited(res);
        co_return res;
      }
    }
  }

  // API.md: a request with a body must send it as JSON, whatever the route.
  if (has_body(req)) {
    auto ct = req.find(bhttp::field::content_type);
    if (ct == req.end() || !is_json_content_type(ct->value())) {
      res = problem_response(fail(Code::unsupported, "send the body as Content-Type: application/json"));
      finish_limited(res);
      co_return res;
    }
  }
  if (m.route->json_body) {
    // No body at all reads as an empty object, so that optional-only bodies may be left out.
    ctx.body = req.body().empty() ? nlohmann::json::object() : parse_json(req.body());
    if (ctx.body.is_discarded()) {
      res = problem_response(fail(Code::invalid_argument, "the request body is not valid JSON", "invalid_json"));
      finish_limited(res);
      co_return res;
    }
    // Valid JSON of the wrong shape, or text no database can store: field errors (422).
    std::optional<FieldError> unfit;
    if (!ctx.body.is_object())
      unfit = FieldError{"body", "must be a JSON object"};
    else if (auto field = may_hold_nul(req.body()) ? field_holding_nul(ctx.body) : std::nullopt)
      unfit = FieldError{*field, "must not contain NUL characters"};
    if (unfit) {
      res = problem_response(Error::validation({*unfit}));
      finish_limited(res);
      co_return res;
    }
  }

  std::exception_ptr failure;
  try {
    res = co_await m.route->handler(ctx);
  } catch (const std::exception& e) {
    log_.error("http.handler_failed").str("request_id", ctx.request_id).str("route", ctx.route).str("error", e.what());
    failure = std::current_exception();
  } catch (...) {
    log_.error("http.handler_failed").str("request_id", ctx.request_id).str("route", ctx.route);
    failure = std::current_exception();
  }
  if (failure) res = error_response(ctx, internal_error("handler threw"));
  finish_limited(res);
  co_return res;
}

}  // namespace chatd::http
