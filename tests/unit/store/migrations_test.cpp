// The migration runner against real SQLite and PostgreSQL.

#include "store/migrations.hpp"

#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace chatd::store::testing {
namespace {

constexpr std::string_view kInsertVersion =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";

class MigrationsTest : public StoreTest {
 protected:
  const std::vector<Migration>& embedded() { return embedded_migrations(dialect()); }
  int version() {
    auto v = schema_version(db());
    EXPECT_TRUE(v) << describe(v.error());
    return v ? v.value() : -1;
  }
  bool has_table(const std::string& name) {
    auto all = tables();
    return std::find(all.begin(), all.end(), name) != all.end();
  }
};

TEST_P(MigrationsTest, MigrateFromEmptyCreatesEveryTable) {
  EXPECT_EQ(version(), 0);
  auto report = migrate(db(), embedded());
  ASSERT_TRUE(report) << describe(report.error());
  EXPECT_EQ(report.value().from_version, 0);
  EXPECT_EQ(report.value().to_version, embedded().back().version);
  ASSERT_EQ(report.value().applied.size(), embedded().size());
  EXPECT_EQ(report.value().applied.front(), "0001_init");

  const std::vector<std::string> expected = {"schema_migrations", "users",          "roles",           "user_roles",
                                             "sessions",          "refresh_tokens", "one_time_tokens", "totp",
                                             "recovery_codes",    "signing_keys",   "invitations",     "api_keys",
                                             "conversations",     "messages",       "usage_events",    "audit_log"};
  const auto all = tables();
  for (const std::string& table : expected) {
    EXPECT_NE(std::find(all.begin(), all.end(), table), all.end()) << "missing table " << table;
  }
  if (!is_postgres()) {
    EXPECT_TRUE(has_table("search_fts"));
    EXPECT_TRUE(has_table("search_docs"));
  }

  Rows roles = select("SELECT name FROM roles ORDER BY name");
  ASSERT_EQ(roles.rows.size(), 2u);
  EXPECT_EQ(roles.rows[0].text(0), "admin");
  EXPECT_EQ(roles.rows[1].text(0), "user");
  EXPECT_EQ(version(), embedded().back().version);
}

TEST_P(MigrationsTest, MigrateTwiceIsANoOp) {
  ASSERT_TRUE(migrate(db(), embedded()));
  const auto tables_before = tables();
  auto again = migrate(db(), embedded());
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_TRUE(again.value().applied.empty());
  EXPECT_EQ(again.value().from_version, embedded().back().version);
  EXPECT_EQ(again.value().to_version, embedded().back().version);
  EXPECT_EQ(count("schema_migrations"), static_cast<std::int64_t>(embedded().size()));
  EXPECT_EQ(tables(), tables_before);
  EXPECT_EQ(count("roles"), 2);
}

TEST_P(MigrationsTest, SchemaVersionFollowsAppliedMigrations) {
  const std::vector<Migration> first = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"}};
  std::vector<Migration> both = first;
  both.push_back({3, "0003_b", "CREATE TABLE b (x INTEGER);"});

  EXPECT_EQ(version(), 0);
  ASSERT_TRUE(migrate(db(), first));
  EXPECT_EQ(version(), 1);
  auto report = migrate(db(), both);
  ASSERT_TRUE(report) << describe(report.error());
  EXPECT_EQ(report.value().from_version, 1);
  EXPECT_EQ(report.value().to_version, 3);
  EXPECT_EQ(report.value().applied, std::vector<std::string>{"0003_b"});
  EXPECT_EQ(version(), 3);
  Rows recorded = select("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_EQ(recorded.rows.size(), 2u);
  EXPECT_EQ(recorded.rows[1].integer(0), 3);
  EXPECT_EQ(recorded.rows[1].text(1), "0003_b");
  EXPECT_GT(recorded.rows[1].integer(2), 1'600'000'000'000);  // epoch milliseconds
}

TEST_P(MigrationsTest, RefusesADatabaseNewerThanThisBinary) {
  ASSERT_TRUE(migrate(db(), embedded()));
  EXPECT_TRUE(check_not_newer(db(), embedded()));
  exec(kInsertVersion, {std::int64_t{9999}, std::string("9999_future"), std::int64_t{0}});

  const std::string expected = "database schema version 9999 is newer than this chatd (knows up to " +
                               std::to_string(embedded().back().version) + "); upgrade chatd";
  Status checked = check_not_newer(db(), embedded());
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, Code::conflict);
  EXPECT_EQ(checked.error().detail, expected);

  auto migrated = migrate(db(), embedded());
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().code, Code::conflict);
  EXPECT_EQ(migrated.error().detail, expected);
  EXPECT_EQ(version(), 9999);
}

