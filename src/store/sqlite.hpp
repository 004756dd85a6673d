#pragma once
// SQLite backend: one writer connection behind a mutex (writes are serialised by SQLite
// anyway, and BEGIN IMMEDIATE takes the lock up front so a transaction never fails
// half-way on a lock upgrade) plus a pool of read-only connections that WAL lets read
// while the writer writes.

#include "store/database.hpp"

#include <memory>
#include <string>

namespace chatd::store {

// Opens `path` (relative to the working directory or absolute), creating the file and its
// parent directory when missing, with WAL, foreign keys, synchronous=FULL (NORMAL for
// Access::write_unsynced) and busy_timeout; options.pool_size reader connections.
// Errors: Code::invalid_argument for an empty path or bad options, Code::unavailable when
// the file cannot be created, opened or configured.
Result<std::unique_ptr<Database>> open_sqlite(const std::string& path, const DatabaseOptions& options);

}  // namespace chatd::store
