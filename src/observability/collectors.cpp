#include "observability/collectors.hpp"

namespace chatd::obs {

void add_collectors(Metrics& metrics, const HttpMetrics& http, const store::Database& db,
                    std::vector<const WorkerPool*> pools, const mail::Mailer& mailer) {
  metrics.add_collector([&http](TextWriter& out) { http.write(out); });

  metrics.add_collector([&db](TextWriter& out) {
    auto s = db.pool_stats();
    out.family("chatd_db_pool_connections", "gauge", "Database connections: allowed at once, open, borrowed now");
    out.sample("chatd_db_pool_connections", {{"state", "max"}}, static_cast<double>(s.size));
    out.sample("chatd_db_pool_connections", {{"state", "open"}}, static_cast<double>(s.open));
    out.sample("chatd_db_pool_connections", {{"state", "in_use"}}, static_cast<double>(s.in_use));
    out.family("chatd_db_pool_waiting", "gauge", "Database calls waiting for a connection");
    out.sample("chatd_db_pool_waiting", {}, static_cast<double>(s.waiting));
  });

  metrics.add_collector([pools = std::move(pools)](TextWriter& out) {
    out.family("chatd_worker_queue_depth", "gauge", "Jobs waiting in a worker pool's bounded queue");
    for (const auto* p : pools)
      out.sample("chatd_worker_queue_depth", {{"pool", p->name()}}, static_cast<double>(p->queued()));
    out.family("chatd_worker_queue_capacity", "gauge", "The bound of a worker pool's queue");
    for (const auto* p : pools)
      out.sample("chatd_worker_queue_capacity", {{"pool", p->name()}}, static_cast<double>(p->queue_capacity()));
    out.family("chatd_worker_busy", "gauge", "A worker pool's threads running a job now");
    for (const auto* p : pools) out.sample("chatd_worker_busy", {{"pool", p->name()}}, static_cast<double>(p->busy()));
  });

  metrics.add_collector([&mailer](TextWriter& out) {
    auto c = mailer.counts();
    out.family("chatd_mail_total", "counter", "E-mails delivered to the mail server, or given up on");
    out.sample("chatd_mail_total", {{"outcome", "sent"}}, c.sent);
    out.sample("chatd_mail_total", {{"outcome", "failed"}}, c.failed);
  });

  metrics.add_collector([](TextWriter& out) { write_process_metrics(out); });
}

}  // namespace chatd::obs
