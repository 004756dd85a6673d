// The handlers of src/api/admin.hpp called by name (the admin role itself is checked by the
// pipeline): users with `disabled` and `locked_until`, PATCH with its field errors and its
// effects on sessions, session revocation, the audit log's filters and the usage report.

#include "api/admin.hpp"

#include "api/auth.hpp"
#include "handler_fixture.hpp"

#include <gtest/gtest.h>

namespace chatd::api {
namespace {

using store::Dialect;

class AdminHandlersTest : public HandlerTest {
 protected:
  void SetUp() override {
    HandlerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    root_ = sign_in("root", unit::Account::admin);
  }

  http::Response on_user(Handler handler, const std::string& id, bhttp::verb method = bhttp::verb::get,
                         nlohmann::json body = nlohmann::json::object()) {
    return call(handler,
                Call(method, "/admin/users/" + id).with_body(std::move(body)).by(root_.principal).param("id", id));
  }
  http::Response get(Handler handler, const std::string& target) {
    return call(handler, Call::get(target).by(root_.principal));
  }

  SignedIn root_;
};

TEST_P(AdminHandlersTest, PingAndTheUserListWithItsAdminFields) {
  EXPECT_EQ(json(get(admin_ping, "/admin/ping")), nlohmann::json({{"status", "ok"}}));
  s().clock.advance_ms(1000);
  add_user("amy");
  s().clock.advance_ms(1000);
  add_user("amos", unit::Account::disabled);

  auto page = get(list_users, "/admin/users?limit=2");
  ASSERT_EQ(page.result_int(), 200u) << page.body();
  auto body = json(page);
  ASSERT_EQ(body["items"].size(), 2u);
  EXPECT_EQ(body["items"][0]["username"], "amos");  // newest first
  EXPECT_EQ(body["items"][0]["disabled"], true);
  EXPECT_TRUE(body["items"][0]["locked_until"].is_null());
  EXPECT_EQ(body["items"][1]["username"], "amy");
  EXPECT_EQ(body["items"][1]["disabled"], false);
  ASSERT_TRUE(body["next_cursor"].is_string());
  auto rest = json(get(list_users, "/admin/users?limit=2&cursor=" + body["next_cursor"].get<std::string>()));
  ASSERT_EQ(rest["items"].size(), 1u);
  EXPECT_EQ(rest["items"][0]["username"], "root");
  EXPECT_TRUE(rest["next_cursor"].is_null());

  auto found = json(get(list_users, "/admin/users?q=AMO"));
  ASSERT_EQ(found["items"].size(), 1u);
  EXPECT_EQ(found["items"][0]["username"], "amos");
  EXPECT_TRUE(is_problem(get(list_users, "/admin/users?limit=0"), 422, "validation_failed"));
  EXPECT_TRUE(is_problem(get(list_users, "/admin/users?q=" + std::string(255, 'q')), 422, "validation_failed"));
}

TEST_P(AdminHandlersTest, PatchDisablesRevokingSessionsAndChangesRolesAndLocks) {
  auto bo = sign_in("bo_1");
  auto disabled = on_user(patch_user, bo.user.id, bhttp::verb::patch, {{"disabled", true}});
  ASSERT_EQ(disabled.result_int(), 200u) << disabled.body();
  EXPECT_EQ(json(disabled)["disabled"], true);
  EXPECT_FALSE(authenticate(bo.login.access_token));
  EXPECT_TRUE(
      is_problem(call(api::login, Call::post("/auth/login").with_body({{"login", "bo_1"}, {"password", kPassword}})),
                 403, "account_disabled"));

  auto roles = on_user(patch_user, bo.user.id, bhttp::verb::patch, {{"roles", {"admin"}}, {"disabled", false}});
  ASSERT_EQ(roles.result_int(), 200u) << roles.body();
  EXPECT_EQ(json(roles)["roles"], nlohmann::json({"admin", "user"}));
  EXPECT_EQ(json(roles)["disabled"], false);
  EXPECT_EQ(audit_count(bo.user.id, "role.changed"), 1);
  EXPECT_EQ(audit_count(bo.user.id, "user.enabled"), 1);

  s().config.lockout_threshold = 1;
  ASSERT_FALSE(run(s().accounts.login("bo_1", kOtherPassword, std::nullopt, meta())));
  auto locked = json(on_user(get_user, bo.user.id));
  EXPECT_EQ(locked["locked_until"], "2026-03-10T12:15:00Z");
  auto unlocked = on_user(patch_user, bo.user.id, bhttp::verb::patch, {{"unlock", true}});
  ASSERT_EQ(unlocked.result_int(), 200u);
  EXPECT_TRUE(json(unlocked)["locked_until"].is_null());
  EXPECT_TRUE(run(s().accounts.login("bo_1", kPassword, std::nullopt, meta())));
}

TEST_P(AdminHandlersTest, PatchRefusesBadFieldsUnknownRolesAndSelfHarm) {
  auto cy = add_user("cyd");
  auto typed = on_user(patch_user, cy.id, bhttp::verb::patch, {{"roles", "admin"}, {"disabled", 1}, {"unlock", "yes"}});
  ASSERT_TRUE(is_problem(typed, 422, "validation_failed"));
  EXPECT_EQ(error_fields(typed), (std::vector<std::string>{"roles", "disabled", "unlock"}));
  auto unknown = on_user(patch_user, cy.id, bhttp::verb::patch, {{"roles", {"wizard"}}});
  ASSERT_TRUE(is_problem(unknown, 422, "validation_failed"));
  EXPECT_EQ(error_fields(unknown), std::vector<std::string>{"roles"});
  auto self = on_user(patch_user, root_.user.id, bhttp::verb::patch, {{"disabled", true}});
  ASSERT_TRUE(is_problem(self, 422, "validation_failed"));
  EXPECT_EQ(error_fields(self), std::vector<std::string>{"disabled"});
  auto demoted = on_user(patch_user, root_.user.id, bhttp::verb::patch, {{"roles", nlohmann::json::array()}});
  EXPECT_TRUE(is_problem(demoted, 422, "validation_failed"));
  EXPECT_TRUE(is_problem(on_user(patch_user, "nobody", bhttp::verb::patch, {{"disabled", true}}), 404, "not_found"));
  EXPECT_TRUE(is_problem(on_user(get_user, "nobody"), 404, "not_found"));
  EXPECT_TRUE(authenticate(root_.login.access_token));
}

TEST_P(AdminHandlersTest, RevokingAUsersSessionsEndsThemAll) {
  auto di = sign_in("dina");
  auto second = login("dina");
  auto res = on_user(revoke_user_sessions, di.user.id, bhttp::verb::post);
  EXPECT_EQ(res.result_int(), 204u) << res.body();
  EXPECT_FALSE(authenticate(di.login.access_token));
  EXPECT_FALSE(authenticate(second.access_token));
  EXPECT_TRUE(authenticate(root_.login.access_token));
  EXPECT_TRUE(is_problem(on_user(revoke_user_sessions, "nobody", bhttp::verb::post), 404, "not_found"));
}

TEST_P(AdminHandlersTest, TheAuditLogFiltersByUserEventAndTime) {
  add_user("eda");
  ASSERT_FALSE(run(s().accounts.login("eda", kOtherPassword, std::nullopt, meta())));
  s().clock.advance_ms(60'000);
  ASSERT_TRUE(run(s().accounts.login("eda", kPassword, std::nullopt, meta())));

  auto res = get(audit_log, "/admin/audit?user_id=user-eda");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  auto items = json(res)["items"];
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["event"], "login.succeeded");  // newest first
  EXPECT_EQ(items[1]["event"], "login.failed");
  EXPECT_EQ(keys(items[0]), (std::vector<std::string>{"actor_id", "actor_username", "at", "detail", "event", "id", "ip",
                                                      "user_agent", "user_id", "username"}));
  EXPECT_EQ(items[0]["at"], "2026-03-10T12:01:00.000Z");
  EXPECT_EQ(items[0]["ip"], "127.0.0.1");
  EXPECT_EQ(items[0]["username"], "eda");
  EXPECT_EQ(items[1]["detail"], nlohmann::json({{"reason", "wrong_password"}}));

  auto failed = json(get(audit_log, "/admin/audit?event=login.failed"))["items"];
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["user_id"], "user-eda");
  auto later = json(get(audit_log, "/admin/audit?user_id=user-eda&from=2026-03-10T12:00:30Z"))["items"];
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0]["event"], "login.succeeded");

  auto bad = get(audit_log, "/admin/audit?from=yesterday&to=2026-13-01");
  ASSERT_TRUE(is_problem(bad, 422, "validation_failed"));
  EXPECT_EQ(error_fields(bad), (std::vector<std::string>{"from", "to"}));
  auto backwards = get(audit_log, "/admin/audit?from=2026-03-11&to=2026-03-10");
  ASSERT_TRUE(is_problem(backwards, 422, "validation_failed"));
  EXPECT_EQ(error_fields(backwards), std::vector<std::string>{"from"});
}

