// GET /healthz and GET /readyz called by name: readiness reports every check, "disabled" for
// one that is not configured, and 503 naming the failing one (its internal cause goes to the
// log note only).

#include "api/health.hpp"

#include "core/async.hpp"
#include "handler_fixture.hpp"

#include <gtest/gtest.h>

namespace chatd::api {
namespace {

using store::Dialect;

class HealthHandlersTest : public HandlerTest {};

TEST_P(HealthHandlersTest, HealthzIsOk) {
  auto res = call(healthz, Call::get("/healthz"));
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(json(res), nlohmann::json({{"status", "ok"}}));
}

TEST_P(HealthHandlersTest, ReadyzAsksEveryCheckAndNamesTheOneThatFails) {
  auto& checks = s().services.readiness;
  checks.push_back({"database", [this]() { return run_blocking(s().db_pool, [this] { return db().ping(); }); }});
  checks.push_back({"redis", {}});
  auto ready = call(readyz, Call::get("/readyz"));
  EXPECT_EQ(ready.result_int(), 200u);
  EXPECT_EQ(json(ready),
            nlohmann::json::parse(R"({"status": "ok", "checks": {"database": "ok", "redis": "disabled"}})"));

  checks.push_back({"cache", []() -> boost::asio::awaitable<Status> {
                      Error e = fail(Code::unavailable, "the cache does not answer");
                      e.internal = "connect 10.0.0.9:6379: refused";
                      co_return e;
                    }});
  auto failing = call(readyz, Call::get("/readyz"));
  EXPECT_EQ(failing.result_int(), 503u);
  EXPECT_EQ(json(failing), nlohmann::json::parse(R"({"status": "unavailable", "checks": {
      "database": "ok", "redis": "disabled", "cache": "error: the cache does not answer"}})"));
  EXPECT_EQ(failing.body().find("10.0.0.9"), std::string::npos);
  EXPECT_EQ(error_note_, "connect 10.0.0.9:6379: refused");
}

// The handlers here read no table: SQLite alone is enough.
INSTANTIATE_TEST_SUITE_P(Dialects, HealthHandlersTest, ::testing::Values(Dialect::sqlite),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::api
