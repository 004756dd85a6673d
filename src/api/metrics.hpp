#pragma once
// GET /metrics: the Prometheus exposition (text format 0.0.4) of obs::Metrics. With a token
// (CHATD_METRICS_TOKEN) it needs `Authorization: Bearer <token>`, else 401.

#include "api/routes.hpp"

namespace chatd::api {

HandlerResult metrics(const Services& s, http::Context& ctx);

}  // namespace chatd::api
