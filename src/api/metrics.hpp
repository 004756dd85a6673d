#pragma once
// GET /metrics: the Prometheus exposition (text format 0.0.4) of obs::Metrics. With a token
// (CHATD_METRICS_TOKEN) it needs `Authorization: Bearer <token>`, else 401.

#include "http/router.hpp"
#include "observability/metrics.hpp"

#include <optional>
#include <string>

namespace chatd::api {

void add_metrics_routes(http::Router& router, const obs::Metrics& metrics, std::optional<std::string> token);

}  // namespace chatd::api