TEST_P(AdminHandlersTest, UsageIsGroupedByUserUnlessAskedOtherwise) {
  auto fay = principal_for(add_user("fay"));
  auto conversation = run(s().chat.create(fay, {}));
  ASSERT_TRUE(conversation);
  provider("alpha").script(unit::answer({"x"}, {30, 3}));
  auto pending = run(s().chat.begin_send(fay, conversation.value().id, "Hi", std::nullopt));
  ASSERT_TRUE(pending);
  llm::Cancellation cancel;
  llm::DeltaFn ignore = [](const llm::Delta&) -> boost::asio::awaitable<bool> { co_return true; };
  chat::SendOutcome done;
  ASSERT_TRUE(run(s().chat.finish_send(pending.value(), ignore, cancel, done)));

  const std::string range = "from=2026-03-01&to=2026-04-01";
  auto by_user = get(admin_usage, "/admin/usage?" + range);
  ASSERT_EQ(by_user.result_int(), 200u) << by_user.body();
  auto items = json(by_user)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["key"], "user-fay");
  EXPECT_EQ(items[0]["username"], "fay");
  EXPECT_EQ(items[0]["requests"], 1);
  EXPECT_EQ(items[0]["prompt_tokens"], 30);
  EXPECT_EQ(items[0]["completion_tokens"], 3);

  auto by_day = json(get(admin_usage, "/admin/usage?group_by=day&" + range))["items"];
  ASSERT_EQ(by_day.size(), 1u);
  EXPECT_EQ(by_day[0]["key"], "2026-03-10");
  auto nobody = json(get(admin_usage, "/admin/usage?user_id=user-root&" + range))["items"];
  EXPECT_TRUE(nobody.empty());
  auto elsewhere = json(get(admin_usage, "/admin/usage?from=2026-04-01&to=2026-05-01"))["items"];
  EXPECT_TRUE(elsewhere.empty());
  EXPECT_TRUE(is_problem(get(admin_usage, "/admin/usage?group_by=week"), 422, "validation_failed"));
}

INSTANTIATE_TEST_SUITE_P(Dialects, AdminHandlersTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::api
