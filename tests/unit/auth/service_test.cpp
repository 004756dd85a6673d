// auth::Service without the server, in both dialects (PostgreSQL when
// CHATD_TEST_DATABASE_URL is set): what API.md promises about accounts, with the clock moved
// by hand (token expiry, lockout, TOTP steps) and the e-mails read from a recording mailer.
// Most users are inserted with a cheap password hash; registration, password change and reset
// hash with the real Argon2id parameters, so those tests are the slowest here.

#include "auth/service.hpp"

#include "../service_fixture.hpp"
#include "auth/totp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace chatd::auth {
namespace {

using store::Dialect;
using unit::fails;

class AuthServiceTest : public unit::ServiceTest {
 protected:
  Service& accounts() { return s().accounts; }

  Principal principal(const LoginResult& r) {
    auto p = authenticate(r.access_token);
    EXPECT_TRUE(p) << unit::describe(p.error());
    return p ? p.value() : Principal{};
  }

  // The TOTP code of a base32 `secret` at the fixed clock's current time.
  std::string code_now(const std::string& secret) {
    auto raw = decode_base32(secret);
    EXPECT_TRUE(raw);
    return raw ? totp_code(*raw, totp_step(s().clock.now_ms() / 1000)) : std::string();
  }
  // A well-formed code that none of the steps around now accepts.
  std::string wrong_code(const std::string& secret) {
    auto raw = decode_base32(secret);
    std::int64_t step = totp_step(s().clock.now_ms() / 1000);
    std::set<std::string> near;
    for (std::int64_t d = -1; d <= 1; ++d) near.insert(totp_code(*raw, step + d));
    for (int n = 0;; ++n) {
      std::string candidate = std::to_string(100000 + n);
      if (!near.count(candidate)) return candidate;
    }
  }
};

// --- registration and e-mail verification ---

TEST_P(AuthServiceTest, RegistrationReportsEveryBadFieldAtOnce) {
  auto r = run(accounts().register_user("not-an-email", "x", "short", std::nullopt, meta()));
  ASSERT_TRUE(fails(r, Code::invalid_argument, "validation_failed"));
  std::set<std::string> fields;
  for (const auto& f : r.error().fields) fields.insert(f.field);
  EXPECT_EQ(fields, (std::set<std::string>{"email", "username", "password"}));
  EXPECT_TRUE(s().mailer.sent().empty());

  auto common = run(accounts().register_user("ann@example.com", "ann", "password1234", std::nullopt, meta()));
  ASSERT_TRUE(fails(common, Code::invalid_argument));
  ASSERT_FALSE(common.error().fields.empty());
  EXPECT_EQ(common.error().fields[0].field, "password");
  EXPECT_EQ(count("users"), 0);
}

TEST_P(AuthServiceTest, RegistrationMailsASingleUseVerificationTokenThatLoginWaitsFor) {
  auto r = run(accounts().register_user("Ann@Example.COM", "ann", kPassword, std::nullopt, meta()));
  ASSERT_TRUE(r) << unit::describe(r.error());
  const User& user = r.value();
  EXPECT_EQ(user.email, "ann@example.com");
  EXPECT_EQ(user.username, "ann");
  EXPECT_EQ(user.roles, std::vector<std::string>{"user"});
  EXPECT_FALSE(user.email_verified_at);
  EXPECT_EQ(user.password_hash.rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(user.password_hash.find(kPassword), std::string::npos);
  EXPECT_EQ(audit_count(user.id, "user.registered"), 1);

  ASSERT_EQ(s().mailer.sent_to("ann@example.com").size(), 1u);
  std::string token = s().mailer.last_token("ann@example.com");
  EXPECT_EQ(token.rfind("ev_", 0), 0u) << token;
  // Only its hash is stored.
  EXPECT_EQ(select("SELECT count(*) FROM one_time_tokens WHERE token_hash = $1", {token}).rows[0].integer(0), 0);

  EXPECT_TRUE(fails(run(accounts().login("ann", kPassword, std::nullopt, meta())), Code::permission_denied,
                    "email_not_verified"));

  auto verified = run(accounts().confirm_verification(token, meta()));
  ASSERT_TRUE(verified) << unit::describe(verified.error());
  EXPECT_EQ(verified.value().id, user.id);
  EXPECT_TRUE(verified.value().email_verified_at);
  EXPECT_EQ(audit_count(user.id, "email.verified"), 1);
  EXPECT_TRUE(fails(run(accounts().confirm_verification(token, meta())), Code::invalid_argument, "invalid_token"));

  auto in = run(accounts().login("ANN@example.com", kPassword, std::nullopt, meta()));
  ASSERT_TRUE(in) << unit::describe(in.error());
  EXPECT_EQ(in.value().user.id, user.id);
}

TEST_P(AuthServiceTest, ATakenEmailOrUsernameIsAConflict) {
  add_user("bob");
  EXPECT_TRUE(fails(run(accounts().register_user("BOB@example.com", "bobby", kPassword, std::nullopt, meta())),
                    Code::conflict));
  EXPECT_TRUE(fails(run(accounts().register_user("robert@example.com", "bob", kPassword, std::nullopt, meta())),
                    Code::conflict));
  EXPECT_EQ(count("users"), 1);
  EXPECT_TRUE(s().mailer.sent().empty());
}

TEST_P(AuthServiceTest, AVerificationTokenExpiresAfterADayAndANewOneReplacesIt) {
  add_user("cleo", unit::Account::unverified);
  ASSERT_TRUE(run(accounts().request_verification("cleo@example.com", meta())));
  std::string first = s().mailer.last_token("cleo@example.com");
  ASSERT_FALSE(first.empty());

  s().clock.advance_ms(24LL * 3600 * 1000 + 1);
  EXPECT_TRUE(fails(run(accounts().confirm_verification(first, meta())), Code::invalid_argument, "invalid_token"));

  ASSERT_TRUE(run(accounts().request_verification("cleo@example.com", meta())));
  std::string second = s().mailer.last_token("cleo@example.com");
  ASSERT_NE(second, first);
  auto verified = run(accounts().confirm_verification(second, meta()));
  ASSERT_TRUE(verified) << unit::describe(verified.error());
  EXPECT_TRUE(verified.value().email_verified_at);

  // A verified address gets no more e-mails; an unknown one never did, and the answer is the same.
  const std::size_t mails = s().mailer.sent().size();
  EXPECT_TRUE(run(accounts().request_verification("cleo@example.com", meta())));
  EXPECT_TRUE(run(accounts().request_verification("nobody@example.com", meta())));
  EXPECT_EQ(s().mailer.sent().size(), mails);
}

TEST_P(AuthServiceTest, VerificationMailsAreLimitedPerAddress) {
  add_user("dora", unit::Account::unverified);
  const auto& rule = s().config.rate_limits.at("verify");
  for (std::int64_t n = 0; n < rule.requests; ++n)
    ASSERT_TRUE(run(accounts().request_verification("dora@example.com", meta()))) << n;
  auto limited = run(accounts().request_verification("dora@example.com", meta()));
  ASSERT_TRUE(fails(limited, Code::rate_limited));
  EXPECT_GT(limited.error().retry_after_seconds, 0);
  EXPECT_EQ(s().mailer.sent_to("dora@example.com").size(), static_cast<std::size_t>(rule.requests));
  // Another address has its own allowance.
  EXPECT_TRUE(run(accounts().request_verification("someone@example.com", meta())));
}

TEST_P(AuthServiceTest, InviteOnlyRegistrationTakesAnUnusedCodeOnce) {
  auto admin = add_user("root", unit::Account::admin);
  s().config.registration = "invite_only";
  EXPECT_TRUE(fails(run(accounts().register_user("eve@example.com", "eve", kPassword, std::nullopt, meta())),
                    Code::permission_denied));
  EXPECT_TRUE(fails(run(accounts().register_user("eve@example.com", "eve", kPassword, std::string("inv_nope"), meta())),
                    Code::permission_denied));

  auto invitation = run(s().invitations.create(principal_for(admin), std::nullopt, std::nullopt, meta()));
  ASSERT_TRUE(invitation) << unit::describe(invitation.error());
  const std::string code = invitation.value().code;
  auto eve = run(accounts().register_user("eve@example.com", "eve", kPassword, code, meta()));
  ASSERT_TRUE(eve) << unit::describe(eve.error());
  EXPECT_EQ(audit_count(eve.value().id, "invitation.accepted"), 1);
  EXPECT_TRUE(
      fails(run(accounts().register_user("fay@example.com", "fay", kPassword, code, meta())), Code::permission_denied));

  s().config.registration = "closed";
  auto another = run(s().invitations.create(principal_for(admin), std::nullopt, std::nullopt, meta()));
  ASSERT_TRUE(another);
  EXPECT_TRUE(fails(run(accounts().register_user("fay@example.com", "fay", kPassword, another.value().code, meta())),
                    Code::permission_denied));
  EXPECT_EQ(count("users"), 2);
}

// --- login ---

TEST_P(AuthServiceTest, LoginRefusesWithTheContractsReasons) {
  add_user("gus");
  add_user("hal", unit::Account::disabled);
  add_user("ivy", unit::Account::unverified);

  EXPECT_TRUE(fails(run(accounts().login("gus", kOtherPassword, std::nullopt, meta())), Code::unauthenticated,
                    "invalid_credentials"));
  // An unknown account looks the same as a wrong password.
  auto unknown = run(accounts().login("nobody", kPassword, std::nullopt, meta()));
  ASSERT_TRUE(fails(unknown, Code::unauthenticated, "invalid_credentials"));
  auto wrong = run(accounts().login("gus", kOtherPassword, std::nullopt, meta()));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(unknown.error().detail, wrong.error().detail);

  EXPECT_TRUE(fails(run(accounts().login("hal", kPassword, std::nullopt, meta())), Code::permission_denied,
                    "account_disabled"));
  EXPECT_TRUE(fails(run(accounts().login("hal", kOtherPassword, std::nullopt, meta())), Code::unauthenticated,
                    "invalid_credentials"));
  EXPECT_TRUE(fails(run(accounts().login("ivy", kPassword, std::nullopt, meta())), Code::permission_denied,
                    "email_not_verified"));
  s().config.require_email_verification = false;
  EXPECT_TRUE(run(accounts().login("ivy", kPassword, std::nullopt, meta())));

  auto in = run(accounts().login("GUS", kPassword, std::nullopt, meta()));
  ASSERT_TRUE(in) << unit::describe(in.error());
  EXPECT_EQ(in.value().expires_in, s().config.access_token_ttl);
  EXPECT_EQ(in.value().refresh_token.rfind("rt_", 0), 0u);
  EXPECT_EQ(in.value().user.last_login_at, s().clock.now_ms());
  auto who = principal(in.value());
  EXPECT_EQ(who.user_id, "user-gus");
  EXPECT_EQ(who.session_id, in.value().session_id);
  EXPECT_EQ(audit_count("user-gus", "login.failed"), 2);
  EXPECT_EQ(audit_count("user-gus", "login.succeeded"), 1);
}

TEST_P(AuthServiceTest, FailuresLockTheAccountUntilTheLockRunsOut) {
  add_user("jan");
  const int threshold = s().config.lockout_threshold;
  const std::int64_t lock_seconds = s().config.lockout_seconds;
  // The failure that reaches the threshold still answers 401.
  for (int n = 1; n <= threshold; ++n)
    ASSERT_TRUE(fails(run(accounts().login("jan", kOtherPassword, std::nullopt, meta())), Code::unauthenticated,
                      "invalid_credentials"))
        << "attempt " << n;
  EXPECT_EQ(audit_count("user-jan", "login.locked"), 1);

  // Locked: even the right password answers 423, with the seconds left.
  auto locked = run(accounts().login("jan", kPassword, std::nullopt, meta()));
  ASSERT_TRUE(fails(locked, Code::locked, "account_locked"));
  EXPECT_EQ(locked.error().retry_after_seconds, lock_seconds);
  s().clock.advance_ms(lock_seconds * 1000 - 1000);
  auto still = run(accounts().login("jan", kPassword, std::nullopt, meta()));
  ASSERT_TRUE(fails(still, Code::locked, "account_locked"));
  EXPECT_EQ(still.error().retry_after_seconds, 1);

  s().clock.advance_ms(1000);
  ASSERT_TRUE(run(accounts().login("jan", kPassword, std::nullopt, meta())));

  // A success resets the count: threshold - 1 failures and a success leave the account open.
  for (int n = 1; n < threshold; ++n) ASSERT_FALSE(run(accounts().login("jan", kOtherPassword, std::nullopt, meta())));
  ASSERT_TRUE(run(accounts().login("jan", kPassword, std::nullopt, meta())));
  ASSERT_FALSE(run(accounts().login("jan", kOtherPassword, std::nullopt, meta())));
  EXPECT_TRUE(run(accounts().login("jan", kPassword, std::nullopt, meta())));
  EXPECT_EQ(audit_count("user-jan", "login.locked"), 1);
}

// Alternating the username and the e-mail address gives one account no more attempts than
// the `login` rule allows (the limit counts the account, not the spelling).
TEST_P(AuthServiceTest, ThePerAccountLoginLimitCountsTheAccountWhateverNameIsTyped) {
  add_user("kit");
  const auto& rule = s().config.rate_limits.at("login");
  for (std::int64_t n = 0; n < rule.requests; ++n)
    ASSERT_TRUE(run(accounts().login(n % 2 ? "kit" : "kit@example.com", kPassword, std::nullopt, meta()))) << n;
  EXPECT_TRUE(fails(run(accounts().login("kit", kPassword, std::nullopt, meta())), Code::rate_limited));
  EXPECT_TRUE(fails(run(accounts().login("kit@example.com", kPassword, std::nullopt, meta())), Code::rate_limited));
}

TEST_P(AuthServiceTest, ThePerAccountLoginLimitRefusesBeforeThePasswordIsChecked) {
  add_user("lou");
  const auto& rule = s().config.rate_limits.at("login");
  for (std::int64_t n = 0; n < rule.requests; ++n)
    ASSERT_TRUE(run(accounts().login("lou", kPassword, std::nullopt, meta()))) << n;
  auto limited = run(accounts().login("LOU", kPassword, std::nullopt, meta()));
  ASSERT_TRUE(fails(limited, Code::rate_limited));
  EXPECT_GT(limited.error().retry_after_seconds, 0);
  EXPECT_EQ(audit_count("user-lou", "login.failed"), 0);  // refused before anything was looked up
  s().clock.advance_ms(rule.window_seconds * 1000);
  EXPECT_TRUE(run(accounts().login("lou", kPassword, std::nullopt, meta())));
}

// --- sessions ---

TEST_P(AuthServiceTest, RefreshRotatesTheTokenAndAReusedOneEndsTheSession) {
  add_user("kim");
  auto first = login("kim");
  auto second = run(accounts().refresh(first.refresh_token, meta()));
  ASSERT_TRUE(second) << unit::describe(second.error());
  EXPECT_NE(second.value().refresh_token, first.refresh_token);
  EXPECT_EQ(second.value().session_id, first.session_id);
  EXPECT_EQ(principal(second.value()).session_id, first.session_id);
  EXPECT_EQ(audit_count("user-kim", "token.refreshed"), 1);

  EXPECT_TRUE(fails(run(accounts().refresh(first.refresh_token, meta())), Code::unauthenticated, "token_reused"));
  EXPECT_EQ(audit_count("user-kim", "token.reused"), 1);
  // The whole session is over: its newest refresh token and its access tokens too.
  EXPECT_TRUE(fails(run(accounts().refresh(second.value().refresh_token, meta())), Code::unauthenticated));
  EXPECT_TRUE(fails(authenticate(second.value().access_token), Code::unauthenticated));
  EXPECT_TRUE(fails(authenticate(first.access_token), Code::unauthenticated));

  EXPECT_TRUE(fails(run(accounts().refresh("rt_unknown", meta())), Code::unauthenticated));
}

TEST_P(AuthServiceTest, ACookieRefreshNeedsTheSessionsCsrfTokenAndAWrongOneChangesNothing) {
  add_user("lea");
  auto in = login("lea");
  EXPECT_TRUE(fails(run(accounts().refresh(in.refresh_token, meta(), std::string("forged"))), Code::permission_denied,
                    "forbidden"));
  const std::string csrf = accounts().csrf_token(in.session_id);
  EXPECT_EQ(csrf, accounts().csrf_token(in.session_id));
  EXPECT_NE(csrf, accounts().csrf_token("another-session"));
  auto refreshed = run(accounts().refresh(in.refresh_token, meta(), csrf));
  ASSERT_TRUE(refreshed) << unit::describe(refreshed.error());

  // Signing out by the cookie takes the same token.
  EXPECT_TRUE(fails(run(accounts().logout_by_refresh_token(refreshed.value().refresh_token, "forged", meta())),
                    Code::permission_denied));
  ASSERT_TRUE(run(accounts().logout_by_refresh_token(refreshed.value().refresh_token, csrf, meta())));
  EXPECT_TRUE(fails(authenticate(refreshed.value().access_token), Code::unauthenticated));
}

TEST_P(AuthServiceTest, ASessionEndsWithItsRefreshLifetime) {
  add_user("max");
  auto in = login("max");
  s().clock.advance_ms(s().config.refresh_token_ttl * 1000);
  EXPECT_TRUE(fails(run(accounts().refresh(in.refresh_token, meta())), Code::unauthenticated));
  Principal who{"user-max", in.session_id, "", {"user"}, ""};
  auto list = run(accounts().sessions(who));
  ASSERT_TRUE(list);
  EXPECT_TRUE(list.value().empty());
}

TEST_P(AuthServiceTest, SessionsAreListedWithTheCurrentOneAndCanBeEnded) {
  add_user("ned");
  add_user("ola");
  auto a = login("ned");
  auto b = login("ned@example.com");
  auto other = login("ola");
  Principal who = principal(a);

  auto list = run(accounts().sessions(who));
  ASSERT_TRUE(list) << unit::describe(list.error());
  ASSERT_EQ(list.value().size(), 2u);
  std::set<std::string> ids;
  for (const auto& v : list.value()) {
    ids.insert(v.session.id);
    EXPECT_EQ(v.current, v.session.id == a.session_id);
    EXPECT_EQ(v.session.ip, "127.0.0.1");
    EXPECT_EQ(v.session.user_agent, "unit-test");
  }
  EXPECT_EQ(ids, (std::set<std::string>{a.session_id, b.session_id}));

  // Another user's session is as good as missing.
  EXPECT_TRUE(fails(run(accounts().delete_session(who, other.session_id, meta())), Code::not_found));
  EXPECT_TRUE(authenticate(other.access_token));

  ASSERT_TRUE(run(accounts().delete_session(who, b.session_id, meta())));
  EXPECT_TRUE(fails(authenticate(b.access_token), Code::unauthenticated));
  EXPECT_TRUE(fails(run(accounts().delete_session(who, b.session_id, meta())), Code::not_found));
  list = run(accounts().sessions(who));
  ASSERT_TRUE(list);
  ASSERT_EQ(list.value().size(), 1u);
  EXPECT_TRUE(list.value()[0].current);
}

TEST_P(AuthServiceTest, LogoutEndsOneSessionAndLogoutAllEveryOne) {
  add_user("pia");
  auto a = login("pia");
  auto b = login("pia");
  auto c = login("pia");
  ASSERT_TRUE(run(accounts().logout(principal(a), meta())));
  EXPECT_TRUE(fails(authenticate(a.access_token), Code::unauthenticated));
  EXPECT_TRUE(fails(run(accounts().refresh(a.refresh_token, meta())), Code::unauthenticated));
  EXPECT_TRUE(authenticate(b.access_token));

  ASSERT_TRUE(run(accounts().logout_all(principal(b), meta())));
  EXPECT_TRUE(fails(authenticate(b.access_token), Code::unauthenticated));
  EXPECT_TRUE(fails(authenticate(c.access_token), Code::unauthenticated));
  EXPECT_TRUE(fails(run(accounts().refresh(c.refresh_token, meta())), Code::unauthenticated));
  EXPECT_EQ(audit_count("user-pia", "sessions.revoked_all"), 1);
  EXPECT_EQ(audit_count("user-pia", "session.revoked"), 1);
}

// --- passwords ---

TEST_P(AuthServiceTest, APasswordChangeSignsOutTheOtherSessions) {
  add_user("quinn");
  auto here = login("quinn");
  auto elsewhere = login("quinn");
  Principal who = principal(here);

  EXPECT_TRUE(fails(run(accounts().change_password(who, kOtherPassword, kOtherPassword, meta())), Code::unauthenticated,
                    "invalid_credentials"));
  auto weak = run(accounts().change_password(who, kPassword, "password1234", meta()));
  ASSERT_TRUE(fails(weak, Code::invalid_argument, "validation_failed"));
  ASSERT_FALSE(weak.error().fields.empty());
  EXPECT_EQ(weak.error().fields[0].field, "new_password");
  EXPECT_TRUE(authenticate(elsewhere.access_token));

  ASSERT_TRUE(run(accounts().change_password(who, kPassword, kOtherPassword, meta())));
  EXPECT_TRUE(authenticate(here.access_token));
  EXPECT_TRUE(fails(authenticate(elsewhere.access_token), Code::unauthenticated));
  EXPECT_TRUE(fails(run(accounts().login("quinn", kPassword, std::nullopt, meta())), Code::unauthenticated,
                    "invalid_credentials"));
  EXPECT_TRUE(run(accounts().login("quinn", kOtherPassword, std::nullopt, meta())));
  EXPECT_EQ(audit_count("user-quinn", "password.changed"), 1);
}

TEST_P(AuthServiceTest, APasswordResetMailsASingleUseTokenAndEndsEverySession) {
  add_user("rex");
  auto before = login("rex");
  ASSERT_TRUE(run(accounts().request_password_reset("nobody@example.com", meta())));
  EXPECT_TRUE(s().mailer.sent().empty());
  ASSERT_TRUE(run(accounts().request_password_reset("REX@example.com", meta())));
  std::string token = s().mailer.last_token("rex@example.com");
  ASSERT_EQ(token.rfind("pr_", 0), 0u) << token;

  // A weak password does not use the token up.
  auto weak = run(accounts().confirm_password_reset(token, "password1234", meta()));
  ASSERT_TRUE(fails(weak, Code::invalid_argument, "validation_failed"));
  EXPECT_EQ(weak.error().fields.at(0).field, "new_password");

  ASSERT_TRUE(run(accounts().confirm_password_reset(token, kOtherPassword, meta())));
  EXPECT_TRUE(fails(authenticate(before.access_token), Code::unauthenticated));
  EXPECT_TRUE(fails(run(accounts().confirm_password_reset(token, kOtherPassword, meta())), Code::invalid_argument,
                    "invalid_token"));
  EXPECT_TRUE(fails(run(accounts().login("rex", kPassword, std::nullopt, meta())), Code::unauthenticated));
  EXPECT_TRUE(run(accounts().login("rex", kOtherPassword, std::nullopt, meta())));
  EXPECT_EQ(audit_count("user-rex", "password.reset_requested"), 1);
  EXPECT_EQ(audit_count("user-rex", "password.reset"), 1);
}

TEST_P(AuthServiceTest, AResetTokenLastsAnHourAndANewerRequestReplacesIt) {
  add_user("sam");
  ASSERT_TRUE(run(accounts().request_password_reset("sam@example.com", meta())));
  std::string older = s().mailer.last_token("sam@example.com");
  ASSERT_TRUE(run(accounts().request_password_reset("sam@example.com", meta())));
  std::string newer = s().mailer.last_token("sam@example.com");
  ASSERT_NE(older, newer);
  EXPECT_TRUE(fails(run(accounts().confirm_password_reset(older, kOtherPassword, meta())), Code::invalid_argument,
                    "invalid_token"));
  s().clock.advance_ms(3600 * 1000);
  EXPECT_TRUE(fails(run(accounts().confirm_password_reset(newer, kOtherPassword, meta())), Code::invalid_argument,
                    "invalid_token"));
  EXPECT_TRUE(run(accounts().login("sam", kPassword, std::nullopt, meta())));
}

// --- two-factor authentication ---

TEST_P(AuthServiceTest, TotpIsEnabledWithACodeAndThenNeededAtLoginOncePerStep) {
  add_user("tess");
  Principal who = principal(login("tess"));
  auto setup = run(accounts().totp_setup(who, meta()));
  ASSERT_TRUE(setup) << unit::describe(setup.error());
  const std::string secret = setup.value().secret;
  EXPECT_EQ(secret.size(), 32u);
  EXPECT_EQ(setup.value().otpauth_uri.rfind("otpauth://totp/chatd:tess@example.com?secret=" + secret, 0), 0u)
      << setup.value().otpauth_uri;
  EXPECT_NE(setup.value().qr_svg.find("<svg"), std::string::npos);
  // Sealed at rest.
  auto stored = select("SELECT secret_encrypted FROM totp WHERE user_id = 'user-tess'");
  ASSERT_EQ(stored.rows.size(), 1u);
  EXPECT_EQ(stored.rows[0].text(0).find(secret), std::string::npos);

  EXPECT_TRUE(
      fails(run(accounts().totp_verify(who, wrong_code(secret), meta())), Code::unauthenticated, "invalid_otp"));
  const std::string enabling = code_now(secret);
  auto recovery = run(accounts().totp_verify(who, enabling, meta()));
  ASSERT_TRUE(recovery) << unit::describe(recovery.error());
  EXPECT_EQ(recovery.value().size(), 10u);
  EXPECT_EQ(std::set<std::string>(recovery.value().begin(), recovery.value().end()).size(), 10u);
  auto me = run(accounts().me(who));
  ASSERT_TRUE(me);
  EXPECT_TRUE(me.value().totp_enabled);
  EXPECT_TRUE(fails(run(accounts().totp_setup(who, meta())), Code::conflict));

  EXPECT_TRUE(
      fails(run(accounts().login("tess", kPassword, std::nullopt, meta())), Code::unauthenticated, "otp_required"));
  // The code that enabled 2FA was used in this step: no replay.
  EXPECT_TRUE(fails(run(accounts().login("tess", kPassword, enabling, meta())), Code::unauthenticated, "invalid_otp"));
  s().clock.advance_ms(30 * 1000);
  const std::string next = code_now(secret);
  ASSERT_TRUE(run(accounts().login("tess", kPassword, next, meta())));
  EXPECT_TRUE(fails(run(accounts().login("tess", kPassword, next, meta())), Code::unauthenticated, "invalid_otp"));
}

TEST_P(AuthServiceTest, ARecoveryCodeWorksOnceAndDisablingNeedsPasswordAndCode) {
  add_user("uma");
  Principal who = principal(login("uma"));
  auto setup = run(accounts().totp_setup(who, meta()));
  ASSERT_TRUE(setup);
  auto codes = run(accounts().totp_verify(who, code_now(setup.value().secret), meta()));
  ASSERT_TRUE(codes) << unit::describe(codes.error());

  // Typed in upper case without the dash, a recovery code is the same code.
  std::string typed = codes.value()[0];
  typed.erase(std::remove(typed.begin(), typed.end(), '-'), typed.end());
  std::transform(typed.begin(), typed.end(), typed.begin(), [](unsigned char c) { return std::toupper(c); });
  ASSERT_TRUE(run(accounts().login("uma", kPassword, typed, meta())));
  EXPECT_EQ(audit_count("user-uma", "recovery_code.used"), 1);
  EXPECT_TRUE(
      fails(run(accounts().login("uma", kPassword, codes.value()[0], meta())), Code::unauthenticated, "invalid_otp"));

  EXPECT_TRUE(fails(run(accounts().totp_disable(who, kOtherPassword, codes.value()[1], meta())), Code::unauthenticated,
                    "invalid_credentials"));
  EXPECT_TRUE(fails(run(accounts().totp_disable(who, kPassword, codes.value()[0], meta())), Code::unauthenticated,
                    "invalid_otp"));
  ASSERT_TRUE(run(accounts().totp_disable(who, kPassword, codes.value()[1], meta())));
  EXPECT_EQ(audit_count("user-uma", "totp.disabled"), 1);
  auto in = run(accounts().login("uma", kPassword, std::nullopt, meta()));
  ASSERT_TRUE(in) << unit::describe(in.error());
  EXPECT_FALSE(in.value().user.totp_enabled);
}

// --- signing keys ---

TEST_P(AuthServiceTest, KeyRotationSignsWithTheNewKeyAndKeepsOldTokensValid) {
  add_user("val", unit::Account::admin);
  auto before = login("val");
  const std::string old_kid = s().keys.signing_kid();
  auto kid = run(accounts().rotate_keys(principal(before), meta()));
  ASSERT_TRUE(kid) << unit::describe(kid.error());
  EXPECT_NE(kid.value(), old_kid);
  EXPECT_EQ(s().keys.signing_kid(), kid.value());
  EXPECT_TRUE(authenticate(before.access_token));
  auto after = login("val");
  EXPECT_TRUE(authenticate(after.access_token));
  EXPECT_EQ(s().keys.jwks()["keys"].size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Dialects, AuthServiceTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::auth
