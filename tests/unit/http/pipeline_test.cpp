#include "http/pipeline.hpp"

#include "http/problem.hpp"
#include "http/wire.hpp"
#include "limits/memory_rate_limiter.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace chatd::http {
namespace {

namespace asio = boost::asio;

class TempLog {
 public:
  TempLog() {
    char name[] = "/tmp/chatd-log-XXXXXX";
    fd_ = mkstemp(name);
    path_ = name;
  }
  ~TempLog() {
    ::close(fd_);
    std::remove(path_.c_str());
  }
  int fd() const { return fd_; }
  std::string read() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  int fd_;
  std::string path_;
};

config::Network net(const char* text) {
  auto n = config::parse_network(text);
  if (!n) throw std::runtime_error(std::string("bad network in test: ") + text);
  return *n;
}

// Accepts "<prefix>user" (role user) and "<prefix>admin" (user and admin); refuses the rest,
// and answers "down" as a store that cannot be asked right now.
class FakeAuthenticator final : public Authenticator {
 public:
  explicit FakeAuthenticator(std::string prefix) : prefix_(std::move(prefix)) {}
  asio::awaitable<Result<Principal>> authenticate(std::string_view token) override {
    ++awaited;
    co_return answer(token);
  }
  // With at_once, every answer is at hand (as a cache hit is).
  std::optional<Result<Principal>> authenticate_now(std::string_view token) override {
    if (!at_once) return std::nullopt;
    return answer(token);
  }
  bool at_once = false;
  int awaited = 0;

 private:
  Result<Principal> answer(std::string_view token) const {
    if (token == "down") return fail(Code::unavailable, "the session store is unavailable");
    if (token == prefix_ + "user") return Principal{"u1", "s1", "t1", {"user"}, {}};
    if (token == prefix_ + "admin") return Principal{"u2", "s2", "t2", {"user", "admin"}, {}};
    return fail(Code::unauthenticated, "unknown token");
  }
  std::string prefix_;
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() : log_(LogLevel::info, LogFormat::json, tmp_.fd()) {
    router_.add({bhttp::verb::post, "/echo",
                 [](Context& ctx) -> asio::awaitable<Response> {
                   co_return json_response(bhttp::status::ok, {{"got", ctx.body}, {"ip", ctx.client_ip}});
                 },
                 true});
    router_.add({bhttp::verb::get, "/items/{id}", [](Context& ctx) -> asio::awaitable<Response> {
                   co_return json_response(bhttp::status::ok,
                                           {{"id", ctx.params.get("id")}, {"q", ctx.query_param("q").value_or("-")}});
                 }});
    router_.add({bhttp::verb::get, "/boom", [](Context&) -> asio::awaitable<Response> {
                   throw std::runtime_error("secret internal detail /etc/passwd");
                   co_return empty_response(bhttp::status::ok);
                 }});
    router_.add({bhttp::verb::get, "/fails", [](Context& ctx) -> asio::awaitable<Response> {
                   co_return error_response(ctx, internal_error("db exploded"));
                 }});
  }

  Response run(Pipeline& p, Request req, Peer peer = {"10.0.0.5", false}) {
    req.prepare_payload();
    asio::io_context ioc;
    auto fut = asio::co_spawn(ioc, p.handle(req, peer), asio::use_future);
    ioc.run();
    return fut.get();
  }
  Pipeline make_pipeline() { return Pipeline(router_, options_, {users_, api_, limiter_}, log_, metrics_); }
  Response run(Request req, Peer peer = {"10.0.0.5", false}) {
    Pipeline p = make_pipeline();
    return run(p, std::move(req), peer);
  }
  static Request make(bhttp::verb method, const char* target, std::string body = {},
                      const char* content_type = "application/json") {
    Request req{method, target, 11};
    if (!body.empty() || method == bhttp::verb::post) {
      req.body() = std::move(body);
      if (content_type) req.set(bhttp::field::content_type, content_type);
    }
    return req;
  }
  static nlohmann::json json(const Response& res) { return nlohmann::json::parse(res.body()); }

