// The handlers of src/api/auth.hpp called by name: statuses, bodies (API.md's shapes and
// problem documents), the refresh cookie of browser sessions and its CSRF token, no-store on
// answers that carry secrets, and field validation before any service is asked.

#include "api/auth.hpp"

#include "auth/totp.hpp"
#include "handler_fixture.hpp"

#include <gtest/gtest.h>

namespace chatd::api {
namespace {

using store::Dialect;

constexpr const char* kUserKeys[] = {"created_at",    "email", "email_verified", "id",
                                     "last_login_at", "roles", "totp_enabled",   "username"};

class AuthHandlersTest : public HandlerTest {
 protected:
  static std::vector<std::string> user_keys() { return {std::begin(kUserKeys), std::end(kUserKeys)}; }

  http::Response login_as(const std::string& login, const std::string& password, nlohmann::json extra = {}) {
    nlohmann::json body = {{"login", login}, {"password", password}};
    if (extra.is_object()) body.update(extra);
    return call(api::login, Call::post("/auth/login").with_body(body));
  }
  http::Response refresh_with(nlohmann::json body, std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (body.is_null()) body = nlohmann::json::object();
    return call(api::refresh, Call::post("/auth/refresh").with_body(std::move(body)).with_headers(headers));
  }
  // The chatd_refresh value a Set-Cookie header sets.
  static std::string cookie_value(const std::string& set_cookie) {
    const std::string prefix = "chatd_refresh=";
    if (set_cookie.rfind(prefix, 0) != 0) return "(no chatd_refresh cookie: " + set_cookie + ")";
    return set_cookie.substr(prefix.size(), set_cookie.find(';') - prefix.size());
  }
};

TEST_P(AuthHandlersTest, RegisterAnswers201WithTheUserAndNothingSecret) {
  auto res =
      call(register_user, Call::post("/auth/register")
                              .with_body({{"email", "Ann@Example.com"}, {"username", "ann"}, {"password", kPassword}}));
  ASSERT_EQ(res.result_int(), 201u) << res.body();
  auto body = json(res);
  EXPECT_EQ(keys(body), std::vector<std::string>{"user"});
  const auto& user = body["user"];
  EXPECT_EQ(keys(user), user_keys());
  EXPECT_EQ(user["email"], "ann@example.com");
  EXPECT_EQ(user["email_verified"], false);
  EXPECT_EQ(user["roles"], nlohmann::json::array({"user"}));
  EXPECT_EQ(user["totp_enabled"], false);
  EXPECT_EQ(user["created_at"], "2026-03-10T12:00:00Z");
  EXPECT_TRUE(user["last_login_at"].is_null());
  EXPECT_EQ(res.body().find("argon2"), std::string::npos);
  EXPECT_EQ(s().mailer.sent_to("ann@example.com").size(), 1u);

  auto again = call(register_user,
                    Call::post("/auth/register")
                        .with_body({{"email", "ann@example.com"}, {"username", "ann2"}, {"password", kPassword}}));
  EXPECT_TRUE(is_problem(again, 409, "conflict"));
}

TEST_P(AuthHandlersTest, RegisterNamesEveryMissingOrMistypedField) {
  auto res = call(register_user, Call::post("/auth/register").with_body({{"email", 42}, {"invite_code", 7}}));
  ASSERT_TRUE(is_problem(res, 422, "validation_failed"));
  EXPECT_EQ(error_fields(res), (std::vector<std::string>{"email", "username", "password", "invite_code"}));
  auto weak = call(register_user,
                   Call::post("/auth/register")
                       .with_body({{"email", "ann@example.com"}, {"username", "a b"}, {"password", "password1234"}}));
  ASSERT_TRUE(is_problem(weak, 422, "validation_failed"));
  auto fields = error_fields(weak);
  EXPECT_NE(std::find(fields.begin(), fields.end(), "username"), fields.end());
  EXPECT_NE(std::find(fields.begin(), fields.end(), "password"), fields.end());
  EXPECT_EQ(count("users"), 0);
}

TEST_P(AuthHandlersTest, VerificationRequestsAre202WhateverTheAddressAndABadTokenIs400) {
  add_user("bea", unit::Account::unverified);
  for (const char* email : {"bea@example.com", "nobody@example.com"}) {
    auto res = call(request_verification, Call::post("/auth/email/verify/request").with_body({{"email", email}}));
    EXPECT_EQ(res.result_int(), 202u) << email;
    EXPECT_EQ(json(res), nlohmann::json({{"status", "accepted"}}));
  }
  EXPECT_EQ(s().mailer.sent().size(), 1u);
  auto bad = call(confirm_verification, Call::post("/auth/email/verify/confirm").with_body({{"token", "ev_nope"}}));
  EXPECT_TRUE(is_problem(bad, 400, "invalid_token"));
  auto good =
      call(confirm_verification,
           Call::post("/auth/email/verify/confirm").with_body({{"token", s().mailer.last_token("bea@example.com")}}));
  ASSERT_EQ(good.result_int(), 200u) << good.body();
  EXPECT_EQ(json(good)["user"]["email_verified"], true);
}

TEST_P(AuthHandlersTest, LoginAnswersTheTokensUncached) {
  add_user("cal");
  auto res = login_as("cal", kPassword);
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(header(res, "Cache-Control"), "no-store");
  EXPECT_EQ(header(res, "Set-Cookie"), "");
  auto body = json(res);
  EXPECT_EQ(keys(body), (std::vector<std::string>{"access_token", "expires_in", "refresh_token", "session_id",
                                                  "token_type", "user"}));
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["expires_in"], 900);
  EXPECT_EQ(keys(body["user"]), user_keys());
  EXPECT_EQ(body["user"]["last_login_at"], "2026-03-10T12:00:00Z");
  auto who = authenticate(body["access_token"].get<std::string>());
  ASSERT_TRUE(who);
  EXPECT_EQ(body["session_id"], who.value().session_id);
}

TEST_P(AuthHandlersTest, ACookieLoginSetsTheRefreshCookieAndGivesACsrfTokenInstead) {
  add_user("dee");
  auto res = login_as("dee", kPassword, {{"session", "cookie"}});
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(header(res, "Cache-Control"), "no-store");
  auto body = json(res);
  EXPECT_FALSE(body.contains("refresh_token"));
  ASSERT_TRUE(body.contains("csrf_token"));
  EXPECT_EQ(body["csrf_token"], s().accounts.csrf_token(body["session_id"].get<std::string>()));
  const std::string cookie = header(res, "Set-Cookie");
  EXPECT_EQ(cookie_value(cookie).rfind("rt_", 0), 0u) << cookie;
  EXPECT_EQ(cookie.substr(cookie.find(';')), "; Path=/auth; Max-Age=2592000; HttpOnly; SameSite=Strict");

  s().services.web.secure_cookie = true;
  auto secure = login_as("dee", kPassword, {{"session", "cookie"}});
  EXPECT_TRUE(header(secure, "Set-Cookie").ends_with("; Secure")) << header(secure, "Set-Cookie");

  auto unknown_mode = login_as("dee", kPassword, {{"session", "jar"}});
  ASSERT_TRUE(is_problem(unknown_mode, 422, "validation_failed"));
  EXPECT_EQ(error_fields(unknown_mode), std::vector<std::string>{"session"});
}

TEST_P(AuthHandlersTest, LoginFailuresAreTheContractsProblems) {
  add_user("eli");
  add_user("fia", unit::Account::unverified);
  EXPECT_TRUE(is_problem(login_as("eli", kOtherPassword), 401, "invalid_credentials"));
  EXPECT_TRUE(is_problem(login_as("fia", kPassword), 403, "email_not_verified"));
  auto missing = call(api::login, Call::post("/auth/login").with_body({{"login", "eli"}}));
  ASSERT_TRUE(is_problem(missing, 422, "validation_failed"));
  EXPECT_EQ(error_fields(missing), std::vector<std::string>{"password"});

  s().config.lockout_threshold = 2;  // one more failure locks
  EXPECT_TRUE(is_problem(login_as("eli", kOtherPassword), 401, "invalid_credentials"));
  auto locked = login_as("eli", kPassword);
  ASSERT_TRUE(is_problem(locked, 423, "account_locked"));
  EXPECT_EQ(header(locked, "Retry-After"), "900");
}

TEST_P(AuthHandlersTest, RefreshByCookieNeedsTheCsrfTokenAndRotatesTheCookie) {
  add_user("gil");
  auto in = login_as("gil", kPassword, {{"session", "cookie"}});
  const std::string first = cookie_value(header(in, "Set-Cookie"));
  const std::string csrf = json(in)["csrf_token"].get<std::string>();

  auto forged = refresh_with({}, {{"Cookie", "chatd_refresh=" + first}});
  EXPECT_TRUE(is_problem(forged, 403, "forbidden"));
  EXPECT_EQ(header(forged, "Set-Cookie"), "");  // a forged request leaves the cookie alone

  auto rotated = refresh_with({}, {{"Cookie", "theme=dark; chatd_refresh=" + first}, {"X-CSRF-Token", csrf}});
  ASSERT_EQ(rotated.result_int(), 200u) << rotated.body();
  EXPECT_EQ(header(rotated, "Cache-Control"), "no-store");
  const std::string second = cookie_value(header(rotated, "Set-Cookie"));
  EXPECT_NE(second, first);
  EXPECT_EQ(second.rfind("rt_", 0), 0u);
  EXPECT_FALSE(json(rotated).contains("refresh_token"));
  EXPECT_EQ(json(rotated)["csrf_token"], csrf);

  // The old cookie again: the session ends and the cookie is cleared.
  auto reused = refresh_with({}, {{"Cookie", "chatd_refresh=" + first}, {"X-CSRF-Token", csrf}});
  EXPECT_TRUE(is_problem(reused, 401, "token_reused"));
  EXPECT_EQ(header(reused, "Set-Cookie").rfind("chatd_refresh=; Path=/auth; Max-Age=0;", 0), 0u)
      << header(reused, "Set-Cookie");
  EXPECT_TRUE(is_problem(refresh_with({}, {{"Cookie", "chatd_refresh=" + second}, {"X-CSRF-Token", csrf}}), 401,
                         "unauthorized"));
}

TEST_P(AuthHandlersTest, RefreshByBodyTokenNeedsNoCsrfAndNothingAtAllIs422) {
  add_user("hoa");
  const std::string token = json(login_as("hoa", kPassword))["refresh_token"].get<std::string>();
  auto res = refresh_with({{"refresh_token", token}});
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(header(res, "Cache-Control"), "no-store");
  EXPECT_NE(json(res)["refresh_token"], token);
  EXPECT_EQ(header(res, "Set-Cookie"), "");

  auto nothing = refresh_with({});
  ASSERT_TRUE(is_problem(nothing, 422, "validation_failed"));
  EXPECT_EQ(error_fields(nothing), std::vector<std::string>{"refresh_token"});
  // A browser whose cookie is gone still sends its CSRF token: its session is over.
  EXPECT_TRUE(is_problem(refresh_with({}, {{"X-CSRF-Token", "whatever"}}), 401, "unauthorized"));
  EXPECT_TRUE(is_problem(refresh_with({{"refresh_token", ""}}), 422, "validation_failed"));
}

TEST_P(AuthHandlersTest, LogoutEndsTheSessionAndClearsACookieThatCameAlong) {
  auto ivy = sign_in("ivy");
  auto res = call(
      logout,
      Call::post("/auth/logout").by(ivy.principal).with_header("Cookie", "chatd_refresh=" + ivy.login.refresh_token));
  EXPECT_EQ(res.result_int(), 204u) << res.body();
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(header(res, "Set-Cookie").rfind("chatd_refresh=;", 0), 0u);
  EXPECT_FALSE(authenticate(ivy.login.access_token));

  auto nobody = call(logout, Call::post("/auth/logout"));
  EXPECT_TRUE(is_problem(nobody, 401, "unauthorized"));
  EXPECT_EQ(header(nobody, "WWW-Authenticate"), "Bearer");

  auto jon = sign_in("jon");
  auto all = call(logout_all, Call::post("/auth/logout-all").by(jon.principal));
  EXPECT_EQ(all.result_int(), 204u);
  EXPECT_FALSE(authenticate(jon.login.access_token));
}

TEST_P(AuthHandlersTest, MeAndTheSessionListHaveTheContractsShapes) {
  auto kai = sign_in("kai");
  auto second = login("kai");
  auto me_res = call(me, Call::get("/auth/me").by(kai.principal));
  ASSERT_EQ(me_res.result_int(), 200u);
  EXPECT_EQ(header(me_res, "Content-Type"), "application/json");
  auto me_body = json(me_res);
  EXPECT_EQ(keys(me_body["user"]), user_keys());
  EXPECT_EQ(me_body["user"]["id"], kai.user.id);
  EXPECT_EQ(me_body["user"], user_json(kai.login.user));  // the fast writer agrees with user_json

  auto list = call(list_sessions, Call::get("/auth/sessions").by(kai.principal));
  ASSERT_EQ(list.result_int(), 200u);
  auto items = json(list)["items"];
  ASSERT_EQ(items.size(), 2u);
  int current = 0;
  for (const auto& item : items) {
    EXPECT_EQ(keys(item), (std::vector<std::string>{"created_at", "current", "expires_at", "id", "ip", "last_used_at",
                                                    "user_agent"}));
    EXPECT_EQ(item["ip"], "127.0.0.1");
    EXPECT_EQ(item["expires_at"], "2026-04-09T12:00:00Z");
    if (item["current"].get<bool>()) {
      ++current;
      EXPECT_EQ(item["id"], kai.principal.session_id);
    }
  }
  EXPECT_EQ(current, 1);

  auto lee = sign_in("lee");
  auto theirs = call(
      delete_session,
      Call::del("/auth/sessions/" + lee.principal.session_id).by(kai.principal).param("id", lee.principal.session_id));
  EXPECT_TRUE(is_problem(theirs, 404, "not_found"));
  auto mine = call(delete_session,
                   Call::del("/auth/sessions/" + second.session_id).by(kai.principal).param("id", second.session_id));
  EXPECT_EQ(mine.result_int(), 204u);
}

TEST_P(AuthHandlersTest, PasswordRoutesValidateAndAnswerWithoutEnumerating) {
  auto mia = sign_in("mia");
  auto missing =
      call(change_password,
           Call::post("/auth/password/change").with_body({{"current_password", kPassword}}).by(mia.principal));
  ASSERT_TRUE(is_problem(missing, 422, "validation_failed"));
  EXPECT_EQ(error_fields(missing), std::vector<std::string>{"new_password"});
  auto wrong =
      call(change_password, Call::post("/auth/password/change")
                                .with_body({{"current_password", kOtherPassword}, {"new_password", kOtherPassword}})
                                .by(mia.principal));
  EXPECT_TRUE(is_problem(wrong, 401, "invalid_credentials"));

  for (const char* email : {"mia@example.com", "nobody@example.com"}) {
    auto res = call(request_password_reset, Call::post("/auth/password-reset/request").with_body({{"email", email}}));
    EXPECT_EQ(res.result_int(), 202u);
    EXPECT_EQ(json(res), nlohmann::json({{"status", "accepted"}}));
  }
  EXPECT_EQ(s().mailer.sent().size(), 1u);
  auto bad = call(
      confirm_password_reset,
      Call::post("/auth/password-reset/confirm").with_body({{"token", "pr_nope"}, {"new_password", kOtherPassword}}));
  EXPECT_TRUE(is_problem(bad, 400, "invalid_token"));
}

TEST_P(AuthHandlersTest, TwoFactorSecretsAndCodesAreNotCached) {
  auto ned = sign_in("ned");
  auto setup = call(totp_setup, Call::post("/auth/2fa/setup").by(ned.principal));
  ASSERT_EQ(setup.result_int(), 200u) << setup.body();
  EXPECT_EQ(header(setup, "Cache-Control"), "no-store");
  auto material = json(setup);
  EXPECT_EQ(keys(material), (std::vector<std::string>{"otpauth_uri", "qr_svg", "secret"}));

  auto missing = call(totp_verify, Call::post("/auth/2fa/verify").by(ned.principal));
  ASSERT_TRUE(is_problem(missing, 422, "validation_failed"));
  EXPECT_EQ(error_fields(missing), std::vector<std::string>{"code"});

  auto secret = auth::decode_base32(material["secret"].get<std::string>());
  ASSERT_TRUE(secret);
  std::string code = auth::totp_code(*secret, auth::totp_step(s().clock.now_ms() / 1000));
  auto enabled = call(totp_verify, Call::post("/auth/2fa/verify").with_body({{"code", code}}).by(ned.principal));
  ASSERT_EQ(enabled.result_int(), 200u) << enabled.body();
  EXPECT_EQ(header(enabled, "Cache-Control"), "no-store");
  EXPECT_EQ(json(enabled)["recovery_codes"].size(), 10u);
  EXPECT_TRUE(is_problem(call(totp_setup, Call::post("/auth/2fa/setup").by(ned.principal)), 409, "conflict"));
  EXPECT_TRUE(is_problem(login_as("ned", kPassword), 401, "otp_required"));

  auto disable =
      call(totp_disable,
           Call::post("/auth/2fa/disable").with_body({{"password", kPassword}, {"code", code}}).by(ned.principal));
  EXPECT_TRUE(is_problem(disable, 401, "invalid_otp"));  // that code was used to enable
}

TEST_P(AuthHandlersTest, TheKeySetIsPublicAndCacheableAndRotationNamesTheNewKey) {
  auto root = sign_in("root", unit::Account::admin);
  auto set = call(jwks, Call::get("/auth/keys/jwks.json"));
  ASSERT_EQ(set.result_int(), 200u);
  EXPECT_EQ(header(set, "Cache-Control"), "public, max-age=300");
  auto key_set = json(set)["keys"];
  ASSERT_EQ(key_set.size(), 1u);
  EXPECT_EQ(key_set[0]["kty"], "OKP");
  EXPECT_EQ(key_set[0]["crv"], "Ed25519");
  EXPECT_FALSE(key_set[0].contains("d"));
  const std::string old_kid = key_set[0]["kid"].get<std::string>();

  auto rotated = call(rotate_keys, Call::post("/auth/keys/rotate").by(root.principal));
  ASSERT_EQ(rotated.result_int(), 200u);
  const std::string new_kid = json(rotated)["kid"].get<std::string>();
  EXPECT_NE(new_kid, old_kid);
  auto listed = json(call(signing_keys, Call::get("/admin/signing-keys").by(root.principal)));
  EXPECT_EQ(listed["current_kid"], new_kid);
  ASSERT_EQ(listed["keys"].size(), 2u);
  for (const auto& k : listed["keys"]) EXPECT_EQ(k["current"], k["kid"] == new_kid);
}

INSTANTIATE_TEST_SUITE_P(Dialects, AuthHandlersTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::api
