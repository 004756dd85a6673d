// The handlers of src/api/invitations.hpp called by name: the code shown once (201, no-store)
// and mailed when the invitation names an address, the list's shape, who may invite, field
// errors, and deletion.

#include "api/invitations.hpp"

#include "handler_fixture.hpp"

#include <gtest/gtest.h>

namespace chatd::api {
namespace {

using store::Dialect;

class InvitationHandlersTest : public HandlerTest {
 protected:
  http::Response create(const Principal& who, nlohmann::json body = nlohmann::json::object()) {
    return call(create_invitation, Call::post("/invitations").with_body(std::move(body)).by(who));
  }
  http::Response list(const Principal& who, const std::string& query = "") {
    return call(list_invitations, Call::get("/invitations" + query).by(who));
  }
};

TEST_P(InvitationHandlersTest, TheCodeIsShownOnceMailedWhenAnAddressIsNamedAndListedByItsPrefix) {
  auto root = principal_for(add_user("root", unit::Account::admin));
  auto res = create(root, {{"email", "Guest@Example.com"}, {"expires_in_hours", 24}});
  ASSERT_EQ(res.result_int(), 201u) << res.body();
  EXPECT_EQ(header(res, "Cache-Control"), "no-store");
  auto created = json(res);
  EXPECT_EQ(keys(created), (std::vector<std::string>{"code", "expires_at", "id"}));
  EXPECT_EQ(created["expires_at"], "2026-03-11T12:00:00Z");
  const std::string code = created["code"].get<std::string>();
  ASSERT_EQ(code.rfind("inv_", 0), 0u);
  auto mails = s().mailer.sent_to("guest@example.com");
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_NE(mails[0].text.find(code), std::string::npos);

  s().clock.advance_ms(1000);
  auto open = json(create(root));
  EXPECT_EQ(open["expires_at"], "2026-03-13T12:00:01Z");  // 72 hours by default
  EXPECT_EQ(s().mailer.sent().size(), 1u);

  auto page = list(root, "?limit=1");
  ASSERT_EQ(page.result_int(), 200u) << page.body();
  auto body = json(page);
  EXPECT_EQ(body["can_create"], true);
  ASSERT_EQ(body["items"].size(), 1u);
  const auto& newest = body["items"][0];
  EXPECT_EQ(keys(newest), (std::vector<std::string>{"accepted_at", "code_prefix", "created_at", "email", "expires_at",
                                                    "id", "invitee_id"}));
  EXPECT_EQ(newest["id"], open["id"]);
  EXPECT_TRUE(newest["email"].is_null());
  EXPECT_EQ(page.body().find(open["code"].get<std::string>()), std::string::npos);
  ASSERT_TRUE(body["next_cursor"].is_string());
  auto rest = json(list(root, "?limit=1&cursor=" + body["next_cursor"].get<std::string>()));
  ASSERT_EQ(rest["items"].size(), 1u);
  EXPECT_EQ(rest["items"][0]["code_prefix"], code.substr(0, 12));
  EXPECT_EQ(rest["items"][0]["email"], "guest@example.com");
  EXPECT_TRUE(rest["next_cursor"].is_null());

  const std::string id = created["id"].get<std::string>();
  auto other = principal_for(add_user("other"));
  auto theirs = call(delete_invitation, Call::del("/invitations/" + id).by(other).param("id", id));
  EXPECT_TRUE(is_problem(theirs, 404, "not_found"));
  auto deleted = call(delete_invitation, Call::del("/invitations/" + id).by(root).param("id", id));
  EXPECT_EQ(deleted.result_int(), 204u);
  EXPECT_EQ(json(list(root))["items"].size(), 1u);
}

TEST_P(InvitationHandlersTest, FieldsAreCheckedAndOnlyVerifiedUsersMayInviteWhenAllowed) {
  auto user = principal_for(add_user("una"));
  auto typed = create(user, {{"email", 5}, {"expires_in_hours", "soon"}});
  ASSERT_TRUE(is_problem(typed, 422, "validation_failed"));
  EXPECT_EQ(error_fields(typed), (std::vector<std::string>{"email", "expires_in_hours"}));
  for (const nlohmann::json& hours :
       {nlohmann::json(0), nlohmann::json(721), nlohmann::json(-3), nlohmann::json(std::uint64_t{1} << 63)}) {
    auto res = create(user, {{"expires_in_hours", hours}});
    ASSERT_TRUE(is_problem(res, 422, "validation_failed")) << hours;
    EXPECT_EQ(error_fields(res), std::vector<std::string>{"expires_in_hours"}) << hours;
  }
  auto bad_email = create(user, {{"email", "not-an-address"}});
  ASSERT_TRUE(is_problem(bad_email, 422, "validation_failed"));
  EXPECT_EQ(error_fields(bad_email), std::vector<std::string>{"email"});
  EXPECT_EQ(create(user, {{"expires_in_hours", 720}}).result_int(), 201u);

  auto unverified = principal_for(add_user("vic", unit::Account::unverified));
  EXPECT_TRUE(is_problem(create(unverified), 403, "forbidden"));
  EXPECT_EQ(json(list(unverified))["can_create"], false);
  s().config.user_invites = false;
  EXPECT_TRUE(is_problem(create(user), 403, "forbidden"));
  EXPECT_EQ(json(list(user))["can_create"], false);
}

INSTANTIATE_TEST_SUITE_P(Dialects, InvitationHandlersTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::api
