#include "store/sqlite.hpp"

#include "core/scope_exit.hpp"
#include "store/detail.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace chatd::store {
namespace {

constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";
constexpr const char* kEnableWal = "PRAGMA journal_mode = WAL";
// synchronous = FULL: a commit returns only once the WAL is on disk, so what chatd has
// acknowledged survives a power loss or an operating-system crash, not just a crash of chatd
// (NORMAL could roll the last commits back). It costs one WAL sync per commit.
// Access::write_unsynced commits with NORMAL instead (see database.hpp).
constexpr const char* kWriterPragmas = "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";
constexpr const char* kSynced = "PRAGMA synchronous = FULL";
constexpr const char* kUnsynced = "PRAGMA synchronous = NORMAL";
// Readers never write; foreign_keys only matters for writes but keeps sessions alike.
constexpr const char* kReaderPragmas = "PRAGMA foreign_keys = ON;";
constexpr std::string_view kPing = "SELECT 1";

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// A prepared statement, and whether it names its parameters $1, $2, ... in that order of first
// appearance, so that SQLite's index of $n is n (worked out once, when it is prepared).
struct CachedStmt {
  StmtHandle stmt;
  bool positional = false;
};

// Ends a statement's run however the query leaves: a statement left mid-step would keep
// its read snapshot (blocking WAL checkpoints) and its bindings would point at the
// caller's strings.
class StmtReset {
 public:
  explicit StmtReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtReset(const StmtReset&) = delete;
  StmtReset& operator=(const StmtReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

Error unavailable(std::string cause) {
  Error e = fail(Code::unavailable, "the database is unavailable, try again shortly");
  e.internal = std::move(cause);
  return e;
}

Error map_error(sqlite3* db, int rc, std::string_view sql) {
  std::string cause = std::string("sqlite: ") + sqlite3_errmsg(db) + " (" + sqlite3_errstr(rc) + ")";
  if (!sql.empty()) cause += " in: " + detail::sql_excerpt(sql);
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_FOREIGNKEY: {
      Error e = fail(Code::conflict, "the change conflicts with existing data");
      e.internal = std::move(cause);
      return e;
    }
    default: break;
  }
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return unavailable(std::move(cause));
  return internal_error(std::move(cause));
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(DbHandle db) : db_(std::move(db)), cache_(detail::kStatementCacheSize) {}

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    auto prepared = prepare(sql);
    if (!prepared) return record(prepared.error());
    sqlite3_stmt* stmt = prepared.value()->stmt.get();
    StmtReset reset(stmt);

    if (auto bound = bind(*prepared.value(), sql, params); !bound) return record(bound.error());

    Rows out;
    const int columns = sqlite3_column_count(stmt);
    // sqlite3_changes() is left over from the last DML statement when this one is not
    // DML (DDL, SELECT), so it only counts when the total moved.
    const sqlite3_int64 total_before = sqlite3_total_changes64(db_.get());
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return record(map_error(db_.get(), rc, sql));
      Row row;
      row.cols.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) row.cols.push_back(column_text(stmt, c));
      out.rows.push_back(std::move(row));
    }
    if (sqlite3_total_changes64(db_.get()) != total_before) out.affected = sqlite3_changes64(db_.get());
    return out;
  }

  Status exec_script(std::string_view sql) override {
    const std::string text(sql);  // sqlite3_exec wants a terminated string
    const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return record(map_error(db_.get(), sqlite3_extended_errcode(db_.get()), sql));
    return ok();
  }

  // Transaction control and setup: not cached and not counted as a statement failure.
  Status exec_control(const char* sql) {
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return map_error(db_.get(), sqlite3_extended_errcode(db_.get()), sql);
    return ok();
  }

  Result<std::string> query_text(std::string_view sql) {
    auto rows = query(sql, {});
    if (!rows) return rows.error();
    if (rows.value().rows.empty()) return std::string();
    return rows.value().rows.front().text(0);
  }

  void rollback_if_open() {
    // SQLite may already have rolled back by itself (SQLITE_FULL, SQLITE_IOERR, ...).
    if (sqlite3_get_autocommit(db_.get()) == 0) sqlite3_exec(db_.get(), kRollback, nullptr, nullptr, nullptr);
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

  Result<const CachedStmt*> prepare(std::string_view sql) {
    if (const CachedStmt* cached = cache_.find(sql)) return cached;
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StmtHandle stmt(raw);
    if (rc != SQLITE_OK) return map_error(db_.get(), sqlite3_extended_errcode(db_.get()), sql);
    if (!stmt) return internal_error("sqlite: empty statement: " + detail::sql_excerpt(sql));
    // Anything after the first statement would be silently ignored.
    for (const char* p = tail; p != nullptr && p < sql.data() + sql.size(); ++p) {
      if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != ';') {
        return internal_error("sqlite: query() takes one statement: " + detail::sql_excerpt(sql));
      }
    }
    CachedStmt entry;
    entry.positional = true;
    for (int n = 1; n <= sqlite3_bind_parameter_count(stmt.get()) && entry.positional; ++n) {
      const char* name = sqlite3_bind_parameter_name(stmt.get(), n);
      entry.positional = name != nullptr && name == "$" + std::to_string(n);
    }
    entry.stmt = std::move(stmt);
    CachedStmt* inserted = nullptr;
    cache_.insert(std::string(sql), std::move(entry), &inserted);  // an evicted one is finalized here
    return inserted;
  }

  // The index of parameter $n: n itself when the statement names its parameters in order (SQLite
  // numbers them as they first appear), else looked up by name.
  static int parameter_index(const CachedStmt& prepared, int n) {
    if (prepared.positional) return n;
    std::array<char, 16> name{};
    name[0] = '$';
    auto [end, ec] = std::to_chars(name.data() + 1, name.data() + name.size() - 1, n);
    if (ec != std::errc()) return 0;
    *end = '\0';
    return sqlite3_bind_parameter_index(prepared.stmt.get(), name.data());
  }

  static Status bind(const CachedStmt& prepared, std::string_view sql, std::span<const Value> params) {
    sqlite3_stmt* stmt = prepared.stmt.get();
    // $N parameters are named in SQLite; binding by name lets both dialects share SQL text.
    if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(params.size())) {
      return internal_error("sqlite: statement takes " + std::to_string(sqlite3_bind_parameter_count(stmt)) +
                            " parameters, " + std::to_string(params.size()) + " given: " + detail::sql_excerpt(sql));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* s = std::get_if<std::string>(&params[i]); s && s->find('\0') != std::string::npos) {
        // PostgreSQL cannot store NUL in text; refusing it here keeps the dialects alike.
        return fail(Code::invalid_argument, "text must not contain NUL characters");
      }
      const int index = parameter_index(prepared, static_cast<int>(i + 1));
      if (index == 0) {
        return internal_error("sqlite: parameter $" + std::to_string(i + 1) +
                              " is not used: " + detail::sql_excerpt(sql));
      }
      const int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
              return sqlite3_bind_null(stmt, index);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              return sqlite3_bind_int64(stmt, index, v);
            } else if constexpr (std::is_same_v<T, double>) {
              return sqlite3_bind_double(stmt, index, v);
            } else {
              // SQLITE_STATIC: the caller's string outlives the step; StmtReset clears it.
              return sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
            }
          },
          params[i]);
      if (rc != SQLITE_OK) {
        return internal_error("sqlite: cannot bind $" + std::to_string(i + 1) + ": " + std::string(sqlite3_errstr(rc)));
      }
    }
    return ok();
  }

  static std::optional<std::string> column_text(sqlite3_stmt* stmt, int c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_NULL: return std::nullopt;
      case SQLITE_INTEGER: return std::to_string(sqlite3_column_int64(stmt, c));
      case SQLITE_FLOAT:
        // SQLite's own text form keeps 15 digits; this one reads back exactly.
        return detail::format_double(sqlite3_column_double(stmt, c));
      default: {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        const int size = sqlite3_column_bytes(stmt, c);
        return data ? std::string(data, static_cast<std::size_t>(size)) : std::string();
      }
    }
  }

  DbHandle db_;
  detail::StatementCache<CachedStmt> cache_;
  bool tracking_ = false;
  std::optional<Error> doomed_;  // the first failure inside the current write transaction
};

