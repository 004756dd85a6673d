// The Database seam against real SQLite and PostgreSQL: binding, errors, transactions,
// pooling and concurrency.

#include "store/database.hpp"

#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <limits>
#include <stdexcept>
#include <thread>

namespace chatd::store::testing {
namespace {

using namespace std::chrono_literals;

// Column types spelled the same in both dialects.
constexpr std::string_view kCreateItems =
    "CREATE TABLE items (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, n TEXT)";
constexpr std::string_view kInsertItem = "INSERT INTO items (id, i, d, s, n) VALUES ($1, $2, $3, $4, $5)";
constexpr std::string_view kCreateParents =
    "CREATE TABLE parents (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL UNIQUE)";
constexpr std::string_view kCreateChildren =
    "CREATE TABLE children (id TEXT PRIMARY KEY NOT NULL,"
    " parent_id TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE)";
constexpr std::string_view kInsertParent = "INSERT INTO parents (id, name) VALUES ($1, $2)";
constexpr std::string_view kInsertChild = "INSERT INTO children (id, parent_id) VALUES ($1, $2)";

class DatabaseTest : public StoreTest {
 protected:
  void create_parents() {
    exec(kCreateParents);
    exec(kCreateChildren);
  }
};

TEST_P(DatabaseTest, ReportsItsDialectAndPings) {
  EXPECT_EQ(db().dialect(), dialect());
  EXPECT_TRUE(db().ping());
}

TEST_P(DatabaseTest, BindsEveryValueType) {
  exec(kCreateItems);
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const std::int64_t small = std::numeric_limits<std::int64_t>::min();
  const std::string text = "it's \"quoted\", $1 ; -- not SQL, Zürich, 日本, \xF0\x9F\x99\x82";
  exec(kInsertItem, {std::int64_t{1}, big, 0.1, text, nullptr});
  exec(kInsertItem, {std::int64_t{2}, small, 0.1 + 0.2, std::string(), nullptr});
  exec(kInsertItem, {std::int64_t{3}, std::int64_t{0}, -2.5e300, std::string("x"), std::string("not null")});

  Rows rows = select("SELECT id, i, d, s, n FROM items ORDER BY id");
  ASSERT_EQ(rows.rows.size(), 3u);
  const Row& a = rows.rows[0];
  EXPECT_EQ(a.integer(0), 1);
  EXPECT_EQ(a.integer(1), big);
  EXPECT_EQ(a.text(1), "9223372036854775807");
  EXPECT_EQ(a.text(2), "0.1");
  EXPECT_DOUBLE_EQ(a.real(2), 0.1);
  EXPECT_EQ(a.text(3), text);
  EXPECT_TRUE(a.is_null(4));
  EXPECT_EQ(a.opt_text(4), std::nullopt);
  EXPECT_EQ(a.text(4), "");
  EXPECT_EQ(a.opt_integer(4), std::nullopt);

  const Row& b = rows.rows[1];
  EXPECT_EQ(b.integer(1), small);
  // Doubles read back exactly, in the same shortest form in both dialects.
  EXPECT_EQ(b.text(2), "0.30000000000000004");
  EXPECT_EQ(b.real(2), 0.1 + 0.2);
  EXPECT_FALSE(b.is_null(3));
  EXPECT_EQ(b.text(3), "");

  const Row& c = rows.rows[2];
  EXPECT_EQ(c.real(2), -2.5e300);
  EXPECT_EQ(c.opt_text(4), std::optional<std::string>("not null"));

  // Parameters in WHERE, and one parameter used twice.
  Rows found =
      select("SELECT id FROM items WHERE s = $1 OR s = $1 || 'y' OR i = $2 ORDER BY id", {std::string("x"), big});
  ASSERT_EQ(found.rows.size(), 2u);
  EXPECT_EQ(found.rows[0].integer(0), 1);
  EXPECT_EQ(found.rows[1].integer(0), 3);
  Rows nulls = select("SELECT count(*) FROM items WHERE n IS NULL AND d < $1", {1.0});
  EXPECT_EQ(nulls.rows.at(0).integer(0), 2);
}

TEST_P(DatabaseTest, AffectedCountsChangedRowsOnly) {
  exec(kCreateItems);
  auto affected = [&](std::string_view sql, std::vector<Value> params = {}) -> std::int64_t {
    auto rows = transact(db(), [&](Connection& c) { return c.query(sql, params); });
    EXPECT_TRUE(rows) << describe(rows.error());
    return rows ? rows.value().affected : -1;
  };
  EXPECT_EQ(affected(kInsertItem, {std::int64_t{1}, std::int64_t{1}, 1.0, std::string("a"), nullptr}), 1);
  EXPECT_EQ(affected(kInsertItem, {std::int64_t{2}, std::int64_t{2}, 2.0, std::string("b"), nullptr}), 1);
  EXPECT_EQ(affected("UPDATE items SET s = 'c'"), 2);
  EXPECT_EQ(affected("SELECT * FROM items"), 0);
  EXPECT_EQ(affected("CREATE TABLE other (x INTEGER)"), 0);
  EXPECT_EQ(affected("DELETE FROM items WHERE id = $1", {std::int64_t{99}}), 0);
  auto returned = transact(
      db(), [&](Connection& c) { return c.query("DELETE FROM items WHERE id = $1 RETURNING s", {std::int64_t{1}}); });
  ASSERT_TRUE(returned) << describe(returned.error());
  EXPECT_EQ(returned.value().affected, 1);
  ASSERT_EQ(returned.value().rows.size(), 1u);
  EXPECT_EQ(returned.value().rows[0].text(0), "c");
}

TEST_P(DatabaseTest, MismatchedParametersAreRefusedBeforeRunning) {
  exec(kCreateItems);
  auto run = [&](std::string_view sql, std::vector<Value> params) {
    return read(db(), [&](Connection& c) { return c.query(sql, params); });
  };
  auto too_many = run("SELECT count(*) FROM items WHERE id = $1", {std::int64_t{1}, std::int64_t{2}});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, Code::internal);
  auto too_few = run("SELECT count(*) FROM items WHERE id = $1 AND i = $2", {std::int64_t{1}});
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().code, Code::internal);
  auto gap = run("SELECT count(*) FROM items WHERE i = $2", {std::int64_t{1}, std::int64_t{2}});
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, Code::internal);
}

