// Properties of migrations/*/0001_init.sql that repositories rely on, in both dialects.

#include "store/migrations.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>

namespace chatd::store::testing {
namespace {

constexpr std::string_view kInsertUser =
    "INSERT INTO users (id, email, username, password_hash, created_at, updated_at)"
    " VALUES ($1, $2, $3, 'hash', 1, 1)";
constexpr std::string_view kInsertConversation =
    "INSERT INTO conversations (id, user_id, title, model, created_at, updated_at) VALUES ($1, $2, $3, 'demo', 1, 1)";
constexpr std::string_view kInsertMessage =
    "INSERT INTO messages (id, conversation_id, user_id, role, content, created_at)"
    " VALUES ($1, $2, $3, 'user', $4, 2)";

// The search each dialect's migration documents for GET /conversations?q=.
constexpr std::string_view kSqliteSearch =
    "SELECT c.id FROM conversations c WHERE c.user_id = $1 AND c.deleted_at IS NULL AND c.id IN"
    " (SELECT d.conversation_id FROM search_fts JOIN search_docs d ON d.doc_id = search_fts.rowid"
    "  WHERE search_fts MATCH $2) ORDER BY c.id";
constexpr std::string_view kPostgresSearch =
    "SELECT c.id FROM conversations c WHERE c.user_id = $1 AND c.deleted_at IS NULL AND"
    " (to_tsvector('simple', c.title) @@ plainto_tsquery('simple', $2) OR c.id IN"
    "  (SELECT m.conversation_id FROM messages m"
    "   WHERE to_tsvector('simple', m.content) @@ plainto_tsquery('simple', $2))) ORDER BY c.id";

// Foreign keys with no index whose leading columns are exactly the key's, either whole or
// partial on "key IS NOT NULL" (which serves the key's lookups, "key = $1", all the same).
constexpr std::string_view kPostgresUnindexedForeignKeys =
    "SELECT c.conrelid::regclass::text || '.' || c.conname FROM pg_constraint c"
    " WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace AND NOT EXISTS ("
    "  SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND (i.indpred IS NULL OR"
    "   (cardinality(c.conkey) = 1 AND pg_get_expr(i.indpred, i.indrelid) = '(' || (SELECT a.attname FROM"
    "    pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1]) || ' IS NOT NULL)'))"
    "   AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey"
    "   AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] <@ c.conkey)";
constexpr std::string_view kPostgresForeignKeyCount =
    "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace";

class SchemaTest : public MigratedStoreTest {
 protected:
  std::optional<Code> insert_error(std::string_view sql, std::vector<Value> params) {
    auto done = transact(db(), [&](Connection& c) { return c.query(sql, params); });
    if (done) return std::nullopt;
    return done.error().code;
  }
  bool insert_fails(std::string_view sql, std::vector<Value> params) {
    auto done = transact(db(), [&](Connection& c) { return c.query(sql, params); });
    return !done;
  }

  std::vector<std::string> search(const std::string& user, const std::string& word) {
    std::vector<std::string> ids;
    const Rows rows =
        is_postgres() ? select(kPostgresSearch, {user, word}) : select(kSqliteSearch, {user, "\"" + word + "\""});
    for (const Row& row : rows.rows) ids.push_back(row.text(0));
    return ids;
  }

