#pragma once
// The database seam. Repositories (users, sessions, ...) are written against
// Connection with SQL constants per dialect and bound parameters only. Every call here
// blocks: it runs on a WorkerPool thread (see core/async.hpp), never on a network thread.
//
// Parameters are written $1, $2, ... in both dialects (SQLite binds them by name).
// Timestamps are stored as Unix epoch milliseconds (BIGINT), booleans as nullable
// timestamps or 0/1 integers, ids as text (UUIDv7).

#include "core/result.hpp"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chatd::store {

enum class Dialect { sqlite, postgres };

using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

struct Row {
  std::vector<std::optional<std::string>> cols;  // text form of every column; nullopt = NULL

  bool is_null(std::size_t i) const { return !cols.at(i).has_value(); }
  const std::string& text(std::size_t i) const;  // "" for NULL
  // 0 for NULL or non-numeric. A decimal ("12.50", from NUMERIC sums) is truncated toward
  // zero; PostgreSQL's boolean text "t"/"f" reads as 1/0 so EXISTS(...) works in both dialects.
  std::int64_t integer(std::size_t i) const;
  std::optional<std::int64_t> opt_integer(std::size_t i) const;  // nullopt for NULL, else integer(i)
  double real(std::size_t i) const;                              // 0.0 for NULL or non-numeric
  std::optional<std::string> opt_text(std::size_t i) const { return cols.at(i); }
};

struct Rows {
  std::vector<Row> rows;
  std::int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
  bool empty() const { return rows.empty(); }
};

// One database session; used by one thread at a time.
//
// Inside Access::write a failed statement dooms the transaction in both dialects (that is
// how PostgreSQL behaves, and SQLite is made to match so code tested on one works on the
// other): run() then rolls back and returns that statement's error even when `fn` returns
// success. Write upserts as INSERT ... ON CONFLICT instead of catching a conflict.
// A statement must use exactly the parameters it is given ($1..$N, each at least once);
// a mismatch is Code::internal without reaching the database.
class Connection {
 public:
  virtual ~Connection() = default;
  // Runs one statement with bound parameters. Errors: Code::conflict for unique/foreign-key
  // violations, Code::unavailable when the database cannot be reached or is busy past its
  // timeout, Code::internal otherwise (the cause in Error::internal).
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params) = 0;
  Result<Rows> query(std::string_view sql, std::initializer_list<Value> params = {}) {
    return query(sql, std::span<const Value>(params.begin(), params.size()));
  }
  // Runs a script of several statements without parameters (migrations).
  virtual Status exec_script(std::string_view sql) = 0;
};

enum class Access {
  read,   // a reader connection, no explicit transaction
  write,  // the writer (SQLite) / any pooled connection (PostgreSQL), in a transaction
  // Like write, but the commit does not wait for the disk (SQLite: synchronous = NORMAL for
  // that commit; PostgreSQL: synchronous_commit = off). The log is written in commit order,
  // so it becomes durable with the next synced commit or checkpoint: a crash of chatd loses
  // nothing, a power loss may lose it (and only with what was committed after it). Only for
  // data no request waits for: the usage events of /v1, written after their answers.
  write_unsynced,
};

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // Borrows a connection for `fn`. With Access::write, `fn` runs inside a transaction that
  // commits when it returns success and rolls back when it returns an error or throws.
  // Returns fn's status, or Code::unavailable when no connection could be had within
  // DatabaseOptions::busy_timeout_ms. Do not nest run() calls on one thread: the inner one
  // would wait for a connection the outer one holds.
  virtual Status run(Access access, const std::function<Status(Connection&)>& fn) = 0;
  // A cheap round trip (SELECT 1) for /readyz.
  virtual Status ping() = 0;

  struct PoolStats {
    int size = 0;     // connections that may exist at once
    int open = 0;     // connections that exist now
    int in_use = 0;   // borrowed by a run() right now
    int waiting = 0;  // run() calls waiting for a connection
  };
  // For /metrics; zeros unless overridden (test fakes need not).
  virtual PoolStats pool_stats() const { return {}; }
};

// Helpers returning a value from inside run().
template <class F>
auto read(Database& db, F fn) -> std::invoke_result_t<F&, Connection&> {
  using R = std::invoke_result_t<F&, Connection&>;
  std::optional<R> out;
  Status st = db.run(Access::read, [&](Connection& c) -> Status {
    out.emplace(fn(c));
    if (out->has_error()) return out->error();
    return ok();
  });
  if (!out) return R(st.error());
  return std::move(*out);
}

// `access` is Access::write or Access::write_unsynced.
template <class F>
auto transact(Database& db, F fn, Access access = Access::write) -> std::invoke_result_t<F&, Connection&> {
  using R = std::invoke_result_t<F&, Connection&>;
  std::optional<R> out;
  Status st = db.run(access, [&](Connection& c) -> Status {
    out.emplace(fn(c));
    if (out->has_error()) return out->error();
    return ok();
  });
  if (st.has_error() && (!out || out->has_value())) return R(st.error());  // commit failed
  return std::move(*out);
}

struct DatabaseOptions {
  int pool_size = 8;  // PostgreSQL connections / SQLite reader connections
  // How long a run() waits for a connection (and SQLite for a lock) before Code::unavailable;
  // also PostgreSQL's connect_timeout (rounded up to whole seconds, at least 2).
  std::int64_t busy_timeout_ms = 5000;
};

// Opens a database from CHATD_DATABASE_URL ("sqlite:PATH" or "postgresql://..." /
// "postgres://..."). SQLite creates the file and its parent directory when missing;
// PostgreSQL opens one connection at once so that a wrong URL shows at startup.
// Errors: Code::invalid_argument for a bad URL or options, Code::unavailable when it cannot
// connect or open the file. Details never contain the URL (it may hold a password).
Result<std::unique_ptr<Database>> open_database(const std::string& url, const DatabaseOptions& options);

}  // namespace chatd::store
