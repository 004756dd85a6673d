#include "store_fixture.hpp"

#include "crypto/random.hpp"
#include "store/migrations.hpp"

#include <cstdlib>
#include <system_error>

namespace chatd::store::testing {

namespace {

constexpr const char* kUrlVariable = "CHATD_TEST_DATABASE_URL";
constexpr const char* kRequireVariable = "CHATD_TEST_REQUIRE_POSTGRES";

// A URL whose sessions see only `schema` (libpq takes server options in the URI query).
std::string with_search_path(const std::string& url, const std::string& schema) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-c%20search_path%3D" + schema;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "chatd-store-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void StoreTest::SetUp() {
  if (is_postgres()) {
    const char* base = std::getenv(kUrlVariable);
    if (base == nullptr || *base == '\0') {
      // scripts/test sets this so that a lost URL fails instead of silently skipping.
      const char* required = std::getenv(kRequireVariable);
      if (required != nullptr && std::string_view(required) == "1") {
        FAIL() << kRequireVariable << "=1 but " << kUrlVariable << " is not set";
      }
      GTEST_SKIP() << kUrlVariable << " is not set, so the PostgreSQL tests do not run; "
                   << "`scripts/pg start DIR PORT` prints a URL for it";
    }
    const std::string base_url = base;
    ASSERT_TRUE(base_url.rfind("postgresql://", 0) == 0 || base_url.rfind("postgres://", 0) == 0)
        << kUrlVariable << " must be a postgresql:// URL";
    DatabaseOptions admin_options;
    admin_options.pool_size = 1;
    auto admin = open_database(base_url, admin_options);
    ASSERT_TRUE(admin) << describe(admin.error());
    admin_ = std::move(admin).value();
    schema_ = "chatd_test_" + crypto::random_hex(8);
    const std::string create = "CREATE SCHEMA " + schema_;
    Status st = admin_->run(Access::write, [&](Connection& c) { return c.exec_script(create); });
    ASSERT_TRUE(st) << describe(st.error());
    url_ = with_search_path(base_url, schema_);
  } else {
    dir_ = std::make_unique<TempDir>();
    // A directory that does not exist yet: opening must create it.
    url_ = "sqlite:" + (dir_->path() / "data" / "chatd.db").string();
  }
  auto opened = open_database(url_, DatabaseOptions{});
  ASSERT_TRUE(opened) << describe(opened.error());
  db_ = std::move(opened).value();
}

void StoreTest::TearDown() {
  db_.reset();
  if (admin_ && !schema_.empty()) {
    const std::string drop = "DROP SCHEMA " + schema_ + " CASCADE";
    Status st = admin_->run(Access::write, [&](Connection& c) { return c.exec_script(drop); });
    EXPECT_TRUE(st) << describe(st.error());
  }
  admin_.reset();
  dir_.reset();
}

std::unique_ptr<Database> StoreTest::open_another(const DatabaseOptions& options) {
  auto opened = open_database(url_, options);
  EXPECT_TRUE(opened) << describe(opened.error());
  return opened ? std::move(opened).value() : nullptr;
}

void StoreTest::reopen(const DatabaseOptions& options) {
  db_.reset();
  db_ = open_another(options);
  ASSERT_NE(db_, nullptr);
}

void StoreTest::exec(std::string_view sql, std::vector<Value> params) {
  auto done = transact(*db_, [&](Connection& c) { return c.query(sql, params); });
  EXPECT_TRUE(done) << std::string(sql) << ": " << describe(done.error());
}

Rows StoreTest::select(std::string_view sql, std::vector<Value> params) {
  auto rows = read(*db_, [&](Connection& c) { return c.query(sql, params); });
  EXPECT_TRUE(rows) << std::string(sql) << ": " << describe(rows.error());
  return rows ? std::move(rows).value() : Rows{};
}

std::int64_t StoreTest::count(std::string_view table) {
  Rows rows = select("SELECT count(*) FROM " + std::string(table));
  return rows.empty() ? -1 : rows.rows.at(0).integer(0);
}

std::vector<std::string> StoreTest::tables() {
  const std::string_view sql =
      is_postgres()
          ? "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1"
          : "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1";
  std::vector<std::string> out;
  for (const Row& row : select(sql).rows) out.push_back(row.text(0));
  return out;
}

void MigratedStoreTest::SetUp() {
  StoreTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  auto report = migrate(db(), embedded_migrations(dialect()));
  ASSERT_TRUE(report) << describe(report.error());
}

}  // namespace chatd::store::testing
