#pragma once
// A database per test, in both dialects: SQLite in a fresh temporary directory, and
// PostgreSQL when CHATD_TEST_DATABASE_URL names a server (scripts/pg start DIR PORT prints
// one). Each PostgreSQL test gets its own schema, selected through the connection's
// search_path, so tests may run in parallel against one database.

#include "store/database.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::store {
// Names the dialect in test output instead of "4-byte object <...>".
inline void PrintTo(Dialect dialect, std::ostream* os) { *os << (dialect == Dialect::sqlite ? "sqlite" : "postgres"); }
}  // namespace chatd::store

namespace chatd::store::testing {

inline std::string describe(const Error& e) {
  return "code " + std::to_string(static_cast<int>(e.code)) + ": " + e.detail + " [" + e.internal + "]";
}

inline std::string dialect_name(const ::testing::TestParamInfo<Dialect>& info) {
  return info.param == Dialect::sqlite ? "sqlite" : "postgres";
}

// A fresh directory under the system's temporary directory, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class StoreTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Dialect dialect() const { return GetParam(); }
  bool is_postgres() const { return GetParam() == Dialect::postgres; }
  Database& db() { return *db_; }
  const std::string& url() const { return url_; }

  // Another Database on the same data (a second chatd instance).
  std::unique_ptr<Database> open_another(const DatabaseOptions& options = {});
  // Replaces db() with one opened with `options`.
  void reopen(const DatabaseOptions& options);

  // Runs one statement in its own write transaction; fails the test on error.
  void exec(std::string_view sql, std::vector<Value> params = {});
  // Runs one statement on a reader; fails the test on error.
  Rows select(std::string_view sql, std::vector<Value> params = {});
  std::int64_t count(std::string_view table);
  // Every table of the current schema.
  std::vector<std::string> tables();
  // Admin connection to the server (PostgreSQL only; nullptr for SQLite).
  Database* admin() { return admin_.get(); }

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Database> admin_;
  std::string schema_;
  std::string url_;
  std::unique_ptr<Database> db_;
};

// A StoreTest whose database has the whole schema (every embedded migration applied).
class MigratedStoreTest : public StoreTest {
 protected:
  void SetUp() override;
};

}  // namespace chatd::store::testing
