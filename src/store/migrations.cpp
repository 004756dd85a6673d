#include "store/migrations.hpp"

#include "core/time.hpp"

#include <string_view>

namespace chatd::store {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";
constexpr std::string_view kSqliteTableExists =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
// to_regclass follows search_path, as the unqualified names in the migrations do.
constexpr std::string_view kPostgresTableExists =
    "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE 1 END";
constexpr std::string_view kMaxVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kHasVersion = "SELECT count(*) FROM schema_migrations WHERE version = $1";
constexpr std::string_view kRecord = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";
// Held until the transaction ends; every chatd instance uses the same key, so migrations
// from instances starting together run one after the other. ("chatdmig" in ASCII.)
constexpr std::string_view kAdvisoryLock = "SELECT pg_advisory_xact_lock($1)";
constexpr std::int64_t kAdvisoryLockKey = 0x63686174646d6967;

int newest(const std::vector<Migration>& migrations) { return migrations.empty() ? 0 : migrations.back().version; }

Error too_new(int version, int known) {
  return fail(Code::conflict, "database schema version " + std::to_string(version) +
                                  " is newer than this chatd (knows up to " + std::to_string(known) +
                                  "); upgrade chatd");
}

Status check_order(const std::vector<Migration>& migrations) {
  int previous = 0;
  for (const Migration& m : migrations) {
    if (m.version <= previous) {
      return internal_error("migrations: versions must be positive and increasing; " + m.name + " is out of order");
    }
    previous = m.version;
  }
  return ok();
}

// Inside a write transaction: serialises migrating instances. SQLite's BEGIN IMMEDIATE
// already holds the database's only write lock.
Status lock_for_migration(Connection& c, Dialect dialect) {
  if (dialect != Dialect::postgres) return ok();
  auto locked = c.query(kAdvisoryLock, {kAdvisoryLockKey});
  if (!locked) return locked.error();
  return ok();
}

Result<int> max_version(Connection& c) {
  auto rows = c.query(kMaxVersion);
  if (!rows) return rows.error();
  return static_cast<int>(rows.value().rows.at(0).integer(0));
}

Status ensure_table(Database& db) {
  const Dialect dialect = db.dialect();
  return db.run(Access::write, [&](Connection& c) -> Status {
    // Under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide in
    // PostgreSQL's catalog.
    if (auto st = lock_for_migration(c, dialect); !st) return st;
    auto created = c.query(kCreateTable);
    if (!created) return created.error();
    return ok();
  });
}

}  // namespace

const std::vector<Migration>& embedded_migrations(Dialect dialect) {
  return dialect == Dialect::sqlite ? embedded_sqlite_migrations() : embedded_postgres_migrations();
}

Result<int> schema_version(Database& db) {
  const std::string_view exists = db.dialect() == Dialect::sqlite ? kSqliteTableExists : kPostgresTableExists;
  return read(db, [&](Connection& c) -> Result<int> {
    auto rows = c.query(exists);
    if (!rows) return rows.error();
    if (rows.value().rows.at(0).integer(0) == 0) return 0;
    return max_version(c);
  });
}

Status check_not_newer(Database& db, const std::vector<Migration>& migrations) {
  auto version = schema_version(db);
  if (!version) return version.error();
  if (version.value() > newest(migrations)) return too_new(version.value(), newest(migrations));
  return ok();
}

Result<MigrationReport> migrate(Database& db, const std::vector<Migration>& migrations, Logger* log) {
  if (auto st = check_order(migrations); !st) return st.error();
  const int known = newest(migrations);

  MigrationReport report;
  auto from = schema_version(db);
  if (!from) return from.error();
  report.from_version = from.value();
  report.to_version = from.value();
  if (from.value() > known) return too_new(from.value(), known);
  if (from.value() == known) return report;

  if (auto st = ensure_table(db); !st) return st.error();
  const Dialect dialect = db.dialect();
  for (const Migration& m : migrations) {
    if (m.version <= from.value()) continue;
    const std::int64_t started = system_now_ms();
    bool applied = false;
    Status st = db.run(Access::write, [&](Connection& c) -> Status {
      if (auto locked = lock_for_migration(c, dialect); !locked) return locked;
      // Another instance may have migrated while this one waited for the lock.
      auto current = max_version(c);
      if (!current) return current.error();
      if (current.value() > known) return too_new(current.value(), known);
      auto present = c.query(kHasVersion, {std::int64_t{m.version}});
      if (!present) return present.error();
      if (present.value().rows.at(0).integer(0) > 0) return ok();

      if (auto ran = c.exec_script(m.sql); !ran) {
        Error e = ran.error();
        e.internal = "migration " + m.name + " failed: " + e.internal;
        return e;
      }
      auto recorded = c.query(kRecord, {std::int64_t{m.version}, m.name, system_now_ms()});
      if (!recorded) return recorded.error();
      applied = true;
      return ok();
    });
    if (!st) {
      if (log)
        log->error("db.migration_failed")
            .num("version", m.version)
            .str("name", m.name)
            .str("error", st.error().internal);
      return st.error();
    }
    if (applied) {
      report.applied.push_back(m.name);
      if (log)
        log->info("db.migrated").num("version", m.version).str("name", m.name).num("ms", system_now_ms() - started);
    }
    report.to_version = m.version;
  }
  return report;
}

}  // namespace chatd::store