TEST_P(MigrationsTest, AFailingMigrationLeavesNoTrace) {
  const std::vector<Migration> broken = {
      {1, "0001_good", "CREATE TABLE good (x INTEGER);"},
      {2, "0002_broken", "CREATE TABLE half (x INTEGER);\nINSERT INTO half VALUES (1);\nTHIS IS NOT SQL;"},
  };
  auto report = migrate(db(), broken);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::internal);
  EXPECT_NE(report.error().internal.find("0002_broken"), std::string::npos) << report.error().internal;
  EXPECT_EQ(version(), 1);
  EXPECT_TRUE(has_table("good"));
  EXPECT_FALSE(has_table("half"));
  EXPECT_EQ(count("schema_migrations"), 1);

  // Fixed, it applies on top of what succeeded.
  std::vector<Migration> fixed = broken;
  fixed[1].sql = "CREATE TABLE half (x INTEGER);\nINSERT INTO half VALUES (1);";
  auto retried = migrate(db(), fixed);
  ASSERT_TRUE(retried) << describe(retried.error());
  EXPECT_EQ(retried.value().applied, std::vector<std::string>{"0002_broken"});
  EXPECT_EQ(version(), 2);
  EXPECT_EQ(count("half"), 1);
}

TEST_P(MigrationsTest, RefusesMigrationsOutOfOrder) {
  const std::vector<Migration> unordered = {{2, "0002_b", "CREATE TABLE b (x INTEGER);"},
                                            {1, "0001_a", "CREATE TABLE a (x INTEGER);"}};
  auto report = migrate(db(), unordered);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::internal);
  EXPECT_EQ(version(), 0);
}

TEST_P(MigrationsTest, ConcurrentInstancesMigrateOnce) {
  constexpr int kInstances = 4;
  std::vector<std::unique_ptr<Database>> instances;
  for (int i = 0; i < kInstances; ++i) {
    DatabaseOptions options;
    options.pool_size = 2;
    options.busy_timeout_ms = 30000;
    instances.push_back(open_another(options));
    ASSERT_NE(instances.back(), nullptr);
  }
  std::atomic<int> failures{0};
  std::atomic<int> applied{0};
  std::vector<std::thread> threads;
  for (auto& instance : instances) {
    threads.emplace_back([&, db = instance.get()] {
      auto report = migrate(*db, embedded());
      if (!report) {
        ADD_FAILURE() << describe(report.error());
        ++failures;
        return;
      }
      applied += static_cast<int>(report.value().applied.size());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), static_cast<int>(embedded().size()));
  EXPECT_EQ(version(), embedded().back().version);
  EXPECT_EQ(count("schema_migrations"), static_cast<std::int64_t>(embedded().size()));
  EXPECT_EQ(count("roles"), 2);
}

TEST_P(MigrationsTest, InvitationPrefixesWrittenBeforeMigrationTwoGainTheirInvPrefix) {
  std::vector<Migration> first(embedded().begin(), embedded().begin() + 1);
  ASSERT_TRUE(migrate(db(), first));
  exec(
      "INSERT INTO users (id, email, username, password_hash, failed_logins, created_at, updated_at) "
      "VALUES ('u', 'u@example.com', 'u', 'h', 0, 1, 1)");
  exec(
      "INSERT INTO invitations (id, code_hash, code_prefix, inviter_id, created_at, expires_at) "
      "VALUES ('old', 'h1', 'AbCdEfGh', 'u', 1, 2)");
  ASSERT_TRUE(migrate(db(), embedded()));
  EXPECT_EQ(select("SELECT code_prefix FROM invitations WHERE id = 'old'").rows[0].text(0), "inv_AbCdEfGh");
  // A prefix already in the new form is left alone, however often the migration runs.
  exec(
      "INSERT INTO invitations (id, code_hash, code_prefix, inviter_id, created_at, expires_at) "
      "VALUES ('new', 'h2', 'inv_12345678', 'u', 1, 2)");
  exec(embedded()[1].sql);
  EXPECT_EQ(select("SELECT code_prefix FROM invitations WHERE id = 'new'").rows[0].text(0), "inv_12345678");
  EXPECT_EQ(select("SELECT code_prefix FROM invitations WHERE id = 'old'").rows[0].text(0), "inv_AbCdEfGh");
}

INSTANTIATE_TEST_SUITE_P(Dialects, MigrationsTest, ::testing::Values(Dialect::sqlite, Dialect::postgres), dialect_name);

TEST(EmbeddedMigrations, AreNumberedAndMatchAcrossDialects) {
  const auto& sqlite = embedded_migrations(Dialect::sqlite);
  const auto& postgres = embedded_migrations(Dialect::postgres);
  ASSERT_FALSE(sqlite.empty());
  ASSERT_EQ(sqlite.size(), postgres.size());
  for (std::size_t i = 0; i < sqlite.size(); ++i) {
    EXPECT_EQ(sqlite[i].version, static_cast<int>(i) + 1);
    EXPECT_EQ(sqlite[i].version, postgres[i].version);
    EXPECT_EQ(sqlite[i].name, postgres[i].name);
    EXPECT_FALSE(sqlite[i].sql.empty());
    EXPECT_FALSE(postgres[i].sql.empty());
  }
  EXPECT_EQ(&embedded_migrations(Dialect::sqlite), &embedded_sqlite_migrations());
  EXPECT_EQ(&embedded_migrations(Dialect::postgres), &embedded_postgres_migrations());
}

}  // namespace
}  // namespace chatd::store::testing