TEST_P(DatabaseTest, QueryTakesOneStatementAndScriptsTakeMany) {
  auto two =
      transact(db(), [](Connection& c) { return c.query("CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)"); });
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code, Code::internal);

  Status script = db().run(Access::write, [](Connection& c) {
    return c.exec_script("CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);");
  });
  ASSERT_TRUE(script) << describe(script.error());
  EXPECT_EQ(count("a"), 2);
}

TEST_P(DatabaseTest, TextWithNulIsRefused) {
  exec(kCreateItems);
  auto inserted = transact(db(), [](Connection& c) {
    return c.query(kInsertItem, {std::int64_t{1}, nullptr, nullptr, std::string("a\0b", 3), nullptr});
  });
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code, Code::invalid_argument);
  EXPECT_EQ(count("items"), 0);
}

TEST_P(DatabaseTest, UniqueViolationIsConflict) {
  create_parents();
  exec(kInsertParent, {std::string("p1"), std::string("alice")});
  auto same_key = transact(db(), [](Connection& c) {
    return c.query(kInsertParent, {std::string("p1"), std::string("bob")});
  });
  ASSERT_FALSE(same_key);
  EXPECT_EQ(same_key.error().code, Code::conflict);
  auto same_name = transact(db(), [](Connection& c) {
    return c.query(kInsertParent, {std::string("p2"), std::string("alice")});
  });
  ASSERT_FALSE(same_name);
  EXPECT_EQ(same_name.error().code, Code::conflict);
  // The cause is for the log, never for the client.
  EXPECT_FALSE(same_name.error().internal.empty());
  EXPECT_EQ(same_name.error().detail.find("parents"), std::string::npos);
  EXPECT_EQ(count("parents"), 1);
}