  TempLog tmp_;
  Logger log_;
  Router router_;
  PipelineOptions options_;
  obs::Metrics metrics_{{"global", "login", "message"}, "test"};
  FakeAuthenticator users_{"access-"};
  FakeAuthenticator api_{"key-"};
  limits::MemoryRateLimiter limiter_;
};

TEST_F(PipelineTest, JsonBodyReachesHandler) {
  Response res = run(make(bhttp::verb::post, "/echo", R"({"a":1})"));
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(json(res)["got"]["a"], 1);
}

TEST_F(PipelineTest, JsonWithCharsetAccepted) {
  Response res = run(make(bhttp::verb::post, "/echo", R"({"a":2})", "Application/JSON; charset=UTF-8"));
  EXPECT_EQ(res.result_int(), 200u);
}

TEST_F(PipelineTest, WrongContentTypeIs415) {
  for (const char* ct :
       {"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonx"}) {
    Response res = run(make(bhttp::verb::post, "/echo", R"({"a":1})", ct));
    EXPECT_EQ(res.result_int(), 415u) << ct;
    EXPECT_EQ(json(res)["code"], "unsupported_media_type");
    EXPECT_EQ(res[bhttp::field::content_type], "application/problem+json");
  }
  Response res = run(make(bhttp::verb::post, "/echo", R"({"a":1})", nullptr));
  EXPECT_EQ(res.result_int(), 415u);
}

TEST_F(PipelineTest, InvalidJsonIs400) {
  for (const char* body : {"{", "{\"a\":}", "nul", "[1,2", "{\"a\":1}garbage"}) {
    Response res = run(make(bhttp::verb::post, "/echo", body));
    EXPECT_EQ(res.result_int(), 400u) << body;
    EXPECT_EQ(json(res)["code"], "invalid_json") << body;
  }
}

TEST_F(PipelineTest, JsonThatIsNotAnObjectIs422) {
  for (const char* body : {"[1,2]", "[]", "\"text\"", "\"a\"", "42", "null", "true"}) {
    Response res = run(make(bhttp::verb::post, "/echo", body));
    EXPECT_EQ(res.result_int(), 422u) << body;
    auto problem = json(res);
    EXPECT_EQ(problem["code"], "validation_failed") << body;
    ASSERT_EQ(problem["errors"].size(), 1u) << body;
    EXPECT_EQ(problem["errors"][0]["field"], "body");
  }
}

TEST_F(PipelineTest, TextHoldingNulIs422NamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"a":"x\u0000y"})", "a"},
      {R"({"ok":"fine","messages":[{"role":"user"},{"content":"\u0000"}]})", "messages[1].content"},
      {R"({"n":{"deep":["ok",["\u0000"]]}})", "n.deep[1][0]"},
      {R"({"k\u0000":1})", "k\\u0000"},
  };
  for (const auto& [body, field] : cases) {
    Response res = run(make(bhttp::verb::post, "/echo", body));
    EXPECT_EQ(res.result_int(), 422u) << body;
    auto problem = json(res);
    EXPECT_EQ(problem["code"], "validation_failed") << body;
    ASSERT_EQ(problem["errors"].size(), 1u) << body;
    EXPECT_EQ(problem["errors"][0]["field"], field) << body;
  }
  // Escapes that are not NUL pass, and so does an escaped backslash before "u0000" (text).
  EXPECT_EQ(run(make(bhttp::verb::post, "/echo", R"({"a":"\u0001 \n \u00e9"})")).result_int(), 200u);
  EXPECT_EQ(run(make(bhttp::verb::post, "/echo", R"({"a":"\\u0000"})")).result_int(), 200u);
  // The strings are walked only when the text holds the escape.
  for (const auto& [body, field] : cases) EXPECT_TRUE(may_hold_nul(body)) << body;
  EXPECT_TRUE(may_hold_nul(R"({"a":"\\u0000"})"));
  EXPECT_FALSE(may_hold_nul(R"({"a":"\u0001 \n \u00e9","b":"u0000"})"));
}

