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

void add_auth_routes(http::Router& router, auth::Service& service, auth::KeyRing& keys) {
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
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto login = in.required_string("login", 254);
                auto password = in.required_string("password", 1024);
                auto otp = in.optional_string("otp", 64);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto result = co_await svc.login(login, password, otp, meta_of(ctx));
                if (!result) co_return http::error_response(ctx, result.error());
                co_return no_store(http::json_response(bhttp::status::ok, login_json(result.value())));
              },
              true, Access::anonymous, "login"});

  router.add({bhttp::verb::post, "/auth/refresh",
              [&svc](Context& ctx) -> awaitable<Response> {
                BodyReader in(ctx.body);
                auto token = in.required_string("refresh_token", 256);
                if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
                auto result = co_await svc.refresh(token, meta_of(ctx));
                if (!result) co_return http::error_response(ctx, result.error());
                co_return no_store(http::json_response(bhttp::status::ok, login_json(result.value())));
              },
              true, Access::anonymous, "refresh"});

  router.add({bhttp::verb::post, "/auth/logout",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto done = co_await svc.logout(*ctx.principal, meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::empty_response(bhttp::status::no_content);
              },
              false, Access::user});

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
}

}  // namespace chatd::api
