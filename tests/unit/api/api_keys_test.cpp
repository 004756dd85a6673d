// The handlers of src/api/api_keys.hpp called by name: the key shown once (201, no-store),
// lists without it, deletion that stops the key at once, another user's key as 404, and the
// body's field errors.

#include "api/api_keys.hpp"

#include "handler_fixture.hpp"

#include <gtest/gtest.h>

namespace chatd::api {
namespace {

using store::Dialect;

class ApiKeyHandlersTest : public unit::WithTwoUsers<HandlerTest> {
 protected:
  http::Response create(nlohmann::json body) {
    return call(create_api_key, Call::post("/api-keys").with_body(std::move(body)).by(ann_));
  }
  http::Response remove(const std::string& id, const Principal& who) {
    return call(delete_api_key, Call::del("/api-keys/" + id).by(who).param("id", id));
  }
};

TEST_P(ApiKeyHandlersTest, TheKeyIsShownOnceAndWorksUntilDeleted) {
  auto res = create({{"name", "  laptop  "}, {"expires_at", "2026-06-01T00:00:00Z"}});
  ASSERT_EQ(res.result_int(), 201u) << res.body();
  EXPECT_EQ(header(res, "Cache-Control"), "no-store");
  auto created = json(res);
  EXPECT_EQ(keys(created), (std::vector<std::string>{"created_at", "expires_at", "id", "key", "name", "prefix"}));
  EXPECT_EQ(created["name"], "laptop");
  EXPECT_EQ(created["expires_at"], "2026-06-01T00:00:00Z");
  EXPECT_EQ(created["created_at"], "2026-03-10T12:00:00Z");
  const std::string key = created["key"].get<std::string>();
  ASSERT_TRUE(auth::looks_like_api_key(key)) << key;
  EXPECT_EQ(created["prefix"], auth::api_key_prefix(key));
  auto who = run(s().api_key_authenticator.authenticate(key));
  ASSERT_TRUE(who) << unit::describe(who.error());
  EXPECT_EQ(who.value().user_id, ann_.user_id);

  auto listed = call(list_api_keys, Call::get("/api-keys").by(ann_));
  ASSERT_EQ(listed.result_int(), 200u);
  auto items = json(listed)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(keys(items[0]),
            (std::vector<std::string>{"created_at", "expires_at", "id", "last_used_at", "name", "prefix"}));
  EXPECT_EQ(listed.body().find(key), std::string::npos);
  EXPECT_TRUE(json(call(list_api_keys, Call::get("/api-keys").by(bob_)))["items"].empty());

  const std::string id = created["id"].get<std::string>();
  EXPECT_TRUE(is_problem(remove(id, bob_), 404, "not_found"));
  auto deleted = remove(id, ann_);
  EXPECT_EQ(deleted.result_int(), 204u);
  EXPECT_FALSE(run(s().api_key_authenticator.authenticate(key)));
  EXPECT_TRUE(is_problem(remove(id, ann_), 404, "not_found"));
}

TEST_P(ApiKeyHandlersTest, BadNamesAndExpiryTimesAre422) {
  auto missing = create({{"expires_at", "next week"}});
  ASSERT_TRUE(is_problem(missing, 422, "validation_failed"));
  EXPECT_EQ(error_fields(missing), (std::vector<std::string>{"name", "expires_at"}));
  auto past = create({{"name", "old"}, {"expires_at", "2026-03-10T11:59:59Z"}});
  ASSERT_TRUE(is_problem(past, 422, "validation_failed"));
  EXPECT_EQ(error_fields(past), std::vector<std::string>{"expires_at"});
  auto control = create({{"name", "tab\there"}});
  ASSERT_TRUE(is_problem(control, 422, "validation_failed"));
  EXPECT_EQ(error_fields(control), std::vector<std::string>{"name"});
  EXPECT_TRUE(is_problem(create({{"name", std::string(101, 'n')}}), 422, "validation_failed"));
  EXPECT_EQ(create({{"name", std::string(100, 'n')}}).result_int(), 201u);
  EXPECT_EQ(count("api_keys"), 1);
}

INSTANTIATE_TEST_SUITE_P(Dialects, ApiKeyHandlersTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::api