TEST_F(PipelineTest, MissingBodyReadsAsEmptyObject) {
  Response res = run(make(bhttp::verb::post, "/echo", ""));
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(json(res)["got"], nlohmann::json::object());
}

TEST_F(PipelineTest, AnyBodyMustBeJson) {
  Request req = make(bhttp::verb::get, "/items/1", "hello", "text/plain");
  Response res = run(req);
  EXPECT_EQ(res.result_int(), 415u);
  Request json_get = make(bhttp::verb::get, "/items/1", "{}", "application/json");
  EXPECT_EQ(run(json_get).result_int(), 200u);
}

TEST_F(PipelineTest, UnknownPathIs404AndWrongMethodIs405) {
  Response res = run(make(bhttp::verb::get, "/nope"));
  EXPECT_EQ(res.result_int(), 404u);
  EXPECT_EQ(json(res)["code"], "not_found");
  res = run(make(bhttp::verb::delete_, "/echo"));
  EXPECT_EQ(res.result_int(), 405u);
  EXPECT_EQ(res[bhttp::field::allow], "POST");
  EXPECT_EQ(json(res)["code"], "not_found");  // API.md has no code of its own for 405
}

TEST_F(PipelineTest, QueryParameterHoldingNulIs422NamingIt) {
  Response res = run(make(bhttp::verb::get, "/items/1?x=1&q=a%00b"));
  EXPECT_EQ(res.result_int(), 422u);
  auto problem = json(res);
  EXPECT_EQ(problem["code"], "validation_failed");
  EXPECT_EQ(problem["errors"][0]["field"], "q");
  EXPECT_EQ(json(run(make(bhttp::verb::get, "/items/1?a%00=1")))["errors"][0]["field"], "query");
  EXPECT_EQ(run(make(bhttp::verb::get, "/items/1?q=%01%0A")).result_int(), 200u);
  EXPECT_EQ(query_param_holding_nul("a=1&b=%00"), "b");
  EXPECT_EQ(query_param_holding_nul("a=1&b=%0"), std::nullopt);
  EXPECT_EQ(query_param_holding_nul(""), std::nullopt);
}

TEST_F(PipelineTest, FallbackAnswersOnlyWhatNoRouteTakes) {
  Pipeline p = make_pipeline();
  p.set_fallback([](const Context& ctx) -> std::optional<Response> {
    if (ctx.req[bhttp::field::accept] != "text/html") return std::nullopt;
    Response page{bhttp::status::ok, 11};
    page.body() = "the page";
    page.set("Content-Security-Policy", "script-src 'self'");
    return page;
  });
  auto html = [](bhttp::verb method, const char* target) {
    Request req = make(method, target);
    req.set(bhttp::field::accept, "text/html");
    return req;
  };
  Response res = run(p, html(bhttp::verb::get, "/chat/42"));
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "the page");
  EXPECT_EQ(res.header("Content-Security-Policy"), "script-src 'self'");  // the page's own policy is kept
  EXPECT_FALSE(res.header("X-Request-Id").empty());                       // and the usual headers added
  EXPECT_EQ(res.header("X-Frame-Options"), "DENY");
  // A route's path is the route's, whatever Accept says; a known path with another method is 405.
  EXPECT_EQ(json(run(p, html(bhttp::verb::get, "/items/7")))["id"], "7");
  EXPECT_EQ(run(p, html(bhttp::verb::get, "/echo")).result_int(), 405u);
  // The fallback declines: the JSON 404.
  Response missing = run(p, make(bhttp::verb::get, "/chat/42"));
  EXPECT_EQ(missing.result_int(), 404u);
  EXPECT_EQ(json(missing)["code"], "not_found");
}

