#include "api/auth.hpp"

#include "api/common.hpp"
#include "api/input.hpp"
#include "api/reply.hpp"
#include "api/routes.hpp"
#include "auth/keys.hpp"
#include "auth/service.hpp"
#include "core/json_writer.hpp"
#include "core/time.hpp"
#include "http/problem.hpp"
#include "observability/metrics.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Context;
using http::Response;

namespace {

nlohmann::json login_json(const auth::LoginResult& r) {
  return {{"access_token", r.access_token},   {"token_type", "Bearer"},     {"expires_in", r.expires_in},
          {"refresh_token", r.refresh_token}, {"session_id", r.session_id}, {"user", user_json(r.user)}};
}

// API.md, Web sessions: a browser's refresh token lives in this cookie, which scripts cannot
// read, sent only to /auth and never from another site.
constexpr std::string_view kRefreshCookie = "chatd_refresh";

std::string refresh_cookie(const WebSessionOptions& web, std::string_view token, std::int64_t max_age) {
  std::string c(kRefreshCookie);
  c.append("=").append(token).append("; Path=/auth; Max-Age=").append(std::to_string(max_age));
  c.append("; HttpOnly; SameSite=Strict");
  if (web.secure_cookie) c.append("; Secure");
  return c;
}

// The answer of a login or refresh of a browser session: the refresh token goes into the
// cookie instead of the body, and the session's CSRF token comes with it.
http::Response cookie_session_response(const WebSessionOptions& web, const auth::Service& svc,
                                       const auth::LoginResult& r) {
  nlohmann::json body = login_json(r);
  body.erase("refresh_token");
  body["csrf_token"] = svc.csrf_token(r.session_id);
  auto res = no_store(http::json_response(bhttp::status::ok, body));
  res.set(bhttp::field::set_cookie, refresh_cookie(web, r.refresh_token, web.refresh_max_age));
  return res;
}

// 202 {"status": "accepted"}: the request was taken, whatever the address (no account probing).
Response accepted() { return http::json_response(bhttp::status::accepted, {{"status", "accepted"}}); }

std::string csrf_header(const Context& ctx) {
  auto it = ctx.req.find("X-CSRF-Token");
  return it == ctx.req.end() ? std::string() : std::string(it->value());
}

}  // namespace

// The same object as user_json, written straight into a string: GET /auth/me is the
// hottest account route, and building a JSON tree for it cost more than the rest of it.
void append_user_json(std::string& out, const auth::User& u) {
  JsonWriter w(out);
  w.begin_object().key("id").string(u.id).key("email").string(u.email).key("username").string(u.username);
  w.key("email_verified").boolean(u.email_verified_at.has_value()).key("roles").begin_array();
  for (const auto& role : u.roles) w.string(role);
  w.end_array().key("totp_enabled").boolean(u.totp_enabled).key("created_at").string(format_rfc3339(u.created_at));
  w.key("last_login_at");
  if (u.last_login_at)
    w.string(format_rfc3339(*u.last_login_at));
  else
    w.null();
  w.end_object();
}

namespace {

// What a login or refresh came to, for /metrics: the outcomes operators watch for attacks.
template <class T>
void count_login(obs::Metrics& metrics, const Result<T>& result) {
  if (result) {
    metrics.auth_event(obs::AuthEvent::login_succeeded);
    return;
  }
  const std::string& reason = result.error().reason;
  if (reason == "invalid_credentials")
    metrics.auth_event(obs::AuthEvent::login_failed);
  else if (reason == "account_locked")
    metrics.auth_event(obs::AuthEvent::login_locked);
  else if (reason == "invalid_otp")
    metrics.auth_event(obs::AuthEvent::otp_failed);
}

template <class T>
void count_refresh(obs::Metrics& metrics, const Result<T>& result) {
  if (result)
    metrics.auth_event(obs::AuthEvent::refresh_succeeded);
  else if (result.error().reason == "token_reused")
    metrics.auth_event(obs::AuthEvent::refresh_reused);
}

}  // namespace

nlohmann::json user_json(const auth::User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"username", u.username},
          {"email_verified", u.email_verified_at.has_value()},
          {"roles", u.roles},
          {"totp_enabled", u.totp_enabled},
          {"created_at", format_rfc3339(u.created_at)},
          {"last_login_at", time_or_null(u.last_login_at)}};
}

awaitable<Response> register_user(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto email = in.required_string("email", 254);
  auto username = in.required_string("username", 64);
  auto password = in.required_string("password", 1024);
  auto invite = in.optional_string("invite_code", 256);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  co_return reply_json(ctx, bhttp::status::created,
                       co_await s.accounts.register_user(email, username, password, invite, meta_of(ctx)),
                       [](const auth::User& u) {
                         return nlohmann::json{{"user", user_json(u)}};
                       });
}

