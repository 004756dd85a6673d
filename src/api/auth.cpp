#include "api/auth.hpp"

#include "api/common.hpp"
#include "api/input.hpp"
#include "core/json_writer.hpp"
#include "core/time.hpp"
#include "http/problem.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Access;
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

void add_auth_routes(http::Router& router, auth::Service& service, auth::KeyRing& keys, WebSessionOptions web,
                     obs::Metrics& metrics) {
  auto& svc = service;

  router.add({bhttp::verb::post, "/auth/register",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto email = in.required_string("email", 254);
                auto username = in.required_string("username", 64);
                auto password = in.required_string("password", 1024);
                auto invite = in.optional_string("invite_code", 256);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto user = co_await svc.register_user(email, username, password, invite, meta_of(ctx));
                if (!user) co_return http::error_response(ctx, user.error());
                co_return http::json_response(bhttp::status::created, {{"user", user_json(user.value())}});
              },
              true, Access::anonymous, "register"});

  router.add({bhttp::verb::post, "/auth/email/verify/request",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto email = in.required_string("email", 254);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto done = co_await svc.request_verification(email, meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::json_response(bhttp::status::accepted, {{"status", "accepted"}});
              },
              true, Access::anonymous, "verify"});

  router.add({bhttp::verb::post, "/auth/email/verify/confirm",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto token = in.required_string("token", 256);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto user = co_await svc.confirm_verification(token, meta_of(ctx));
                if (!user) co_return http::error_response(ctx, user.error());
                co_return http::json_response(bhttp::status::ok, {{"user", user_json(user.value())}});
              },
              true, Access::anonymous, "verify"});

  router.add({bhttp::verb::post, "/auth/login",
              [&svc, web, &metrics](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto login = in.required_string("login", 254);
                auto password = in.required_string("password", 1024);
                auto otp = in.optional_string("otp", 64);
                auto mode = in.optional_string("session", 16);
                if (mode && *mode != "cookie" && *mode != "body") in.reject("session", R"(must be "cookie" or "body")");
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto result = co_await svc.login(login, password, otp, meta_of(ctx));
                count_login(metrics, result);
                if (!result) co_return http::error_response(ctx, result.error());
                if (mode == "cookie") co_return cookie_session_response(web, svc, result.value());
                co_return no_store(http::json_response(bhttp::status::ok, login_json(result.value())));
              },
              true, Access::anonymous, "login"});

  // The refresh token comes in the body, or else in the browser session's cookie, which
  // must come with the session's X-CSRF-Token (a cookie is sent by the browser whoever
  // caused the request; the header only by the page that was given the token).
  router.add({bhttp::verb::post, "/auth/refresh",
              [&svc, web, &metrics](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto token = in.optional_string("refresh_token", 256);
                if (token && token->empty()) in.reject("refresh_token", "must not be empty");
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                if (token) {
                  auto result = co_await svc.refresh(*token, meta_of(ctx));
                  count_refresh(metrics, result);
                  if (!result) co_return http::error_response(ctx, result.error());
                  co_return no_store(http::json_response(bhttp::status::ok, login_json(result.value())));
                }
                auto cookie = ctx.cookie(kRefreshCookie);
                // A browser session whose cookie is gone (expired, cleared) still sends its
                // CSRF token: its session is over, which is a 401, not a malformed request.
                if ((!cookie || cookie->empty()) && !csrf_header(ctx).empty())
                  co_return http::error_response(
                      ctx, fail(Code::unauthenticated, "the session has ended (its cookie was not sent)"));
                if (!cookie || cookie->empty())
                  co_return http::error_response(
                      ctx, Error::validation({{"refresh_token", "is required (unless the session's cookie is sent)"}}));
                auto result = co_await svc.refresh(*cookie, meta_of(ctx), csrf_header(ctx));
                count_refresh(metrics, result);
                if (!result) {
                  auto res = http::error_response(ctx, result.error());
                  // A session that is over (or was just revoked for reuse) takes its cookie along.
                  if (result.error().code == Code::unauthenticated)
                    res.set(bhttp::field::set_cookie, refresh_cookie(web, "", 0));
                  co_return res;
                }
                co_return cookie_session_response(web, svc, result.value());
              },
              true, Access::anonymous, "refresh"});

  // With an access token: that session ends. Without one, a browser session ends by its
  // cookie and CSRF token. Either way a cookie that came along is cleared.
  router.add({bhttp::verb::post, "/auth/logout",
              [&svc, web](Context& ctx) -> awaitable<Response> {
                auto cookie = ctx.cookie(kRefreshCookie);
                auto clear_cookie = [&](Response res) {
                  if (cookie) res.set(bhttp::field::set_cookie, refresh_cookie(web, "", 0));
                  return res;
                };
                if (ctx.principal) {
                  auto done = co_await svc.logout(*ctx.principal, meta_of(ctx));
                  if (!done) co_return http::error_response(ctx, done.error());
                  co_return clear_cookie(http::empty_response(bhttp::status::no_content));
                }
                if (!cookie || cookie->empty()) {
                  auto res = http::error_response(
                      ctx, fail(Code::unauthenticated,
                                "send the access token (Authorization: Bearer) or the session's cookie"));
                  res.set(bhttp::field::www_authenticate, "Bearer");
                  co_return res;
                }
                auto done = co_await svc.logout_by_refresh_token(*cookie, csrf_header(ctx), meta_of(ctx));
                if (!done) {
                  // A forged request leaves the cookie alone; a dead session's cookie goes.
                  if (done.error().code == Code::permission_denied) co_return http::error_response(ctx, done.error());
                  co_return clear_cookie(http::error_response(ctx, done.error()));
                }
                co_return clear_cookie(http::empty_response(bhttp::status::no_content));
              },
              false, Access::optional_user});

  router.add({bhttp::verb::post, "/auth/logout-all",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto done = co_await svc.logout_all(*ctx.principal, meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::empty_response(bhttp::status::no_content);
              },
              false, Access::user});

  router.add({bhttp::verb::get, "/auth/me",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto user = co_await svc.me(*ctx.principal);
                if (!user) co_return http::error_response(ctx, user.error());
                Response res{bhttp::status::ok, 11};
                res.set(bhttp::field::content_type, "application/json");
                res.body().reserve(320);
                res.body() += "{\"user\":";
                append_user_json(res.body(), user.value());
                res.body() += '}';
                co_return res;
              },
              false, Access::user});

  router.add({bhttp::verb::get, "/auth/sessions",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto list = co_await svc.sessions(*ctx.principal);
                if (!list) co_return http::error_response(ctx, list.error());
                nlohmann::json items = nlohmann::json::array();
                for (const auto& v : list.value()) {
                  items.push_back({{"id", v.session.id},
                                   {"created_at", format_rfc3339(v.session.created_at)},
                                   {"last_used_at", format_rfc3339(v.session.last_used_at)},
                                   {"expires_at", format_rfc3339(v.session.expires_at)},
                                   {"ip", v.session.ip},
                                   {"user_agent", v.session.user_agent},
                                   {"current", v.current}});
                }
                co_return http::json_response(bhttp::status::ok, {{"items", items}});
              },
              false, Access::user});

  router.add({bhttp::verb::delete_, "/auth/sessions/{id}",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto done = co_await svc.delete_session(*ctx.principal, ctx.params.get("id"), meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::empty_response(bhttp::status::no_content);
              },
              false, Access::user});

  router.add({bhttp::verb::post, "/auth/password/change",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto current = in.required_string("current_password", 1024);
                auto next = in.required_string("new_password", 1024);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto done = co_await svc.change_password(*ctx.principal, current, next, meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::empty_response(bhttp::status::no_content);
              },
              true, Access::user});

  router.add({bhttp::verb::post, "/auth/password-reset/request",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto email = in.required_string("email", 254);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto done = co_await svc.request_password_reset(email, meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::json_response(bhttp::status::accepted, {{"status", "accepted"}});
              },
              true, Access::anonymous, "verify"});

  router.add({bhttp::verb::post, "/auth/password-reset/confirm",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto token = in.required_string("token", 256);
                auto next = in.required_string("new_password", 1024);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto done = co_await svc.confirm_password_reset(token, next, meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::empty_response(bhttp::status::no_content);
              },
              true, Access::anonymous, "verify"});

  router.add({bhttp::verb::post, "/auth/2fa/setup",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto setup = co_await svc.totp_setup(*ctx.principal, meta_of(ctx));
                if (!setup) co_return http::error_response(ctx, setup.error());
                co_return no_store(http::json_response(bhttp::status::ok, {{"secret", setup.value().secret},
                                                                           {"otpauth_uri", setup.value().otpauth_uri},
                                                                           {"qr_svg", setup.value().qr_svg}}));
              },
              false, Access::user, "otp"});

  router.add({bhttp::verb::post, "/auth/2fa/verify",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto code = in.required_string("code", 32);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto codes = co_await svc.totp_verify(*ctx.principal, code, meta_of(ctx));
                if (!codes) co_return http::error_response(ctx, codes.error());
                co_return no_store(http::json_response(bhttp::status::ok, {{"recovery_codes", codes.value()}}));
              },
              true, Access::user, "otp"});

  router.add({bhttp::verb::post, "/auth/2fa/disable",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto password = in.required_string("password", 1024);
                auto code = in.required_string("code", 32);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto done = co_await svc.totp_disable(*ctx.principal, password, code, meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::empty_response(bhttp::status::no_content);
              },
              true, Access::user, "otp"});

  auto jwks = [&keys](Context&) -> awaitable<Response> {
    Response res = http::json_response(bhttp::status::ok, keys.jwks());
    res.set(bhttp::field::cache_control, "public, max-age=300");
    co_return res;
  };
  router.add({bhttp::verb::get, "/auth/keys/jwks.json", jwks});
  router.add({bhttp::verb::get, "/.well-known/jwks.json", jwks});

  router.add({bhttp::verb::post, "/auth/keys/rotate",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto kid = co_await svc.rotate_keys(*ctx.principal, meta_of(ctx));
                if (!kid) co_return http::error_response(ctx, kid.error());
                co_return http::json_response(bhttp::status::ok, {{"kid", kid.value()}});
              },
              false, Access::admin});

  // The signing keys as the console shows them: the current one and every other key whose
  // tokens may still be valid (the JWKS's), by kid only.
  router.add({bhttp::verb::get, "/admin/keys",
              [&keys](Context&) -> awaitable<Response> {
                std::string current = keys.signing_kid();
                nlohmann::json list = nlohmann::json::array();
                const nlohmann::json key_set = keys.jwks();
                for (const auto& k : key_set.at("keys")) {
                  std::string kid = k.at("kid").get<std::string>();
                  list.push_back({{"kid", kid}, {"current", kid == current}});
                }
                co_return http::json_response(bhttp::status::ok, {{"current_kid", current}, {"keys", list}});
              },
              false, Access::admin});
}

}  // namespace chatd::api