  std::vector<std::string> unindexed_sqlite_foreign_keys(int& total) {
    std::vector<std::string> missing;
    for (const Row& table : select("SELECT name FROM sqlite_master WHERE type = 'table'").rows) {
      const std::string& name = table.text(0);
      // Columns of each foreign key, in key order.
      std::vector<std::vector<std::string>> keys;
      std::int64_t current = -1;
      for (const Row& fk :
           select("SELECT id, \"from\" FROM pragma_foreign_key_list($1) ORDER BY id, seq", {name}).rows) {
        if (fk.integer(0) != current) {
          keys.emplace_back();
          current = fk.integer(0);
        }
        keys.back().push_back(fk.text(1));
      }
      // Each index's columns, and the SQL of a partial one (empty for a whole one).
      std::vector<std::pair<std::vector<std::string>, std::string>> indexes;
      for (const Row& index : select("SELECT l.name, CASE WHEN l.partial THEN m.sql ELSE '' END FROM "
                                     "pragma_index_list($1) l LEFT JOIN sqlite_master m ON m.name = l.name",
                                     {name})
                                  .rows) {
        std::vector<std::string> columns;
        for (const Row& col : select("SELECT name FROM pragma_index_info($1) ORDER BY seqno", {index.text(0)}).rows) {
          columns.push_back(col.text(0));
        }
        indexes.emplace_back(columns, index.text(1));
      }
      for (const auto& key : keys) {
        ++total;
        const std::set<std::string> wanted(key.begin(), key.end());
        const bool served = std::any_of(indexes.begin(), indexes.end(), [&](const auto& index) {
          const auto& [columns, partial] = index;
          const bool usable =
              partial.empty() || (key.size() == 1 && partial.ends_with(" WHERE " + key.front() + " IS NOT NULL"));
          return usable && columns.size() >= key.size() &&
                 std::set<std::string>(columns.begin(), columns.begin() + static_cast<long>(key.size())) == wanted;
        });
        if (!served) missing.push_back(name + "(" + key.front() + ")");
      }
    }
    return missing;
  }
};

TEST_P(SchemaTest, EveryForeignKeyIsIndexed) {
  if (is_postgres()) {
    EXPECT_GE(select(kPostgresForeignKeyCount).rows.at(0).integer(0), 15);
    for (const Row& row : select(kPostgresUnindexedForeignKeys).rows) ADD_FAILURE() << "unindexed: " << row.text(0);
  } else {
    int total = 0;
    for (const std::string& key : unindexed_sqlite_foreign_keys(total)) ADD_FAILURE() << "unindexed: " << key;
    EXPECT_GE(total, 15);
  }
}

// The partial indexes of usage_events' optional keys serve the lookups their foreign keys
// make when an API key or a conversation is deleted (ON DELETE SET NULL).
TEST_P(SchemaTest, TheForeignKeysLookupsUseThePartialUsageIndexes) {
  for (const auto& [column, index] : {std::pair<std::string, std::string>{"api_key_id", "usage_events_api_key_idx"},
                                      {"conversation_id", "usage_events_conversation_idx"}}) {
    const std::string lookup = "UPDATE usage_events SET " + column + " = NULL WHERE " + column + " = $1";
    std::string plan;
    auto explained = transact(db(), [&](Connection& c) -> Status {
      // An empty table: PostgreSQL would rather scan it, so ask whether the index can serve.
      if (is_postgres())
        if (auto off = c.query("SET LOCAL enable_seqscan = off", {}); !off) return off.error();
      auto rows = c.query((is_postgres() ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + lookup, {std::string("x")});
      if (!rows) return rows.error();
      for (const Row& row : rows.value().rows)
        for (const auto& col : row.cols) plan += col.value_or("") + "\n";
      return ok();
    });
    ASSERT_TRUE(explained) << explained.error().internal;
    EXPECT_NE(plan.find(index), std::string::npos) << lookup << "\n" << plan;
  }
}

TEST_P(SchemaTest, EmailsAndUsernamesAreUnique) {
  exec(kInsertUser, {std::string("u1"), std::string("ada@example.com"), std::string("Ada")});
  EXPECT_EQ(insert_error(kInsertUser, {std::string("u2"), std::string("ada@example.com"), std::string("other")}),
            Code::conflict);
  EXPECT_EQ(insert_error(kInsertUser, {std::string("u3"), std::string("x@example.com"), std::string("ADA")}),
            Code::conflict)
      << "usernames are unique regardless of case";
  exec(kInsertUser, {std::string("u4"), std::string("bob@example.com"), std::string("bob")});
  Rows found = select("SELECT id FROM users WHERE lower(username) = lower($1)", {std::string("aDa")});
  ASSERT_EQ(found.rows.size(), 1u);
  EXPECT_EQ(found.rows[0].text(0), "u1");
}

TEST_P(SchemaTest, ChecksRejectUnknownEnumValues) {
  exec(kInsertUser, {std::string("u1"), std::string("a@example.com"), std::string("ada")});
  EXPECT_TRUE(insert_fails(
      "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_at, expires_at) VALUES ('h', $1, 'u1', 1, 2)",
      {std::string("login")}));
  exec(kInsertConversation, {std::string("c1"), std::string("u1"), std::string("t")});
  EXPECT_TRUE(
      insert_fails("INSERT INTO messages (id, conversation_id, user_id, role, content, created_at) VALUES ('m1', 'c1', "
                   "'u1', $1, 'x', 1)",
                   {std::string("robot")}));
  EXPECT_EQ(count("one_time_tokens"), 0);
  EXPECT_EQ(count("messages"), 0);
}

TEST_P(SchemaTest, DeletingAUserDeletesWhatBelongsToItButNotTheAuditTrail) {
  exec(kInsertUser, {std::string("u1"), std::string("a@example.com"), std::string("ada")});
  exec(kInsertUser, {std::string("u2"), std::string("b@example.com"), std::string("bob")});
  exec("INSERT INTO user_roles (user_id, role) VALUES ('u1', 'admin')");
  exec("INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) VALUES ('s1', 'u1', 1, 1, 9)");
  exec("INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ('r1', 's1', 1, 9)");
  exec("INSERT INTO totp (user_id, secret_encrypted, created_at) VALUES ('u1', 'x', 1)");
  exec("INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at) VALUES ('k1', 'u1', 'n', 'p', 'h', 1)");
  exec(
      "INSERT INTO invitations (id, code_hash, code_prefix, inviter_id, created_at, expires_at, invitee_id)"
      " VALUES ('i1', 'h', 'p', 'u2', 1, 9, 'u1')");
  exec(kInsertConversation, {std::string("c1"), std::string("u1"), std::string("t")});
  exec(kInsertMessage, {std::string("m1"), std::string("c1"), std::string("u1"), std::string("hello")});
  exec(
      "INSERT INTO usage_events (id, user_id, api_key_id, conversation_id, provider, model, status, created_at)"
      " VALUES ('e1', 'u1', 'k1', 'c1', 'demo', 'demo', 'ok', 1)");
  exec("INSERT INTO audit_log (id, at, event, user_id) VALUES ('a1', 1, 'user.registered', 'u1')");

  exec("DELETE FROM users WHERE id = $1", {std::string("u1")});
  for (const char* table :
       {"user_roles", "sessions", "refresh_tokens", "totp", "api_keys", "conversations", "messages", "usage_events"}) {
    EXPECT_EQ(count(table), 0) << table;
  }
  EXPECT_EQ(count("invitations"), 1);
  EXPECT_TRUE(select("SELECT invitee_id FROM invitations").rows.at(0).is_null(0));
  EXPECT_EQ(count("audit_log"), 1);
  EXPECT_EQ(count("users"), 1);
}

TEST_P(SchemaTest, FullTextSearchFindsTitlesAndMessageText) {
  exec(kInsertUser, {std::string("u1"), std::string("a@example.com"), std::string("ada")});
  exec(kInsertUser, {std::string("u2"), std::string("b@example.com"), std::string("bob")});
  exec(kInsertConversation, {std::string("c1"), std::string("u1"), std::string("Holiday plans")});
  exec(kInsertConversation, {std::string("c2"), std::string("u1"), std::string("Work")});
  exec(kInsertConversation, {std::string("c3"), std::string("u2"), std::string("Holiday too")});
  exec(kInsertMessage, {std::string("m1"), std::string("c2"), std::string("u1"),
                        std::string("Tell me about Quantum physics, please.")});

  using Ids = std::vector<std::string>;
  EXPECT_EQ(search("u1", "holiday"), Ids{"c1"});
  EXPECT_EQ(search("u1", "quantum"), Ids{"c2"});
  EXPECT_EQ(search("u1", "nothing"), Ids{});
  EXPECT_EQ(search("u2", "holiday"), Ids{"c3"});

  // Changes are searchable at once.
  exec("UPDATE conversations SET title = 'Travel' WHERE id = 'c1'");
  EXPECT_EQ(search("u1", "holiday"), Ids{});
  EXPECT_EQ(search("u1", "travel"), Ids{"c1"});
  exec("UPDATE messages SET content = 'chemistry instead' WHERE id = 'm1'");
  EXPECT_EQ(search("u1", "quantum"), Ids{});
  EXPECT_EQ(search("u1", "chemistry"), Ids{"c2"});
  exec("UPDATE conversations SET deleted_at = 5 WHERE id = 'c2'");
  EXPECT_EQ(search("u1", "chemistry"), Ids{});
  exec("DELETE FROM conversations WHERE id = 'c2'");
  if (!is_postgres()) {
    // The search index forgets deleted rows (the title's document and the message's).
    EXPECT_EQ(count("search_docs"), 2);
    EXPECT_EQ(select("SELECT count(*) FROM search_fts WHERE search_fts MATCH 'chemistry'").rows.at(0).integer(0), 0);
  }
}

TEST_P(SchemaTest, UsageSumsReadTheSameInBothDialects) {
  exec(kInsertUser, {std::string("u1"), std::string("a@example.com"), std::string("ada")});
  const std::string insert =
      "INSERT INTO usage_events (id, user_id, provider, model, prompt_tokens, completion_tokens, cost_usd, status,"
      " created_at) VALUES ($1, 'u1', 'demo', 'demo', $2, $3, $4, 'ok', $5)";
  exec(insert, {std::string("e1"), std::int64_t{100}, std::int64_t{20}, 0.00125, std::int64_t{1000}});
  exec(insert, {std::string("e2"), std::int64_t{5000000000}, std::int64_t{30}, 0.5, std::int64_t{2000}});
  Rows sums = select(
      "SELECT count(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd) FROM usage_events"
      " WHERE user_id = $1 AND created_at >= $2",
      {std::string("u1"), std::int64_t{0}});
  const Row& row = sums.rows.at(0);
  EXPECT_EQ(row.integer(0), 2);
  EXPECT_EQ(row.integer(1), 5000000100);
  EXPECT_EQ(row.integer(2), 50);
  EXPECT_DOUBLE_EQ(row.real(3), 0.50125);
}

INSTANTIATE_TEST_SUITE_P(Dialects, SchemaTest, ::testing::Values(Dialect::sqlite, Dialect::postgres), dialect_name);

}  // namespace
}  // namespace chatd::store::testing