awaitable<Response> request_verification(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto email = in.required_string("email", 254);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  co_return reply(ctx, co_await s.accounts.request_verification(email, meta_of(ctx)), accepted);
}

awaitable<Response> confirm_verification(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto token = in.required_string("token", 256);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  co_return reply_json(ctx, bhttp::status::ok, co_await s.accounts.confirm_verification(token, meta_of(ctx)),
                       [](const auth::User& u) {
                         return nlohmann::json{{"user", user_json(u)}};
                       });
}

awaitable<Response> login(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto login = in.required_string("login", 254);
  auto password = in.required_string("password", 1024);
  auto otp = in.optional_string("otp", 64);
  auto mode = in.optional_string("session", 16);
  if (mode && *mode != "cookie" && *mode != "body") in.reject("session", R"(must be "cookie" or "body")");
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  auto result = co_await s.accounts.login(login, password, otp, meta_of(ctx));
  count_login(s.metrics, result);
  co_return reply(ctx, std::move(result), [&](const auth::LoginResult& r) {
    if (mode == "cookie") return cookie_session_response(s.web, s.accounts, r);
    return no_store(http::json_response(bhttp::status::ok, login_json(r)));
  });
}

// The refresh token comes in the body, or else in the browser session's cookie, which
// must come with the session's X-CSRF-Token (a cookie is sent by the browser whoever
// caused the request; the header only by the page that was given the token).
awaitable<Response> refresh(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto token = in.optional_string("refresh_token", 256);
  if (token && token->empty()) in.reject("refresh_token", "must not be empty");
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  if (token) {
    auto result = co_await s.accounts.refresh(*token, meta_of(ctx));
    count_refresh(s.metrics, result);
    co_return reply(ctx, std::move(result), [](const auth::LoginResult& r) {
      return no_store(http::json_response(bhttp::status::ok, login_json(r)));
    });
  }
  auto cookie = ctx.cookie(kRefreshCookie);
  // A browser session whose cookie is gone (expired, cleared) still sends its CSRF token:
  // its session is over, which is a 401, not a malformed request.
  if ((!cookie || cookie->empty()) && !csrf_header(ctx).empty())
    co_return http::error_response(ctx, fail(Code::unauthenticated, "the session has ended (its cookie was not sent)"));
  if (!cookie || cookie->empty())
    co_return http::error_response(
        ctx, Error::validation({{"refresh_token", "is required (unless the session's cookie is sent)"}}));
  auto result = co_await s.accounts.refresh(*cookie, meta_of(ctx), csrf_header(ctx));
  count_refresh(s.metrics, result);
  if (!result) {
    auto res = http::error_response(ctx, result.error());
    // A session that is over (or was just revoked for reuse) takes its cookie along.
    if (result.error().code == Code::unauthenticated) res.set(bhttp::field::set_cookie, refresh_cookie(s.web, "", 0));
    co_return res;
  }
  co_return cookie_session_response(s.web, s.accounts, result.value());
}

// With an access token: that session ends. Without one, a browser session ends by its
// cookie and CSRF token. Either way a cookie that came along is cleared.
awaitable<Response> logout(const Services& s, Context& ctx) {
  auto cookie = ctx.cookie(kRefreshCookie);
  auto clear_cookie = [&](Response res) {
    if (cookie) res.set(bhttp::field::set_cookie, refresh_cookie(s.web, "", 0));
    return res;
  };
  if (ctx.principal) {
    auto done = co_await s.accounts.logout(*ctx.principal, meta_of(ctx));
    co_return reply(ctx, std::move(done),
                    [&] { return clear_cookie(http::empty_response(bhttp::status::no_content)); });
  }
  if (!cookie || cookie->empty()) {
    auto res = http::error_response(
        ctx, fail(Code::unauthenticated, "send the access token (Authorization: Bearer) or the session's cookie"));
    res.set(bhttp::field::www_authenticate, "Bearer");
    co_return res;
  }
  auto done = co_await s.accounts.logout_by_refresh_token(*cookie, csrf_header(ctx), meta_of(ctx));
  // A forged request leaves the cookie alone; a dead session's cookie goes.
  if (!done && done.error().code == Code::permission_denied) co_return http::error_response(ctx, done.error());
  if (!done) co_return clear_cookie(http::error_response(ctx, done.error()));
  co_return clear_cookie(http::empty_response(bhttp::status::no_content));
}

