#include "store/postgres.hpp"

#include "core/scope_exit.hpp"
#include "store/detail.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <poll.h>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace chatd::store {
namespace {

constexpr const char* kBegin = "BEGIN";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kUnsynced = "SET LOCAL synchronous_commit = off";
constexpr const char* kRollback = "ROLLBACK";
constexpr std::string_view kPing = "SELECT 1";

struct ConnCloser {
  void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
using ConnHandle = std::unique_ptr<PGconn, ConnCloser>;

struct ResultClearer {
  void operator()(PGresult* res) const noexcept { PQclear(res); }
};
using ResultHandle = std::unique_ptr<PGresult, ResultClearer>;

Error unavailable(std::string cause) {
  Error e = fail(Code::unavailable, "the database is unavailable, try again shortly");
  e.internal = std::move(cause);
  return e;
}

std::string trimmed(const char* message) {
  std::string out = message ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool starts_with(const char* s, std::string_view prefix) {
  return s != nullptr && std::string_view(s).substr(0, prefix.size()) == prefix;
}

// SQLSTATEs that say "try again": the server is going away, overloaded, or chose this
// transaction as a deadlock or serialisation victim.
bool is_transient(const char* state) {
  static constexpr std::string_view kStates[] = {"40001", "40P01", "55P03", "57014"};
  if (state == nullptr) return false;
  if (std::find(std::begin(kStates), std::end(kStates), std::string_view(state)) != std::end(kStates)) {
    return true;
  }
  // 08: connection exceptions (but 08P01 is a protocol violation: our bug); 53:
  // insufficient resources (too many connections, out of memory); 57P: shutdown.
  return (starts_with(state, "08") && std::string_view(state) != "08P01") || starts_with(state, "53") ||
         starts_with(state, "57P");
}

Error map_error(PGconn* conn, const PGresult* res, std::string_view sql) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  // The primary message and the constraint name, but not DETAIL: that repeats the
  // offending values (e-mail addresses, ...), which do not belong in a log.
  std::string cause = "postgres: ";
  if (state) cause += std::string("[") + state + "] ";
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  cause += primary ? std::string(primary) : trimmed(PQerrorMessage(conn));
  if (const char* constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : nullptr) {
    cause += std::string(" (constraint ") + constraint + ")";
  }
  if (!sql.empty()) cause += " in: " + detail::sql_excerpt(sql);

  if (PQstatus(conn) != CONNECTION_OK) return unavailable(std::move(cause));
  if (state && (std::strcmp(state, "23505") == 0 || std::strcmp(state, "23503") == 0)) {
    Error e = fail(Code::conflict, "the change conflicts with existing data");
    e.internal = std::move(cause);
    return e;
  }
  if (is_transient(state)) return unavailable(std::move(cause));
  return internal_error(std::move(cause));
}

bool succeeded(const PGresult* res) {
  if (res == nullptr) return false;
  const ExecStatusType status = PQresultStatus(res);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

void ignore_notice(void*, const char*) {
  // NOTICEs ("relation already exists, skipping", ...) would go to stderr unformatted.
}

struct PreparedStatement {
  std::string name;
  int params = 0;
};

class PgConnection final : public Connection {
 public:
  explicit PgConnection(ConnHandle conn) : conn_(std::move(conn)), cache_(detail::kStatementCacheSize) {}

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    auto prepared = prepare(sql);
    if (!prepared) return record(prepared.error());
    const PreparedStatement& stmt = *prepared.value();
    if (stmt.params != static_cast<int>(params.size())) {
      return record(internal_error("postgres: statement takes " + std::to_string(stmt.params) + " parameters, " +
                                   std::to_string(params.size()) + " given: " + detail::sql_excerpt(sql)));
    }

    // Every parameter goes as text and the server converts it to the type it inferred.
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
              values[i] = nullptr;
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              storage[i] = std::to_string(v);
              values[i] = storage[i].c_str();
            } else if constexpr (std::is_same_v<T, double>) {
              storage[i] = detail::format_double(v);
              values[i] = storage[i].c_str();
            } else {
              values[i] = v.c_str();
            }
          },
          params[i]);
      if (const auto* s = std::get_if<std::string>(&params[i]); s && s->find('\0') != std::string::npos) {
        // libpq sends text parameters as C strings and would cut the value short.
        return record(fail(Code::invalid_argument, "text must not contain NUL characters"));
      }
    }

    ResultHandle res(PQexecPrepared(conn_.get(), stmt.name.c_str(), static_cast<int>(params.size()), values.data(),
                                    nullptr, nullptr, 0));
    if (!succeeded(res.get())) {
      Error e = map_error(conn_.get(), res.get(), sql);
      // "cached plan must not change result type": a migration changed a table under a
      // prepared SELECT *. Preparing it again on the next call picks up the new shape.
      const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
      if (state && std::strcmp(state, "0A000") == 0) forget(sql);
      return record(std::move(e));
    }

    Rows out;
    const int rows = PQntuples(res.get());
    const int columns = PQnfields(res.get());
    out.rows.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      Row row;
      row.cols.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(res.get(), r, c)) {
          row.cols.emplace_back(std::nullopt);
        } else {
          row.cols.emplace_back(std::in_place, PQgetvalue(res.get(), r, c),
                                static_cast<std::size_t>(PQgetlength(res.get(), r, c)));
        }
      }
      out.rows.push_back(std::move(row));
    }
    // PQcmdTuples also counts the rows a SELECT returned; `affected` means changed rows.
    if (!starts_with(PQcmdStatus(res.get()), "SELECT")) {
      const char* tuples = PQcmdTuples(res.get());
      std::from_chars(tuples, tuples + std::strlen(tuples), out.affected);
    }
    return out;
  }

  Status exec_script(std::string_view sql) override {
    const std::string text(sql);
    // PQexec runs every statement of the string and stops at the first error.
    ResultHandle res(PQexec(conn_.get(), text.c_str()));
    if (!succeeded(res.get())) return record(map_error(conn_.get(), res.get(), sql));
    return ok();
  }

  // Transaction control: not cached and not counted as a statement failure.
  Status exec_control(const char* sql) {
    ResultHandle res(PQexec(conn_.get(), sql));
    if (!succeeded(res.get())) return map_error(conn_.get(), res.get(), sql);
    // COMMIT of a transaction that already failed "succeeds" with the tag ROLLBACK.
    if (std::strcmp(sql, kCommit) == 0 && std::strcmp(PQcmdStatus(res.get()), "COMMIT") != 0) {
      return internal_error(std::string("postgres: COMMIT answered ") + PQcmdStatus(res.get()));
    }
    return ok();
  }

  // Ends whatever transaction is open: after a failed write, or when a read's fn left one.
  void rollback_if_open() {
    const PGTransactionStatusType status = PQtransactionStatus(conn_.get());
    if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) ResultHandle(PQexec(conn_.get(), kRollback));
  }

  // Whether a pooled connection still looks usable, without a round trip. An idle
  // connection has nothing to read unless the server is closing it (terminated backend,
  // idle timeout, shutdown) or the socket failed; then it is reconnected rather than
  // failing the caller's first statement.
  bool looks_alive() const {
    if (PQstatus(conn_.get()) != CONNECTION_OK) return false;
    pollfd pfd{};
    pfd.fd = PQsocket(conn_.get());
    pfd.events = POLLIN;
    if (pfd.fd < 0) return false;
    return ::poll(&pfd, 1, 0) == 0;
  }

  // Reconnects with the original parameters; server-side statements are gone with the
  // old session.
  Status reconnect() {
    cache_.clear();
    to_deallocate_.clear();
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return unavailable("postgres: cannot reconnect: " + trimmed(PQerrorMessage(conn_.get())));
    }
    return ok();
  }

  void begin_tracking() {
    tracking_ = true;
    doomed_.reset();
  }
  std::optional<Error> end_tracking() {
    tracking_ = false;
    return std::exchange(doomed_, std::nullopt);
  }

 private:
  Error record(Error e) {
    if (tracking_ && !doomed_) doomed_ = e;
    return e;
  }

  Result<const PreparedStatement*> prepare(std::string_view sql) {
    if (const PreparedStatement* cached = cache_.find(sql)) return cached;
    deallocate_pending();
    std::string name = "chatd_" + std::to_string(++statements_);
    std::string text(sql);
    ResultHandle res(PQprepare(conn_.get(), name.c_str(), text.c_str(), 0, nullptr));
    if (!succeeded(res.get())) return map_error(conn_.get(), res.get(), sql);
    // The parameter count the server inferred, so a mismatch is caught here with a clear
    // message instead of a protocol error.
    ResultHandle described(PQdescribePrepared(conn_.get(), name.c_str()));
    if (!succeeded(described.get())) return map_error(conn_.get(), described.get(), sql);
    const int params = PQnparams(described.get());

    PreparedStatement* inserted = nullptr;
    auto evicted = cache_.insert(std::move(text), PreparedStatement{std::move(name), params}, &inserted);
    if (evicted) deallocate(evicted->name);
    return inserted;
  }

  void forget(std::string_view sql) {
    if (auto removed = cache_.erase(sql)) deallocate(removed->name);
  }

  void deallocate(std::string name) {
    // A failed transaction refuses every command until it ends; deallocate afterwards.
    if (PQtransactionStatus(conn_.get()) == PQTRANS_INERROR) {
      to_deallocate_.push_back(std::move(name));
      return;
    }
    // A generated name, not input. A failure would only leave an unused statement behind.
    const std::string sql = "DEALLOCATE " + name;
    ResultHandle(PQexec(conn_.get(), sql.c_str()));
  }

  void deallocate_pending() {
    if (to_deallocate_.empty() || PQtransactionStatus(conn_.get()) == PQTRANS_INERROR) return;
    for (std::string& name : std::exchange(to_deallocate_, {})) deallocate(std::move(name));
  }

  ConnHandle conn_;
  detail::StatementCache<PreparedStatement> cache_;
  std::uint64_t statements_ = 0;  // names prepared statements uniquely within the session
  std::vector<std::string> to_deallocate_;
  bool tracking_ = false;
  std::optional<Error> doomed_;  // the first failure inside the current write transaction
};