TEST_P(DatabaseTest, ForeignKeyViolationIsConflict) {
  create_parents();
  auto orphan = transact(db(), [](Connection& c) {
    return c.query(kInsertChild, {std::string("c1"), std::string("nobody")});
  });
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code, Code::conflict);
  EXPECT_EQ(count("children"), 0);

  exec(kInsertParent, {std::string("p1"), std::string("alice")});
  exec(kInsertChild, {std::string("c1"), std::string("p1")});
  exec("DELETE FROM parents WHERE id = $1", {std::string("p1")});
  EXPECT_EQ(count("children"), 0) << "ON DELETE CASCADE";
}

TEST_P(DatabaseTest, OtherErrorsAreInternalWithTheCauseKeptOutOfTheDetail) {
  auto bad = read(db(), [](Connection& c) { return c.query("SELECT * FROM no_such_table"); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::internal);
  EXPECT_NE(bad.error().internal.find("no_such_table"), std::string::npos) << bad.error().internal;
  EXPECT_EQ(bad.error().detail.find("no_such_table"), std::string::npos);
}

TEST_P(DatabaseTest, WriteCommitsWhenFnSucceeds) {
  create_parents();
  Status st = db().run(Access::write, [](Connection& c) -> Status {
    if (auto r = c.query(kInsertParent, {std::string("p1"), std::string("a")}); !r) return r.error();
    if (auto r = c.query(kInsertChild, {std::string("c1"), std::string("p1")}); !r) return r.error();
    return ok();
  });
  ASSERT_TRUE(st) << describe(st.error());
  EXPECT_EQ(count("parents"), 1);
  EXPECT_EQ(count("children"), 1);
}

TEST_P(DatabaseTest, UnsyncedWritesCommitWithoutSyncAndLeaveOtherWritesSynced) {
  create_parents();
  // The sync level a write transaction runs with, as the database reports it from inside.
  const bool sqlite = GetParam() == Dialect::sqlite;
  auto level = [&](Access access, const std::string& id) {
    std::string value;
    Status st = db().run(access, [&](Connection& c) -> Status {
      if (auto r = c.query(kInsertParent, {id, "name-" + id}); !r) return r.error();
      auto rows = c.query(sqlite ? "PRAGMA synchronous" : "SHOW synchronous_commit");
      if (!rows) return rows.error();
      value = rows.value().rows.at(0).text(0);
      return ok();
    });
    EXPECT_TRUE(st) << describe(st.error());
    return value;
  };
  const std::string synced = sqlite ? "2" : "on";     // FULL / on (scripts/pg keeps the default)
  const std::string unsynced = sqlite ? "1" : "off";  // NORMAL / off
  EXPECT_EQ(level(Access::write, "p1"), synced);
  EXPECT_EQ(level(Access::write_unsynced, "p2"), unsynced);
  EXPECT_EQ(level(Access::write_unsynced, "p3"), unsynced);
  EXPECT_EQ(level(Access::write, "p4"), synced);  // not left behind by the unsynced ones
  EXPECT_EQ(count("parents"), 4);

  // A failed unsynced write rolls back like any other, and the next write is synced.
  Status st = db().run(Access::write_unsynced, [](Connection& c) -> Status {
    if (auto r = c.query(kInsertParent, {std::string("p5"), std::string("a")}); !r) return r.error();
    return Error::validation({{"x", "no"}});
  });
  EXPECT_FALSE(st);
  EXPECT_EQ(count("parents"), 4);
  EXPECT_EQ(level(Access::write, "p6"), synced);
}

TEST_P(DatabaseTest, WriteRollsBackWhenFnFails) {
  create_parents();
  Status st = db().run(Access::write, [](Connection& c) -> Status {
    if (auto r = c.query(kInsertParent, {std::string("p1"), std::string("a")}); !r) return r.error();
    return fail(Code::invalid_argument, "changed my mind");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::invalid_argument);
  EXPECT_EQ(st.error().detail, "changed my mind");
  EXPECT_EQ(count("parents"), 0);
}

TEST_P(DatabaseTest, WriteRollsBackWhenFnThrowsAndStaysUsable) {
  create_parents();
  EXPECT_THROW((void)db().run(Access::write,
                              [](Connection& c) -> Status {
                                (void)c.query(kInsertParent, {std::string("p1"), std::string("a")});
                                throw std::runtime_error("boom");
                              }),
               std::runtime_error);
  EXPECT_EQ(count("parents"), 0);
  exec(kInsertParent, {std::string("p2"), std::string("b")});
  EXPECT_EQ(count("parents"), 1);
}

TEST_P(DatabaseTest, AFailedStatementDoomsItsTransaction) {
  create_parents();
  exec(kInsertParent, {std::string("p1"), std::string("a")});
  // fn swallows the conflict; PostgreSQL could not commit after it, so neither does SQLite.
  Status st = db().run(Access::write, [](Connection& c) -> Status {
    (void)c.query(kInsertParent, {std::string("p2"), std::string("b")});
    auto dup = c.query(kInsertParent, {std::string("p1"), std::string("again")});
    EXPECT_FALSE(dup);
    return ok();
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::conflict);
  EXPECT_EQ(count("parents"), 1);
  exec(kInsertParent, {std::string("p3"), std::string("c")});
  EXPECT_EQ(count("parents"), 2);
}

TEST_P(DatabaseTest, ReadsDoNotWaitForAnOpenWriteTransaction) {
  create_parents();
  std::promise<void> inside;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread writer([&] {
    Status st = db().run(Access::write, [&](Connection& c) -> Status {
      auto r = c.query(kInsertParent, {std::string("p1"), std::string("a")});
      if (!r) return r.error();
      inside.set_value();
      released.wait();
      return ok();
    });
    EXPECT_TRUE(st);
  });
  inside.get_future().wait();
  // The uncommitted row is invisible, and reading does not block.
  EXPECT_EQ(count("parents"), 0);
  release.set_value();
  writer.join();
  EXPECT_EQ(count("parents"), 1);
}

TEST_P(DatabaseTest, ConcurrentReadersWhileWriting) {
  DatabaseOptions options;
  options.pool_size = 4;
  reopen(options);
  exec("CREATE TABLE events (id BIGINT PRIMARY KEY, body TEXT NOT NULL)");

  constexpr int kWrites = 150;
  constexpr int kReaders = 4;
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  std::atomic<int> went_backwards{0};
  std::atomic<int> reads{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      std::int64_t last = 0;
      auto read_once = [&] {
        auto n = read(db(), [](Connection& c) -> Result<std::int64_t> {
          auto rows = c.query("SELECT count(*) FROM events");
          if (!rows) return rows.error();
          return rows.value().rows.at(0).integer(0);
        });
        if (!n) {
          ++errors;
          return;
        }
        if (n.value() < last) ++went_backwards;
        last = n.value();
        ++reads;
      };
      while (!done.load()) read_once();
      read_once();
    });
  }
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      auto st = transact(db(), [&](Connection& c) {
        return c.query("INSERT INTO events (id, body) VALUES ($1, $2)", {std::int64_t{i}, std::string(100, 'x')});
      });
      if (!st) ++errors;
    }
    done = true;
  });
  writer.join();
  for (auto& t : readers) t.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(went_backwards.load(), 0);
  EXPECT_GE(reads.load(), kReaders);
  EXPECT_EQ(count("events"), kWrites);
}