awaitable<Response> logout_all(const Services& s, Context& ctx) {
  co_return reply_no_content(ctx, co_await s.accounts.logout_all(*ctx.principal, meta_of(ctx)));
}

awaitable<Response> me(const Services& s, Context& ctx) {
  co_return reply(ctx, co_await s.accounts.me(*ctx.principal), [](const auth::User& user) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body().reserve(320);
    res.body() += "{\"user\":";
    append_user_json(res.body(), user);
    res.body() += '}';
    return res;
  });
}

awaitable<Response> list_sessions(const Services& s, Context& ctx) {
  co_return reply_json(ctx, bhttp::status::ok, co_await s.accounts.sessions(*ctx.principal),
                       [](const std::vector<auth::SessionView>& list) {
                         nlohmann::json items = nlohmann::json::array();
                         for (const auto& v : list) {
                           items.push_back({{"id", v.session.id},
                                            {"created_at", format_rfc3339(v.session.created_at)},
                                            {"last_used_at", format_rfc3339(v.session.last_used_at)},
                                            {"expires_at", format_rfc3339(v.session.expires_at)},
                                            {"ip", v.session.ip},
                                            {"user_agent", v.session.user_agent},
                                            {"current", v.current}});
                         }
                         return nlohmann::json{{"items", items}};
                       });
}

awaitable<Response> delete_session(const Services& s, Context& ctx) {
  co_return reply_no_content(ctx,
                             co_await s.accounts.delete_session(*ctx.principal, ctx.params.get("id"), meta_of(ctx)));
}

awaitable<Response> change_password(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto current = in.required_string("current_password", 1024);
  auto next = in.required_string("new_password", 1024);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  co_return reply_no_content(ctx, co_await s.accounts.change_password(*ctx.principal, current, next, meta_of(ctx)));
}

awaitable<Response> request_password_reset(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto email = in.required_string("email", 254);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  co_return reply(ctx, co_await s.accounts.request_password_reset(email, meta_of(ctx)), accepted);
}

awaitable<Response> confirm_password_reset(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto token = in.required_string("token", 256);
  auto next = in.required_string("new_password", 1024);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  co_return reply_no_content(ctx, co_await s.accounts.confirm_password_reset(token, next, meta_of(ctx)));
}

awaitable<Response> totp_setup(const Services& s, Context& ctx) {
  co_return reply(ctx, co_await s.accounts.totp_setup(*ctx.principal, meta_of(ctx)), [](const auth::TotpSetup& t) {
    return no_store(http::json_response(bhttp::status::ok,
                                        {{"secret", t.secret}, {"otpauth_uri", t.otpauth_uri}, {"qr_svg", t.qr_svg}}));
  });
}

awaitable<Response> totp_verify(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto code = in.required_string("code", 32);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  co_return reply(ctx, co_await s.accounts.totp_verify(*ctx.principal, code, meta_of(ctx)),
                  [](const std::vector<std::string>& codes) {
                    return no_store(http::json_response(bhttp::status::ok, {{"recovery_codes", codes}}));
                  });
}

awaitable<Response> totp_disable(const Services& s, Context& ctx) {
  BodyReader in(ctx.body);
  auto password = in.required_string("password", 1024);
  auto code = in.required_string("code", 32);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  co_return reply_no_content(ctx, co_await s.accounts.totp_disable(*ctx.principal, password, code, meta_of(ctx)));
}

awaitable<Response> jwks(const Services& s, Context&) {
  Response res = http::json_response(bhttp::status::ok, s.keys.jwks());
  res.set(bhttp::field::cache_control, "public, max-age=300");
  co_return res;
}

awaitable<Response> rotate_keys(const Services& s, Context& ctx) {
  co_return reply_json(ctx, bhttp::status::ok, co_await s.accounts.rotate_keys(*ctx.principal, meta_of(ctx)),
                       [](const std::string& kid) {
                         return nlohmann::json{{"kid", kid}};
                       });
}

// The signing keys as the console shows them: the current one and every other key whose
// tokens may still be valid (the JWKS's), by kid only.
awaitable<Response> signing_keys(const Services& s, Context&) {
  std::string current = s.keys.signing_kid();
  nlohmann::json list = nlohmann::json::array();
  const nlohmann::json key_set = s.keys.jwks();
  for (const auto& k : key_set.at("keys")) {
    std::string kid = k.at("kid").get<std::string>();
    list.push_back({{"kid", kid}, {"current", kid == current}});
  }
  co_return http::json_response(bhttp::status::ok, {{"current_kid", current}, {"keys", list}});
}

}  // namespace chatd::api
