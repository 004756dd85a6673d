#include "api/health.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;

HandlerResult healthz(const Services&, http::Context&) {
  co_return http::json_response(bhttp::status::ok, {{"status", "ok"}});
}

HandlerResult readyz(const Services& s, http::Context& ctx) {
  bool ready = true;
  nlohmann::json checks = nlohmann::json::object();
  for (const auto& check : s.readiness) {
    if (!check.probe) {
      checks[check.name] = "disabled";
      continue;
    }
    Status st = co_await check.probe();
    if (st) {
      checks[check.name] = "ok";
      continue;
    }
    ready = false;
    checks[check.name] = "error: " + st.error().detail;
    if (!st.error().internal.empty()) ctx.error_note = st.error().internal;
  }
  co_return http::json_response(ready ? bhttp::status::ok : bhttp::status::service_unavailable,
                                {{"status", ready ? "ok" : "unavailable"}, {"checks", checks}});
}

}  // namespace chatd::api