TEST_P(DatabaseTest, AnExhaustedPoolAnswersUnavailableAfterTheTimeout) {
  for (Access access : {Access::read, Access::write}) {
    DatabaseOptions options;
    options.pool_size = 1;
    options.busy_timeout_ms = 150;
    reopen(options);

    std::promise<void> inside;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::thread holder([&] {
      Status st = db().run(access, [&](Connection&) -> Status {
        inside.set_value();
        released.wait();
        return ok();
      });
      EXPECT_TRUE(st);
    });
    inside.get_future().wait();
    Database::PoolStats busy = db().pool_stats();
    EXPECT_GE(busy.in_use, 1);

    const auto started = std::chrono::steady_clock::now();
    Status st = db().run(access, [](Connection&) { return ok(); });
    const auto waited = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Code::unavailable);
    EXPECT_GE(waited, 100ms);

    release.set_value();
    holder.join();
    EXPECT_EQ(db().pool_stats().in_use, 0);
    EXPECT_TRUE(db().run(access, [](Connection&) { return ok(); }));
  }
}

TEST_P(DatabaseTest, StatementCacheStaysBoundedAndCorrect) {
  DatabaseOptions options;
  options.pool_size = 1;
  reopen(options);
  // More distinct statements than the cache holds, on the one connection, then the first
  // ones again (evicted by now, so prepared anew).
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) {
      Rows rows = select("SELECT " + std::to_string(i) + " + $1", {std::int64_t{1}});
      ASSERT_EQ(rows.rows.size(), 1u);
      ASSERT_EQ(rows.rows[0].integer(0), i + 1);
    }
  }
  if (is_postgres()) {
    Rows prepared = select("SELECT count(*) FROM pg_prepared_statements");
    EXPECT_LE(prepared.rows.at(0).integer(0), 257);
  }
}