Result<std::unique_ptr<PgConnection>> connect(const std::string& url, std::int64_t timeout_ms) {
  const std::string timeout = std::to_string(std::max<std::int64_t>(2, (timeout_ms + 999) / 1000));
  // Entries before the expanded URL are defaults that the URL's own parameters override.
  const char* const keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* const values[] = {timeout.c_str(), "chatd", url.c_str(), nullptr};
  ConnHandle conn(PQconnectdbParams(keys, values, 1));
  if (!conn) return unavailable("postgres: cannot allocate a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return unavailable("postgres: cannot connect: " + trimmed(PQerrorMessage(conn.get())));
  }
  PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
  return std::make_unique<PgConnection>(std::move(conn));
}

class PgDatabase final : public Database {
 public:
  PgDatabase(std::string url, const DatabaseOptions& options, std::unique_ptr<PgConnection> first)
      : url_(std::move(url)), size_(options.pool_size), timeout_ms_(options.busy_timeout_ms), open_(1) {
    idle_.push_back(std::move(first));
  }

  Dialect dialect() const override { return Dialect::postgres; }

  Status run(Access access, const std::function<Status(Connection&)>& fn) override {
    auto borrowed = acquire();
    if (!borrowed) return borrowed.error();
    Lease lease(*this, std::move(borrowed).value());
    PgConnection& conn = lease.conn();

    if (access == Access::read) {
      ScopeExit settle([&conn] { conn.rollback_if_open(); });
      return fn(conn);
    }

    bool committed = false;
    ScopeExit finish([&conn, &committed] {
      conn.end_tracking();
      if (!committed) conn.rollback_if_open();
    });

    if (auto st = conn.exec_control(kBegin); !st) return st;
    // For this transaction only (see Access::write_unsynced in database.hpp).
    if (access == Access::write_unsynced) {
      if (auto st = conn.exec_control(kUnsynced); !st) return st;
    }
    conn.begin_tracking();
    Status result = fn(conn);
    std::optional<Error> doomed = conn.end_tracking();
    if (!result) return result;
    if (doomed) {
      Error e = std::move(*doomed);
      e.internal = "transaction rolled back after a failed statement: " + e.internal;
      return e;
    }
    if (auto st = conn.exec_control(kCommit); !st) return st;
    committed = true;
    return ok();
  }

