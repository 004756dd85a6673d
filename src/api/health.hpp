#pragma once
// GET /healthz (the process serves) and GET /readyz (its dependencies answer).

#include "core/worker_pool.hpp"
#include "http/router.hpp"
#include "store/database.hpp"

#include <optional>
#include <string>

namespace chatd::api {

struct HealthDeps {
  store::Database& db;
  WorkerPool& pool;
  std::optional<std::string> redis_url;  // unset: "disabled"
};

void add_health_routes(http::Router& router, HealthDeps deps);

}  // namespace chatd::api
