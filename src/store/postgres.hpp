#pragma once
// PostgreSQL backend (libpq): a bounded pool of connections, each with its own cache of
// server-side prepared statements. Calls block; they run on worker threads.

#include "store/database.hpp"

#include <memory>
#include <string>

namespace chatd::store {

// Connects to `url` (a postgresql:// URI; libpq parses it, so any libpq parameter may be
// given in its query string). connect_timeout and application_name=chatd are defaults the
// URL may override. One connection is opened at once to prove the URL works; the rest are
// opened on demand up to options.pool_size.
// Errors: Code::invalid_argument for bad options, Code::unavailable when it cannot connect.
Result<std::unique_ptr<Database>> open_postgres(const std::string& url, const DatabaseOptions& options);

}  // namespace chatd::store