  Status ping() override {
    return run(Access::read, [](Connection& c) -> Status {
      auto rows = c.query(kPing);
      if (!rows) return rows.error();
      return ok();
    });
  }

  PoolStats pool_stats() const override {
    std::lock_guard lock(mu_);
    PoolStats stats;
    stats.size = size_;
    stats.open = open_;
    stats.in_use = open_ - static_cast<int>(idle_.size());
    stats.waiting = waiting_;
    return stats;
  }

 private:
  // Returns a borrowed connection to the pool however run() leaves.
  class Lease {
   public:
    Lease(PgDatabase& db, std::unique_ptr<PgConnection> conn) : db_(db), conn_(std::move(conn)) {}
    ~Lease() { db_.release(std::move(conn_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    PgConnection& conn() { return *conn_; }

   private:
    PgDatabase& db_;
    std::unique_ptr<PgConnection> conn_;
  };

  Result<std::unique_ptr<PgConnection>> acquire() {
    std::unique_lock lock(mu_);
    ++waiting_;
    const bool got =
        cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms_), [&] { return !idle_.empty() || open_ < size_; });
    --waiting_;
    if (!got) return unavailable("postgres: no pooled connection free within the timeout");

    if (idle_.empty()) {
      // Connect outside the lock; the slot is taken so the pool never exceeds its size.
      ++open_;
      lock.unlock();
      auto fresh = connect(url_, timeout_ms_);
      if (!fresh) {
        lock.lock();
        --open_;
        lock.unlock();
        cv_.notify_one();
      }
      return fresh;
    }

    std::unique_ptr<PgConnection> conn = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (conn->looks_alive()) return conn;
    if (auto st = conn->reconnect(); !st) {
      // Kept in the pool: the next borrower tries to reconnect again.
      release(std::move(conn));
      return st.error();
    }
    return conn;
  }

  void release(std::unique_ptr<PgConnection> conn) {
    {
      std::lock_guard lock(mu_);
      idle_.push_back(std::move(conn));
    }
    cv_.notify_one();
  }

  const std::string url_;
  const int size_;
  const std::int64_t timeout_ms_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;  // connections in idle_ or borrowed, plus those being opened
  int waiting_ = 0;
};

}  // namespace

Result<std::unique_ptr<Database>> open_postgres(const std::string& url, const DatabaseOptions& options) {
  if (options.pool_size < 1) return fail(Code::invalid_argument, "the database pool size must be at least 1");
  if (options.busy_timeout_ms < 0)
    return fail(Code::invalid_argument, "the database busy timeout must not be negative");
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parse_error);
  if (parsed == nullptr) {
    Error e = fail(Code::invalid_argument, "the PostgreSQL URL is malformed");
    e.internal = "postgres: " + trimmed(parse_error);
    PQfreemem(parse_error);
    return e;
  }
  PQconninfoFree(parsed);

  auto first = connect(url, options.busy_timeout_ms);
  if (!first) return first.error();
  return std::unique_ptr<Database>(std::make_unique<PgDatabase>(url, options, std::move(first).value()));
}

}  // namespace chatd::store