// Before SQLite's first use: no memory statistics (chatd reads none), which SQLite otherwise
// keeps under a process-wide mutex taken by every allocation it makes (a few per statement).
void configure_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

Result<std::unique_ptr<SqliteConnection>> open_connection(const std::string& path, bool writer,
                                                          std::int64_t busy_timeout_ms) {
  configure_sqlite_once();
  const int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;  // each connection is used by one thread at a time
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbHandle db(raw);  // allocated even when opening fails
  if (rc != SQLITE_OK) {
    return unavailable("sqlite: cannot open " + path + ": " +
                       (db ? std::string(sqlite3_errmsg(db.get())) : std::string(sqlite3_errstr(rc))));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), static_cast<int>(std::min<std::int64_t>(busy_timeout_ms, INT32_MAX)));
  auto conn = std::make_unique<SqliteConnection>(std::move(db));
  if (writer) {
    // journal_mode answers with the mode in effect, which stays "delete" when WAL is
    // impossible (some network filesystems); readers beside a writer need WAL.
    auto mode = conn->query_text(kEnableWal);
    if (!mode) return unavailable("sqlite: cannot set WAL on " + path + ": " + mode.error().internal);
    if (mode.value() != "wal") return unavailable("sqlite: WAL journal not available on " + path);
  }
  if (auto st = conn->exec_control(writer ? kWriterPragmas : kReaderPragmas); !st) {
    return unavailable("sqlite: cannot configure " + path + ": " + st.error().internal);
  }
  return conn;
}

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::unique_ptr<SqliteConnection> writer, std::vector<std::unique_ptr<SqliteConnection>> readers,
                 std::chrono::milliseconds timeout)
      : writer_(std::move(writer)), readers_(std::move(readers)), timeout_(timeout) {
    for (auto& r : readers_) idle_readers_.push_back(r.get());
  }

  Dialect dialect() const override { return Dialect::sqlite; }

  Status run(Access access, const std::function<Status(Connection&)>& fn) override {
    if (access == Access::read) return run_read(fn);
    return run_write(fn, access == Access::write_unsynced);
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
    stats.size = static_cast<int>(readers_.size()) + 1;
    stats.open = stats.size;
    stats.in_use = static_cast<int>(readers_.size() - idle_readers_.size()) + (writer_busy_ ? 1 : 0);
    stats.waiting = waiting_;
    return stats;
  }

 private:
  Status run_read(const std::function<Status(Connection&)>& fn) {
    SqliteConnection* conn = nullptr;
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      const bool got = readers_cv_.wait_for(lock, timeout_, [&] { return !idle_readers_.empty(); });
      --waiting_;
      if (!got) return unavailable("sqlite: no reader connection free within the timeout");
      conn = idle_readers_.back();
      idle_readers_.pop_back();
    }
    // Hands the reader back however fn leaves (it may throw).
    ScopeExit give_back([this, conn] {
      {
        std::lock_guard lock(mu_);
        idle_readers_.push_back(conn);
      }
      readers_cv_.notify_one();
    });
    return fn(*conn);
  }

  Status run_write(const std::function<Status(Connection&)>& fn, bool unsynced) {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      const bool got = writer_cv_.wait_for(lock, timeout_, [&] { return !writer_busy_; });
      --waiting_;
      if (!got) return unavailable("sqlite: the writer connection was not free within the timeout");
      writer_busy_ = true;
    }

    SqliteConnection& conn = *writer_;
    // Rolls back unless committed, also when fn throws, and frees the writer.
    bool committed = false;
    ScopeExit finish([this, &conn, &committed] {
      conn.end_tracking();
      if (!committed) conn.rollback_if_open();
      {
        std::lock_guard lock(mu_);
        writer_busy_ = false;
      }
      writer_cv_.notify_one();
    });

    // Each write sets the sync level it needs (outside a transaction, where SQLite takes it),
    // so a failure to set it refuses that write instead of leaving the next one unsynced.
    if (unsynced_ != unsynced) {
      if (auto st = conn.exec_control(unsynced ? kUnsynced : kSynced); !st) return st;
      unsynced_ = unsynced;
    }
    if (auto st = conn.exec_control(kBegin); !st) return st;
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

  std::unique_ptr<SqliteConnection> writer_;
  bool unsynced_ = false;  // the writer's synchronous setting is NORMAL; only run_write touches it
  std::vector<std::unique_ptr<SqliteConnection>> readers_;

  // The writer is taken with a flag under mu_ rather than a std::timed_mutex: the wait
  // times out alike, and ThreadSanitizer (GCC 12) cannot follow timed_mutex::try_lock_for.
  mutable std::mutex mu_;
  std::condition_variable writer_cv_;
  bool writer_busy_ = false;
  std::condition_variable readers_cv_;
  std::vector<SqliteConnection*> idle_readers_;
  int waiting_ = 0;

  const std::chrono::milliseconds timeout_;
};

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite(const std::string& path, const DatabaseOptions& options) {
  if (path.empty()) return fail(Code::invalid_argument, "the SQLite database path is empty");
  if (path == ":memory:" || path.rfind("file:", 0) == 0) {
    // Readers must see the writer's data, which needs a real file.
    return fail(Code::invalid_argument, "the SQLite database must be a file path");
  }
  if (options.pool_size < 1) return fail(Code::invalid_argument, "the database pool size must be at least 1");
  if (options.busy_timeout_ms < 0)
    return fail(Code::invalid_argument, "the database busy timeout must not be negative");

  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return unavailable("sqlite: cannot create directory " + parent.string() + ": " + ec.message());
  }

  // The writer first: it creates the file and switches it to WAL, which readers rely on.
  auto writer = open_connection(path, true, options.busy_timeout_ms);
  if (!writer) return writer.error();
  std::vector<std::unique_ptr<SqliteConnection>> readers;
  readers.reserve(static_cast<std::size_t>(options.pool_size));
  for (int i = 0; i < options.pool_size; ++i) {
    auto reader = open_connection(path, false, options.busy_timeout_ms);
    if (!reader) return reader.error();
    readers.push_back(std::move(reader).value());
  }
  return std::unique_ptr<Database>(std::make_unique<SqliteDatabase>(
      std::move(writer).value(), std::move(readers), std::chrono::milliseconds(options.busy_timeout_ms)));
}

}  // namespace chatd::store
