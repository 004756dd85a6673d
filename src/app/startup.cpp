#include "app/startup.hpp"

#include "store/migrations.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace chatd::app {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

store::DatabaseOptions database_options(const config::Config& config) {
  store::DatabaseOptions options;
  options.pool_size = config.db_pool_size;
  return options;
}

}  // namespace

bool ensure_data_dir(const config::Config& config, Logger& log) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    log.error("startup.data_dir").str("path", config.data_dir).str("error", ec.message());
    return false;
  }
  std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  return true;
}

std::unique_ptr<store::Database> open_and_migrate(const config::Config& config, Logger& log) {
  auto db = store::open_database(config.database_url, database_options(config));
  if (!db) {
    log.error("startup.database").str("error", db.error().detail).str("cause", db.error().internal);
    return nullptr;
  }
  auto& database = *db.value();
  auto report = store::migrate(database, store::embedded_migrations(database.dialect()));
  if (!report) {
    log.error("startup.migrate").str("error", report.error().detail).str("cause", report.error().internal);
    return nullptr;
  }
  auto line = log.info("database.migrated");
  line.num("from_version", report.value().from_version).num("to_version", report.value().to_version);
  line.num("applied", static_cast<std::int64_t>(report.value().applied.size()));
  return std::move(db).value();
}

}  // namespace chatd::app
