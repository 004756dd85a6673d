#pragma once
// Numbered SQL migrations, one folder per dialect (migrations/sqlite, migrations/postgres),
// compiled into the binary. Each is applied inside a transaction and recorded in
// schema_migrations(version, name, applied_at).

#include "core/log.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <string>
#include <vector>

namespace chatd::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

const std::vector<Migration>& embedded_sqlite_migrations();
const std::vector<Migration>& embedded_postgres_migrations();
const std::vector<Migration>& embedded_migrations(Dialect dialect);

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> applied;  // names
};

// The highest applied version (0 for an empty database). Errors as Database::run.
Result<int> schema_version(Database& db);

// Applies every pending migration in order, each in its own transaction. Refuses
// (Code::conflict) when the database holds a version newer than the newest known one,
// so an old binary never runs against a newer schema. Safe when several instances
// start at once (PostgreSQL: advisory lock; SQLite: the write lock). With `log`, each
// applied migration is logged (db.migrated) and a failure too (db.migration_failed).
// Errors: Code::conflict (detail "database schema version N is newer than this chatd
// (knows up to M); upgrade chatd"); a failing migration's own error, after which the
// database is left at the previous version; Code::unavailable when the database is.
Result<MigrationReport> migrate(Database& db, const std::vector<Migration>& migrations, Logger* log = nullptr);

// Checks only: Code::conflict when the database is newer than `migrations`.
Status check_not_newer(Database& db, const std::vector<Migration>& migrations);

}  // namespace chatd::store