TEST(Cookies, FindsANamedCookieAcrossHeaderLines) {
  Request req{bhttp::verb::post, "/auth/refresh", 11};
  req.insert(bhttp::field::cookie, "theme=dark;  chatd_refresh_old=x ; a=\"quoted value\"");
  req.insert(bhttp::field::cookie, "chatd_refresh=rt_abc; chatd_refresh=second");
  Context ctx(req);
  EXPECT_EQ(ctx.cookie("chatd_refresh"), "rt_abc");  // the first of two, not a prefix match
  EXPECT_EQ(ctx.cookie("chatd_refresh_old"), "x");
  EXPECT_EQ(ctx.cookie("theme"), "dark");
  EXPECT_EQ(ctx.cookie("a"), "quoted value");
  EXPECT_EQ(ctx.cookie("missing"), std::nullopt);

  Request none{bhttp::verb::post, "/auth/refresh", 11};
  none.insert(bhttp::field::cookie, "novalue; =empty-name; chatd_refresh=");
  Context ctx2(none);
  EXPECT_EQ(ctx2.cookie("novalue"), std::nullopt);
  EXPECT_EQ(ctx2.cookie("chatd_refresh"), "");
  EXPECT_EQ(Context(Request{}).cookie("chatd_refresh"), std::nullopt);
}

TEST_F(PipelineTest, PathParamsAndQuery) {
  Response res = run(make(bhttp::verb::get, "/items/a%20b?x=1&q=hello%20world&z"));
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(json(res)["id"], "a b");
  EXPECT_EQ(json(res)["q"], "hello world");
}

TEST_F(PipelineTest, ThrowingHandlerIs500WithoutInternals) {
  Response res = run(make(bhttp::verb::get, "/boom"));
  EXPECT_EQ(res.result_int(), 500u);
  EXPECT_EQ(json(res)["code"], "internal_error");
  EXPECT_EQ(res.body().find("passwd"), std::string::npos);
  log_.flush();
  std::string logged = tmp_.read();
  EXPECT_NE(logged.find("secret internal detail"), std::string::npos);  // the log keeps the cause
}

TEST_F(PipelineTest, InternalCauseGoesToTheAccessLog) {
  Response res = run(make(bhttp::verb::get, "/fails"));
  EXPECT_EQ(res.result_int(), 500u);
  EXPECT_EQ(res.body().find("exploded"), std::string::npos);
  log_.flush();
  EXPECT_NE(tmp_.read().find("\"error\":\"db exploded\""), std::string::npos);
}

