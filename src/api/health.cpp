#include "api/health.hpp"

#include "core/async.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;

void add_health_routes(http::Router& router, HealthDeps deps) {
  router.add({bhttp::verb::get, "/healthz",
              [](http::Context&) -> boost::asio::awaitable<http::Response> {
                co_return http::json_response(bhttp::status::ok, {{"status", "ok"}});
              },
              false, http::Access::anonymous, "", false});

  router.add({bhttp::verb::get, "/readyz",
              [deps](http::Context& ctx) -> boost::asio::awaitable<http::Response> {
                bool ready = true;
                nlohmann::json checks = nlohmann::json::object();
                Status db = co_await run_blocking(deps.pool, [&db = deps.db] { return db.ping(); });
                if (db) {
                  checks["database"] = "ok";
                } else {
                  ready = false;
                  checks["database"] = "error: " + db.error().detail;
                  if (!db.error().internal.empty()) ctx.error_note = db.error().internal;
                }
                if (!deps.redis_url) {
                  checks["redis"] = "disabled";
                } else {
                  ready = false;
                  checks["redis"] = "error: this build of chatd has no Redis support yet";
                }
                co_return http::json_response(ready ? bhttp::status::ok : bhttp::status::service_unavailable,
                                              {{"status", ready ? "ok" : "unavailable"}, {"checks", checks}});
              },
              false, http::Access::anonymous, "", false});
}

}  // namespace chatd::api
