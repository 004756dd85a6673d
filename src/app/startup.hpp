#pragma once
// What every command does first: the data directory, the database opened and migrated.

#include "config/config.hpp"
#include "core/log.hpp"
#include "store/database.hpp"

#include <memory>
#include <optional>
#include <string>

namespace chatd::app {

// A whole file's bytes, or nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

// Creates CHATD_DATA_DIR (owner-only); logs and returns false when it cannot.
bool ensure_data_dir(const config::Config& config, Logger& log);

// Opens the database and applies pending migrations; logs and returns null on failure.
std::unique_ptr<store::Database> open_and_migrate(const config::Config& config, Logger& log);

}  // namespace chatd::app
