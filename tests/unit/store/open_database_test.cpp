// open_database: URL handling and connection failures, plus the Row accessors.

#include "store/database.hpp"
#include "store/detail.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace chatd::store::testing {
namespace {

TEST(OpenDatabase, RefusesUnknownSchemesWithoutEchoingTheUrl) {
  auto opened = open_database("mysql://root:hunter2@localhost/chatd", DatabaseOptions{});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Code::invalid_argument);
  EXPECT_EQ(opened.error().detail.find("hunter2"), std::string::npos);
  EXPECT_FALSE(open_database("", DatabaseOptions{}));
}

TEST(OpenDatabase, RefusesSqliteWithoutAFile) {
  for (const char* url : {"sqlite:", "sqlite::memory:"}) {
    auto opened = open_database(url, DatabaseOptions{});
    ASSERT_FALSE(opened) << url;
    EXPECT_EQ(opened.error().code, Code::invalid_argument) << url;
  }
}

TEST(OpenDatabase, RefusesAnEmptyPool) {
  TempDir dir;
  DatabaseOptions options;
  options.pool_size = 0;
  auto opened = open_database("sqlite:" + (dir.path() / "x.db").string(), options);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Code::invalid_argument);
  auto pg = open_database("postgresql://chatd@127.0.0.1:1/chatd", options);
  ASSERT_FALSE(pg);
  EXPECT_EQ(pg.error().code, Code::invalid_argument);
}

TEST(OpenDatabase, OpensARelativeSqlitePathAndCreatesItsDirectory) {
  TempDir dir;
  const std::filesystem::path relative =
      std::filesystem::relative(dir.path(), std::filesystem::current_path()) / "a" / "b" / "chatd.db";
  ASSERT_TRUE(relative.is_relative()) << relative;
  auto opened = open_database("sqlite:" + relative.string(), DatabaseOptions{});
  ASSERT_TRUE(opened) << describe(opened.error());
  EXPECT_TRUE(opened.value()->ping());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "a" / "b" / "chatd.db"));

  // The settings every connection was opened with.
  Database& db = *opened.value();
  auto pragma = [&](Access access, const std::string& name) {
    std::string value;
    Status st = db.run(access, [&](Connection& c) -> Status {
      auto rows = c.query("PRAGMA " + name);
      if (!rows) return rows.error();
      value = rows.value().rows.at(0).text(0);
      return ok();
    });
    EXPECT_TRUE(st) << name;
    return value;
  };
  EXPECT_EQ(pragma(Access::read, "journal_mode"), "wal");
  EXPECT_EQ(pragma(Access::read, "busy_timeout"), "5000");
  EXPECT_EQ(pragma(Access::write, "journal_mode"), "wal");
  EXPECT_EQ(pragma(Access::write, "foreign_keys"), "1");
  EXPECT_EQ(pragma(Access::write, "synchronous"), "2") << "FULL: acknowledged commits survive a power loss";
  EXPECT_EQ(pragma(Access::write, "busy_timeout"), "5000");
}

TEST(OpenDatabase, ReportsAnUnopenableSqliteFileAsUnavailable) {
  TempDir dir;
  // A directory where the database file should be.
  std::filesystem::create_directories(dir.path() / "taken.db");
  auto opened = open_database("sqlite:" + (dir.path() / "taken.db").string(), DatabaseOptions{});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Code::unavailable);
}

TEST(OpenDatabase, ReportsAnUnreachablePostgresAsUnavailable) {
  // Port 1 on loopback: refused at once, no network involved.
  auto opened = open_database("postgresql://chatd:hunter2@127.0.0.1:1/chatd", DatabaseOptions{});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Code::unavailable);
  EXPECT_EQ(opened.error().detail.find("hunter2"), std::string::npos);
  EXPECT_EQ(opened.error().internal.find("hunter2"), std::string::npos);
}

TEST(OpenDatabase, RefusesAMalformedPostgresUrl) {
  auto opened = open_database("postgresql://chatd@127.0.0.1/chatd?no_such_option=1", DatabaseOptions{});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Code::invalid_argument);
}

TEST(Row, ReadsTextIntegersAndReals) {
  Row row;
  row.cols = {std::nullopt, "42", "-7", "12.75", "t", "f", "abc", "", "9223372036854775807", "1e300", "0.1"};
  EXPECT_TRUE(row.is_null(0));
  EXPECT_EQ(row.text(0), "");
  EXPECT_EQ(row.integer(0), 0);
  EXPECT_EQ(row.opt_integer(0), std::nullopt);
  EXPECT_EQ(row.real(0), 0.0);
  EXPECT_EQ(row.integer(1), 42);
  EXPECT_EQ(row.opt_integer(1), std::optional<std::int64_t>(42));
  EXPECT_EQ(row.integer(2), -7);
  EXPECT_EQ(row.integer(3), 12) << "a NUMERIC result is truncated";
  EXPECT_EQ(row.real(3), 12.75);
  EXPECT_EQ(row.integer(4), 1) << "PostgreSQL's true";
  EXPECT_EQ(row.integer(5), 0) << "PostgreSQL's false";
  EXPECT_EQ(row.integer(6), 0);
  EXPECT_EQ(row.opt_integer(6), std::optional<std::int64_t>(0));
  EXPECT_EQ(row.real(6), 0.0);
  EXPECT_EQ(row.integer(7), 0);
  EXPECT_EQ(row.integer(8), 9223372036854775807);
  EXPECT_EQ(row.integer(9), 0) << "out of range";
  EXPECT_EQ(row.real(9), 1e300);
  EXPECT_EQ(row.real(10), 0.1);
  EXPECT_THROW((void)row.text(11), std::out_of_range);
}

TEST(StatementCache, EvictsTheLeastRecentlyUsed) {
  detail::StatementCache<int> cache(2);
  int* slot = nullptr;
  EXPECT_EQ(cache.insert("a", 1, &slot), std::nullopt);
  EXPECT_EQ(*slot, 1);
  EXPECT_EQ(cache.insert("b", 2, &slot), std::nullopt);
  ASSERT_NE(cache.find("a"), nullptr);  // now "b" is the oldest
  EXPECT_EQ(cache.insert("c", 3, &slot), std::optional<int>(2));
  EXPECT_EQ(cache.find("b"), nullptr);
  ASSERT_NE(cache.find("a"), nullptr);
  EXPECT_EQ(*cache.find("c"), 3);
  EXPECT_EQ(cache.size(), 2u);
  cache.clear();
  EXPECT_EQ(cache.find("a"), nullptr);
}

TEST(FormatDouble, IsShortestAndExact) {
  EXPECT_EQ(detail::format_double(0.1), "0.1");
  EXPECT_EQ(detail::format_double(2.0), "2");
  EXPECT_EQ(detail::format_double(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(detail::format_double(-1.5e300), "-1.5e+300");
}

}  // namespace
}  // namespace chatd::store::testing