// Dialect-specific behaviour, instantiated for its dialect only.
class SqliteDatabaseTest : public DatabaseTest {};
class PostgresDatabaseTest : public DatabaseTest {};

TEST_P(SqliteDatabaseTest, ReadersCannotWrite) {
  exec(kCreateItems);
  auto written = read(db(), [](Connection& c) {
    return c.query(kInsertItem, {std::int64_t{1}, nullptr, nullptr, nullptr, nullptr});
  });
  EXPECT_FALSE(written);
  EXPECT_EQ(count("items"), 0);
}

TEST_P(PostgresDatabaseTest, IdentifiesItselfAsChatd) {
  Rows rows = select("SELECT current_setting('application_name')");
  EXPECT_EQ(rows.rows.at(0).text(0), "chatd");
}

TEST_P(PostgresDatabaseTest, ReconnectsAfterTheServerDropsAConnection) {
  DatabaseOptions options;
  options.pool_size = 1;
  reopen(options);
  const std::string pid = select("SELECT pg_backend_pid()").rows.at(0).text(0);

  Status killed = admin()->run(Access::write, [&](Connection& c) -> Status {
    auto r = c.query("SELECT pg_terminate_backend($1)", {std::int64_t{std::stoll(pid)}});
    if (!r) return r.error();
    return ok();
  });
  ASSERT_TRUE(killed) << describe(killed.error());
  // Wait until the backend is really gone (its goodbye is then on the pooled socket).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto alive = read(*admin(), [&](Connection& c) {
      return c.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {std::int64_t{std::stoll(pid)}});
    });
    ASSERT_TRUE(alive) << describe(alive.error());
    if (alive.value().rows.at(0).integer(0) == 0) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "backend " << pid << " did not exit";
    std::this_thread::sleep_for(10ms);
  }

  auto after = read(db(), [](Connection& c) { return c.query("SELECT pg_backend_pid()"); });
  ASSERT_TRUE(after) << describe(after.error());
  EXPECT_NE(after.value().rows.at(0).text(0), pid);
  // Statements are prepared again on the new session.
  EXPECT_EQ(select("SELECT 1 + $1", {std::int64_t{1}}).rows.at(0).integer(0), 2);
}

TEST_P(DatabaseTest, PreparedStatementsFollowSchemaChanges) {
  DatabaseOptions options;
  options.pool_size = 1;
  reopen(options);
  exec("CREATE TABLE shapes (a INTEGER)");
  exec("INSERT INTO shapes (a) VALUES (1)");
  constexpr std::string_view kAll = "SELECT * FROM shapes";
  EXPECT_EQ(select(kAll).rows.at(0).cols.size(), 1u);
  exec("ALTER TABLE shapes ADD COLUMN b INTEGER");
  // PostgreSQL refuses a cached plan whose result changed once, then prepares it anew.
  auto first = read(db(), [&](Connection& c) { return c.query(kAll); });
  if (!first) {
    EXPECT_TRUE(is_postgres()) << describe(first.error());
  }
  auto rows = read(db(), [&](Connection& c) { return c.query(kAll); });
  ASSERT_TRUE(rows) << describe(rows.error());
  EXPECT_EQ(rows.value().rows.at(0).cols.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Dialects, DatabaseTest, ::testing::Values(Dialect::sqlite, Dialect::postgres), dialect_name);
INSTANTIATE_TEST_SUITE_P(Dialects, SqliteDatabaseTest, ::testing::Values(Dialect::sqlite), dialect_name);
INSTANTIATE_TEST_SUITE_P(Dialects, PostgresDatabaseTest, ::testing::Values(Dialect::postgres), dialect_name);

}  // namespace
}  // namespace chatd::store::testing