TEST_F(PipelineTest, SecurityHeadersOnEveryResponse) {
  for (const char* target : {"/items/1", "/nope", "/boom"}) {
    Response res = run(make(bhttp::verb::get, target));
    EXPECT_EQ(res.header("X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(res.header("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(res.header("X-Frame-Options"), "DENY");
    EXPECT_NE(res.header("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
    EXPECT_EQ(res.header("Strict-Transport-Security"), "");
  }
}

TEST_F(PipelineTest, RequestIdEchoedWhenValidElseGenerated) {
  Request req = make(bhttp::verb::get, "/items/1");
  req.set("X-Request-Id", "abc.DEF_123-x");
  EXPECT_EQ(run(req).header("X-Request-Id"), "abc.DEF_123-x");
  for (std::string bad :
       {std::string("has space"), std::string("semi;colon"), std::string(129, 'a'), std::string("")}) {
    Request r2 = make(bhttp::verb::get, "/items/1");
    r2.set("X-Request-Id", bad);
    std::string got(run(r2).header("X-Request-Id"));
    EXPECT_NE(got, bad);
    EXPECT_TRUE(Pipeline::valid_request_id(got)) << got;
  }
  std::string a(run(make(bhttp::verb::get, "/items/1")).header("X-Request-Id"));
  std::string b(run(make(bhttp::verb::get, "/items/1")).header("X-Request-Id"));
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
  EXPECT_TRUE(Pipeline::valid_request_id(std::string(128, 'z')));
}

TEST_F(PipelineTest, AccessLogLine) {
  Request req = make(bhttp::verb::get, "/items/42?q=secret-token-value");
  req.set("X-Request-Id", "rid-1");
  run(req);
  log_.flush();
  std::string logged = tmp_.read();
  auto line_start = logged.find("\"request_id\":\"rid-1\"");
  ASSERT_NE(line_start, std::string::npos);
  auto begin = logged.rfind('\n', line_start);
  auto end = logged.find('\n', line_start);
  auto line = nlohmann::json::parse(logged.substr(begin == std::string::npos ? 0 : begin + 1, end - begin - 1));
  EXPECT_EQ(line["event"], "http.request");
  EXPECT_EQ(line["method"], "GET");
  EXPECT_EQ(line["route"], "/items/{id}");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["ip"], "10.0.0.5");
  EXPECT_GT(line["bytes"].get<int>(), 0);
  EXPECT_TRUE(line.contains("duration_us"));
  EXPECT_EQ(logged.find("secret-token-value"), std::string::npos);  // no raw targets in logs
}

TEST_F(PipelineTest, ClientIpIgnoresForwardedForFromUntrustedPeer) {
  Request req = make(bhttp::verb::post, "/echo", "{}");
  req.set("X-Forwarded-For", "1.2.3.4");
  EXPECT_EQ(json(run(req))["ip"], "10.0.0.5");
}

TEST_F(PipelineTest, ClientIpThroughTrustedProxies) {
  options_.trusted_proxies = {net("10.0.0.0/8"), net("192.168.1.1")};
  Request req = make(bhttp::verb::post, "/echo", "{}");
  req.set("X-Forwarded-For", "6.6.6.6, 1.2.3.4, 192.168.1.1");
  EXPECT_EQ(json(run(req))["ip"], "1.2.3.4");  // right-most untrusted; the spoofed left entry is ignored
  Request all_trusted = make(bhttp::verb::post, "/echo", "{}");
  all_trusted.set("X-Forwarded-For", "10.1.1.1");
  EXPECT_EQ(json(run(all_trusted))["ip"], "10.1.1.1");
  Request garbage = make(bhttp::verb::post, "/echo", "{}");
  garbage.set("X-Forwarded-For", "not-an-ip, 2001:db8::1");
  EXPECT_EQ(json(run(garbage))["ip"], "2001:db8::1");
  Request none = make(bhttp::verb::post, "/echo", "{}");
  EXPECT_EQ(json(run(none))["ip"], "10.0.0.5");
}

TEST_F(PipelineTest, HstsOnlyForHttpsFromTrustedProxyOrTls) {
  Request req = make(bhttp::verb::get, "/items/1");
  req.set("X-Forwarded-Proto", "https");
  Response plain = run(req);
  EXPECT_EQ(plain.header("Strict-Transport-Security"), "");
  options_.trusted_proxies = {net("10.0.0.0/8")};
  req.set("X-Forwarded-For", "1.2.3.4");
  EXPECT_NE(run(req).header("Strict-Transport-Security").find("max-age="), std::string::npos);
  Request direct = make(bhttp::verb::get, "/items/1");
  EXPECT_NE(run(direct, Peer{"127.0.0.1", true}).header("Strict-Transport-Security"), "");
  // The proxy's own requests (a health check: no X-Forwarded-For) too.
  Request probe = make(bhttp::verb::get, "/items/1");
  probe.set("X-Forwarded-Proto", "https");
  EXPECT_NE(run(probe, Peer{"10.1.2.3", false}).header("Strict-Transport-Security").find("max-age="),
            std::string::npos);
  // From a peer that is not a trusted proxy, the header means nothing.
  Response spoofed = run(probe, Peer{"192.0.2.7", false});
  EXPECT_EQ(spoofed.header("Strict-Transport-Security"), "");
}

TEST_F(PipelineTest, CorsPreflightForConfiguredOriginsOnly) {
  options_.cors_origins = {"https://app.example.com"};
  Request pre = make(bhttp::verb::options, "/echo");
  pre.set(bhttp::field::origin, "https://app.example.com");
  pre.set(bhttp::field::access_control_request_method, "POST");
  Response res = run(pre);
  EXPECT_EQ(res.result_int(), 204u);
  EXPECT_EQ(res[bhttp::field::access_control_allow_origin], "https://app.example.com");
  EXPECT_EQ(res[bhttp::field::access_control_allow_methods], "POST");
  EXPECT_NE(res[bhttp::field::access_control_allow_headers].find("Authorization"), std::string::npos);
  EXPECT_EQ(res[bhttp::field::vary], "Origin");

  pre.set(bhttp::field::origin, "https://evil.example.com");
  res = run(pre);
  EXPECT_EQ(res.result_int(), 403u);
  EXPECT_EQ(res.find(bhttp::field::access_control_allow_origin), res.end());

  Request actual = make(bhttp::verb::get, "/items/1");
  actual.set(bhttp::field::origin, "https://app.example.com");
  EXPECT_EQ(run(actual)[bhttp::field::access_control_allow_origin], "https://app.example.com");
  actual.set(bhttp::field::origin, "https://evil.example.com");
  Response other = run(actual);
  EXPECT_EQ(other.find(bhttp::field::access_control_allow_origin), other.end());
}

TEST_F(PipelineTest, NoCorsHeadersWhenCorsIsOff) {
  Request pre = make(bhttp::verb::options, "/echo");
  pre.set(bhttp::field::origin, "https://app.example.com");
  pre.set(bhttp::field::access_control_request_method, "POST");
  Response res = run(pre);
  EXPECT_EQ(res.result_int(), 403u);
  EXPECT_EQ(res.find(bhttp::field::access_control_allow_origin), res.end());
}

TEST_F(PipelineTest, HeadHasHeadersButNoBody) {
  Response get = run(make(bhttp::verb::get, "/items/9"));
  Response head = run(make(bhttp::verb::head, "/items/9"));
  EXPECT_EQ(head.result_int(), 200u);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[bhttp::field::content_length], std::to_string(get.body().size()));
}

TEST_F(PipelineTest, RejectAddsTheSameHeaders) {
  Pipeline p = make_pipeline();
  Request head{bhttp::verb::post, "/echo", 11};
  head.set("X-Request-Id", "too-big-1");
  Response res = p.reject(head, Peer{"127.0.0.1", false}, fail(Code::too_large, "too big"));
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_EQ(res.header("X-Request-Id"), "too-big-1");
  EXPECT_EQ(res.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(nlohmann::json::parse(res.body())["code"], "payload_too_large");
}

// The routes of one access level each; the handler answers who called.
class GuardedPipelineTest : public PipelineTest {
 protected:
  GuardedPipelineTest() {
    auto who = [](Context& ctx) -> asio::awaitable<Response> {
      co_return json_response(bhttp::status::ok, {{"user", ctx.principal ? ctx.principal->user_id : "nobody"}});
    };
    Route user{bhttp::verb::get, "/me", who, false, Access::user};
    user.user_rate_bucket = "message";
    router_.add(std::move(user));
    router_.add({bhttp::verb::get, "/admin", who, false, Access::admin});
    router_.add({bhttp::verb::get, "/v1/models", who, false, Access::api});
    router_.add({bhttp::verb::post, "/logout", who, false, Access::optional_user});
    router_.add({bhttp::verb::post, "/login", who, false, Access::anonymous, "login"});
  }
  Response call(bhttp::verb method, const char* target, const char* token = nullptr, Peer peer = {"10.0.0.5", false}) {
    Request req = make(method, target, "", nullptr);
    if (token) req.set(bhttp::field::authorization, std::string("Bearer ") + token);
    if (!pipeline_) rebuild();
    return run(*pipeline_, std::move(req), peer);
  }
  // After a change of options_.
  void rebuild() { pipeline_.emplace(router_, options_, Guards{users_, api_, limiter_}, log_, metrics_); }
  std::optional<Pipeline> pipeline_;
};

TEST_F(GuardedPipelineTest, EachAccessLevelAsksItsAuthenticator) {
  EXPECT_EQ(json(call(bhttp::verb::get, "/me", "access-user"))["user"], "u1");
  EXPECT_EQ(json(call(bhttp::verb::get, "/v1/models", "key-user"))["user"], "u1");
  // A token of one kind is not taken by the other's authenticator.
  EXPECT_EQ(call(bhttp::verb::get, "/me", "key-user").result_int(), 401u);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/models", "access-user").result_int(), 401u);
}

TEST_F(GuardedPipelineTest, AnswersAtHandAreUsedWithoutWaiting) {
  users_.at_once = true;
  EXPECT_EQ(json(call(bhttp::verb::get, "/me", "access-user"))["user"], "u1");
  EXPECT_EQ(json(call(bhttp::verb::get, "/admin", "access-admin"))["user"], "u2");
  EXPECT_EQ(call(bhttp::verb::get, "/admin", "access-user").result_int(), 403u);
  Response refused = call(bhttp::verb::get, "/me", "nope");
  EXPECT_EQ(refused.result_int(), 401u);
  EXPECT_EQ(refused[bhttp::field::www_authenticate], "Bearer error=\"invalid_token\"");
  EXPECT_EQ(call(bhttp::verb::get, "/me", "down").result_int(), 503u);
  EXPECT_EQ(users_.awaited, 0);
  users_.at_once = false;  // the same answers when they must be awaited
  EXPECT_EQ(json(call(bhttp::verb::get, "/me", "access-user"))["user"], "u1");
  EXPECT_EQ(call(bhttp::verb::get, "/admin", "access-user").result_int(), 403u);
  EXPECT_EQ(users_.awaited, 2);
}

TEST_F(GuardedPipelineTest, MissingMalformedAndRefusedTokensAre401WithAChallenge) {
  for (const char* token : {static_cast<const char*>(nullptr), "nope"}) {
    Response res = call(bhttp::verb::get, "/me", token);
    EXPECT_EQ(res.result_int(), 401u);
    EXPECT_TRUE(std::string(res[bhttp::field::www_authenticate]).starts_with("Bearer"));
    EXPECT_EQ(json(res)["code"], "unauthorized");
  }
  Request basic = make(bhttp::verb::get, "/me", "", nullptr);
  basic.set(bhttp::field::authorization, "Basic dXNlcjpwYXNz");
  rebuild();
  EXPECT_EQ(run(*pipeline_, std::move(basic)).result_int(), 401u);
}

TEST_F(GuardedPipelineTest, AnAuthenticatorThatCannotAnswerIs503NotA401) {
  EXPECT_EQ(call(bhttp::verb::get, "/me", "down").result_int(), 503u);
}

TEST_F(GuardedPipelineTest, AdminRoutesNeedTheRole) {
  Response user = call(bhttp::verb::get, "/admin", "access-user");
  EXPECT_EQ(user.result_int(), 403u);
  EXPECT_EQ(json(user)["code"], "forbidden");
  EXPECT_EQ(json(call(bhttp::verb::get, "/admin", "access-admin"))["user"], "u2");
}

TEST_F(GuardedPipelineTest, OptionalUserRunsWithOrWithoutACaller) {
  EXPECT_EQ(json(call(bhttp::verb::post, "/logout"))["user"], "nobody");
  EXPECT_EQ(json(call(bhttp::verb::post, "/logout", "access-user"))["user"], "u1");
  EXPECT_EQ(call(bhttp::verb::post, "/logout", "nope").result_int(), 401u);
}

TEST_F(GuardedPipelineTest, PerIpBucketsRefuseWithRetryAfterAndCountTheRefusal) {
  options_.rate_limits = {{"login", {2, 60}}};
  rebuild();
  EXPECT_EQ(call(bhttp::verb::post, "/login").result_int(), 200u);
  Response second = call(bhttp::verb::post, "/login");
  EXPECT_EQ(second.result_int(), 200u);
  EXPECT_EQ(second.header("RateLimit-Limit"), "2");
  Response third = call(bhttp::verb::post, "/login");
  EXPECT_EQ(third.result_int(), 429u);
  EXPECT_EQ(json(third)["code"], "rate_limited");
  EXPECT_EQ(third.header("Retry-After"), "30");  // one of two requests a minute frees up in 30 s
  std::string wire;
  serialize_response(third, false, wire);
  EXPECT_EQ(wire.find("Retry-After"), wire.rfind("Retry-After"));  // sent once
  // Another address has its own bucket.
  EXPECT_EQ(call(bhttp::verb::post, "/login", nullptr, {"10.0.0.6", false}).result_int(), 200u);
  EXPECT_NE(metrics_.render().find("chatd_rate_limited_total{bucket=\"login\"} 1"), std::string::npos);
}

// A limiter that waits for its answer (as the Redis one waits for Redis): the pipeline must
// take the coroutine path and reach the same decisions as with the in-process limiter.
class WaitingLimiter final : public limits::RateLimiter {
 public:
  asio::awaitable<limits::Decision> hit(std::string key, config::RateLimit rule, std::int64_t now_ms) override {
    ++hits;
    auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, asio::use_awaitable);  // really suspends
    co_return inner.take(key, rule, now_ms);
  }
  int hits = 0;
  limits::MemoryRateLimiter inner;
};

TEST_F(GuardedPipelineTest, ALimiterThatWaitsIsAwaitedWithTheSameOutcome) {
  WaitingLimiter waiting;
  options_.rate_limits = {{"login", {2, 60}}, {"message", {1, 60}}};
  pipeline_.emplace(router_, options_, Guards{users_, api_, waiting}, log_, metrics_);
  EXPECT_EQ(call(bhttp::verb::post, "/login").result_int(), 200u);
  Response second = call(bhttp::verb::post, "/login");
  EXPECT_EQ(second.result_int(), 200u);
  EXPECT_EQ(second.header("RateLimit-Remaining"), "0");
  Response third = call(bhttp::verb::post, "/login");
  EXPECT_EQ(third.result_int(), 429u);
  EXPECT_EQ(third.header("Retry-After"), "30");
  EXPECT_EQ(waiting.hits, 3);
  EXPECT_EQ(call(bhttp::verb::get, "/me", "access-user").result_int(), 200u);
  EXPECT_EQ(call(bhttp::verb::get, "/me", "access-user").result_int(), 429u);
  EXPECT_EQ(waiting.hits, 5);
  EXPECT_EQ(limiter_.size(), 0u);  // the in-process limiter of the fixture was not asked
}

TEST_F(GuardedPipelineTest, PerUserBucketsCountTheCallerNotTheAddress) {
  options_.rate_limits = {{"message", {1, 60}}};
  rebuild();
  EXPECT_EQ(call(bhttp::verb::get, "/me", "access-user", {"10.0.0.7", false}).result_int(), 200u);
  EXPECT_EQ(call(bhttp::verb::get, "/me", "access-user", {"10.0.0.8", false}).result_int(), 429u);
  EXPECT_EQ(call(bhttp::verb::get, "/me", "access-admin", {"10.0.0.8", false}).result_int(), 200u);
}

}  // namespace
}  // namespace chatd::http
