#pragma once
// The metrics read at scrape time from the parts that keep their own figures: the HTTP
// pipeline's per-route counts (Pipeline::http_metrics), the database pool, the worker pools' queues, the mailer and
// the process. Registered once at startup; each reference must outlive the server.

#include "core/worker_pool.hpp"
#include "mail/mailer.hpp"
#include "observability/metrics.hpp"
#include "store/database.hpp"

#include <vector>

namespace chatd::obs {

void add_collectors(Metrics& metrics, const HttpMetrics& http, const store::Database& db,
                    std::vector<const WorkerPool*> pools, const mail::Mailer& mailer);

}  // namespace chatd::obs
