// The chat repository against a real database, in both dialects (PostgreSQL when
// CHATD_TEST_DATABASE_URL is set): conversations, search, messages and usage.

#include "chat/store.hpp"

#include "../store/store_fixture.hpp"
#include "auth/store.hpp"
#include "core/ids.hpp"
#include "store/migrations.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <set>
#include <span>
#include <string_view>
#include <thread>
#include <tuple>

namespace chatd::chat {
namespace {

using store::Dialect;
using store::testing::describe;
using Ids = std::vector<std::string>;

constexpr std::int64_t kT0 = 1'800'000'000'000;  // any fixed instant will do

class ChatStoreTest : public store::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    add_user("alice");
    add_user("bob");
  }

  // Runs `fn` in a write transaction and returns its value; fails the test on error, so
  // callers that need nothing more may discard the value.
  template <class F>
  auto write(F fn) {
    auto out = store::transact(db(), fn);
    EXPECT_TRUE(out) << describe(out.error());
    return out;
  }
  template <class F>
  auto read(F fn) {
    auto out = store::read(db(), fn);
    EXPECT_TRUE(out) << describe(out.error());
    return out;
  }

  void add_user(const std::string& id) {
    auth::User u;
    u.id = id;
    u.email = id + "@example.com";
    u.username = id;
    u.password_hash = "hash";
    u.created_at = kT0;
    u.updated_at = kT0;
    (void)write([&](store::Connection& c) { return auth::db::insert_user(c, u); });
  }

  std::string add_conversation(const std::string& user, const std::string& title, std::int64_t at = kT0) {
    Conversation v;
    v.id = new_uuid_v7(at);
    v.user_id = user;
    v.title = title;
    v.model = "demo";
    v.created_at = at;
    v.updated_at = at;
    (void)write([&](store::Connection& c) { return db::insert_conversation(c, v); });
    return v.id;
  }

  std::int64_t add_message(const std::string& user, const std::string& conversation, const std::string& content,
                           std::int64_t at, const std::string& status = "complete", std::string* id_out = nullptr) {
    Message m;
    m.id = new_uuid_v7(at);
    m.conversation_id = conversation;
    m.user_id = user;
    m.role = status == "pending" ? "assistant" : "user";
    m.content = content;
    m.status = status;
    m.created_at = at;
    if (id_out != nullptr) *id_out = m.id;
    auto stored = write([&](store::Connection& c) { return db::insert_message(c, m); });
    return stored ? stored.value() : -1;
  }

  std::optional<Conversation> find(const std::string& user, const std::string& id) {
    auto found = read([&](store::Connection& c) { return db::find_conversation(c, user, id); });
    return found ? found.value() : std::nullopt;
  }

  std::vector<Conversation> list(const std::string& user, const std::string& q = "",
                                 const std::optional<db::Cursor>& after = std::nullopt, int limit = 100) {
    auto page = read([&](store::Connection& c) { return db::list_conversations(c, dialect(), user, q, after, limit); });
    return page ? page.value() : std::vector<Conversation>{};
  }

  Ids search(const std::string& user, const std::string& q) {
    Ids ids;
    for (const auto& v : list(user, q)) ids.push_back(v.id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // Every page of `q` with page size `limit`, in order.
  Ids all_pages(const std::string& user, const std::string& q, int limit) {
    Ids ids;
    std::optional<db::Cursor> after;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = list(user, q, after, limit);
      EXPECT_LE(page.size(), static_cast<std::size_t>(limit));
      for (const auto& v : page) ids.push_back(v.id);
      if (page.size() < static_cast<std::size_t>(limit)) break;
      after = db::Cursor{page.back().updated_at, page.back().id};
    }
    return ids;
  }

  std::vector<Message> messages(const std::string& user, const std::string& conversation,
                                const std::optional<db::Cursor>& after = std::nullopt, int limit = 100,
                                MessageOrder order = MessageOrder::oldest_first) {
    auto page =
        read([&](store::Connection& c) { return db::list_messages(c, user, conversation, after, limit, order); });
    return page ? page.value() : std::vector<Message>{};
  }

  std::vector<Message> recent(const std::string& conversation, int max_count) {
    auto out = read([&](store::Connection& c) { return db::recent_messages(c, conversation, max_count); });
    return out ? out.value() : std::vector<Message>{};
  }
};

Ids contents(const std::vector<Message>& list) {
  Ids out;
  for (const auto& m : list) out.push_back(m.content);
  return out;
}

// --- conversations ---

TEST_P(ChatStoreTest, ConversationLifecycle) {
  Conversation v;
  v.id = new_uuid_v7(kT0);
  v.user_id = "alice";
  v.title = "First";
  v.model = "demo";
  v.system_prompt = "Be brief.";
  v.created_at = kT0;
  v.updated_at = kT0;
  v.message_count = 7;  // ignored: a new conversation has no messages
  ASSERT_TRUE(write([&](store::Connection& c) { return db::insert_conversation(c, v); }));
  // The same id again is a conflict.
  auto again = store::transact(db(), [&](store::Connection& c) { return db::insert_conversation(c, v); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::conflict);

  auto got = find("alice", v.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, v.id);
  EXPECT_EQ(got->user_id, "alice");
  EXPECT_EQ(got->title, "First");
  EXPECT_EQ(got->model, "demo");
  EXPECT_EQ(got->system_prompt, std::optional<std::string>("Be brief."));
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_EQ(got->updated_at, kT0);
  EXPECT_EQ(got->message_count, 0);

  // Only the title: model and system prompt stay.
  auto updated = write([&](store::Connection& c) {
    return db::update_conversation(c, "alice", v.id, std::string("Renamed"), std::nullopt, std::nullopt, kT0 + 5);
  });
  ASSERT_TRUE(updated && updated.value());
  EXPECT_EQ(updated.value()->title, "Renamed");
  EXPECT_EQ(updated.value()->model, "demo");
  EXPECT_EQ(updated.value()->system_prompt, std::optional<std::string>("Be brief."));
  EXPECT_EQ(updated.value()->updated_at, kT0 + 5);
  EXPECT_EQ(updated.value()->created_at, kT0);

  // Model and a new prompt.
  updated = write([&](store::Connection& c) {
    return db::update_conversation(c, "alice", v.id, std::nullopt, std::string("other"),
                                   std::optional<std::optional<std::string>>(std::string("Be verbose.")), kT0 + 6);
  });
  ASSERT_TRUE(updated && updated.value());
  EXPECT_EQ(updated.value()->title, "Renamed");
  EXPECT_EQ(updated.value()->model, "other");
  EXPECT_EQ(updated.value()->system_prompt, std::optional<std::string>("Be verbose."));

  // Clearing the prompt stores NULL.
  updated = write([&](store::Connection& c) {
    return db::update_conversation(c, "alice", v.id, std::nullopt, std::nullopt,
                                   std::optional<std::optional<std::string>>(std::optional<std::string>()), kT0 + 7);
  });
  ASSERT_TRUE(updated && updated.value());
  EXPECT_EQ(updated.value()->system_prompt, std::nullopt);
  got = find("alice", v.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->system_prompt, std::nullopt);
  EXPECT_EQ(got->title, "Renamed");
  EXPECT_EQ(got->updated_at, kT0 + 7);
  EXPECT_EQ(select("SELECT count(*) FROM conversations WHERE system_prompt IS NULL").rows.at(0).integer(0), 1);

  // Deleting hides it from get, list, update and messages; a second delete finds nothing.
  const std::string other = add_conversation("alice", "Second");
  auto deleted = write([&](store::Connection& c) { return db::soft_delete_conversation(c, "alice", v.id, kT0 + 8); });
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(deleted.value());
  EXPECT_FALSE(find("alice", v.id));
  auto listed = list("alice");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, other);
  deleted = write([&](store::Connection& c) { return db::soft_delete_conversation(c, "alice", v.id, kT0 + 9); });
  ASSERT_TRUE(deleted);
  EXPECT_FALSE(deleted.value());
  updated = write([&](store::Connection& c) {
    return db::update_conversation(c, "alice", v.id, std::string("x"), std::nullopt, std::nullopt, kT0 + 9);
  });
  ASSERT_TRUE(updated);
  EXPECT_FALSE(updated.value());
  // The row stays (soft delete).
  EXPECT_EQ(count("conversations"), 2);
}

TEST_P(ChatStoreTest, AnotherUsersConversationIsInvisible) {
  const std::string mine = add_conversation("alice", "secret plans");
  add_message("alice", mine, "the secret is here", kT0 + 1);

  EXPECT_FALSE(find("bob", mine));
  EXPECT_TRUE(list("bob").empty());
  EXPECT_TRUE(list("bob", "secret").empty());
  EXPECT_TRUE(messages("bob", mine).empty());
  auto updated = write([&](store::Connection& c) {
    return db::update_conversation(c, "bob", mine, std::string("mine now"), std::nullopt, std::nullopt, kT0 + 2);
  });
  ASSERT_TRUE(updated);
  EXPECT_FALSE(updated.value());
  auto deleted = write([&](store::Connection& c) { return db::soft_delete_conversation(c, "bob", mine, kT0 + 2); });
  ASSERT_TRUE(deleted);
  EXPECT_FALSE(deleted.value());
  // Bob cannot add a message to it either.
  Message m;
  m.id = new_uuid_v7(kT0);
  m.conversation_id = mine;
  m.user_id = "bob";
  m.role = "user";
  m.content = "hi";
  m.created_at = kT0 + 3;
  auto inserted = store::transact(db(), [&](store::Connection& c) { return db::insert_message(c, m); });
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code, Code::not_found);

  // Alice's view is untouched.
  auto got = find("alice", mine);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->title, "secret plans");
  EXPECT_EQ(got->message_count, 1);
  EXPECT_EQ(messages("alice", mine).size(), 1u);
}

TEST_P(ChatStoreTest, KeysetPaginationAcrossEqualUpdateTimes) {
  // 23 conversations, updated in groups of 5 within one millisecond.
  std::vector<std::pair<std::int64_t, std::string>> expected;
  for (int i = 0; i < 23; ++i) {
    const std::int64_t at = kT0 + i / 5;
    expected.emplace_back(at, add_conversation("alice", "c" + std::to_string(i), at));
  }
  add_conversation("bob", "not alice's", kT0 + 2);
  std::sort(expected.begin(), expected.end(), std::greater<>());
  Ids want;
  for (const auto& e : expected) want.push_back(e.second);

  for (int limit : {1, 3, 4, 5, 7, 23, 50}) {
    const Ids got = all_pages("alice", "", limit);
    EXPECT_EQ(got, want) << "limit " << limit;
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size()) << "duplicates, limit " << limit;
  }
  EXPECT_TRUE(list("alice", "", std::nullopt, 0).empty());
}

TEST_P(ChatStoreTest, NewMessageMovesConversationToTop) {
  const std::string older = add_conversation("alice", "older", kT0);
  const std::string newer = add_conversation("alice", "newer", kT0 + 10);
  auto page = list("alice");
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, newer);

  add_message("alice", older, "hello again", kT0 + 20);
  page = list("alice");
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, older);
  EXPECT_EQ(page[0].updated_at, kT0 + 20);
  EXPECT_EQ(page[0].message_count, 1);
  EXPECT_EQ(page[1].id, newer);

  // A message stamped earlier than the conversation's last change does not move it back.
  add_message("alice", older, "late arrival", kT0 + 15);
  auto got = find("alice", older);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->updated_at, kT0 + 20);
  EXPECT_EQ(got->message_count, 2);
}

// --- search ---

class ChatSearchTest : public ChatStoreTest {
 protected:
  void SetUp() override {
    ChatStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    holiday = add_conversation("alice", "Holiday in Paris", kT0);
    physics = add_conversation("alice", "Physics homework", kT0 + 1);
    add_message("alice", physics, "Explain quantum entanglement, please.", kT0 + 2);
    add_message("alice", physics, "Entanglement links two particles.", kT0 + 3);
    cooking = add_conversation("alice", "", kT0 + 4);
    add_message("alice", cooking, "A recipe for pasta with tomatoes and basil", kT0 + 5);
    bobs = add_conversation("bob", "Holiday plans", kT0 + 6);
  }
  std::string holiday, physics, cooking, bobs;
};

TEST_P(ChatSearchTest, FindsTitleWordsAndMessageWords) {
  EXPECT_EQ(search("alice", "holiday"), Ids{holiday});
  EXPECT_EQ(search("alice", "quantum"), Ids{physics});
  EXPECT_EQ(search("alice", "pasta"), Ids{cooking});
  // Found by title and by message alike: one result per conversation.
  EXPECT_EQ(search("alice", "entanglement"), Ids{physics});
  EXPECT_EQ(search("bob", "holiday"), Ids{bobs});
  EXPECT_EQ(search("alice", "nothing"), Ids{});
  // Every word must match (in the title or in one message).
  EXPECT_EQ(search("alice", "holiday paris"), Ids{holiday});
  EXPECT_EQ(search("alice", "paris pasta"), Ids{});
  EXPECT_EQ(search("alice", "pasta basil"), Ids{cooking});
  // Whole words only.
  EXPECT_EQ(search("alice", "holi"), Ids{});
  EXPECT_EQ(search("alice", "past"), Ids{});
}

TEST_P(ChatSearchTest, IgnoresCase) {
  EXPECT_EQ(search("alice", "HOLIDAY"), Ids{holiday});
  EXPECT_EQ(search("alice", "hOlIdAy PaRiS"), Ids{holiday});
  EXPECT_EQ(search("alice", "QUANTUM"), Ids{physics});
}

TEST_P(ChatSearchTest, QuerySyntaxInTheInputIsNeverInterpreted) {
  // Punctuation, FTS5 and tsquery operators only separate words: these are plain searches.
  for (const std::string q : {"\"holiday\"", "\"holiday", "holiday\"", "(holiday)", "-holiday", "holiday*", "^holiday",
                              "+holiday", "holiday:", "{holiday}", "holiday;", "'holiday'", "holiday -paris",
                              "!paris holiday", "holiday <-> paris", "holiday & paris"}) {
    EXPECT_EQ(search("alice", q), Ids{holiday}) << q;
  }
  // Operator names are words like any other and must be present too, so none of these
  // match anything (read as syntax, most would match one or two conversations).
  for (const std::string q : {"holiday AND quantum", "holiday OR quantum", "holiday NOT paris", "NEAR(holiday paris)",
                              "NEAR(holiday paris, 5)", "title:holiday", "body:holiday", "content:quantum",
                              "holiday & quantum", "holiday | quantum", "{body}: holiday"}) {
    EXPECT_EQ(search("alice", q), Ids{}) << q;
  }
  // No word at all matches nothing rather than everything, and is not an error.
  for (const std::string q : {"*", "\"", "\"\"", "()", "-", ":", "* * *", "\" \"", "'", "^", " "}) {
    EXPECT_EQ(search("alice", q), Ids{}) << q;
  }
  // Prefix queries are not available to the user.
  EXPECT_EQ(search("alice", "holi*"), Ids{});
  EXPECT_EQ(search("alice", "qua*"), Ids{});
}

TEST_P(ChatSearchTest, QuoteEscaping) {
  EXPECT_EQ(db::fts5_query("holiday paris"), "\"holiday\" \"paris\"");
  EXPECT_EQ(db::fts5_query("\"a\" OR b*"), "\"a\" \"OR\" \"b\"");
  EXPECT_EQ(db::fts5_query("NEAR(x y)"), "\"NEAR\" \"x\" \"y\"");
  EXPECT_EQ(db::fts5_query("*:-()"), "");
  EXPECT_EQ(db::fts5_query("café"), "\"café\"");
}

TEST_P(ChatSearchTest, DeletedConversationsAndTheirMessagesAreNotFound) {
  ASSERT_EQ(search("alice", "quantum"), Ids{physics});
  ASSERT_EQ(search("alice", "physics"), Ids{physics});
  auto deleted =
      write([&](store::Connection& c) { return db::soft_delete_conversation(c, "alice", physics, kT0 + 9); });
  ASSERT_TRUE(deleted && deleted.value());
  EXPECT_EQ(search("alice", "quantum"), Ids{});
  EXPECT_EQ(search("alice", "physics"), Ids{});
  EXPECT_EQ(search("alice", "entanglement"), Ids{});
  EXPECT_EQ(search("alice", "holiday"), Ids{holiday});
}

TEST_P(ChatSearchTest, FollowsTitleChangesAndPaginates) {
  auto renamed = write([&](store::Connection& c) {
    return db::update_conversation(c, "alice", cooking, std::string("Italian dinner"), std::nullopt, std::nullopt,
                                   kT0 + 10);
  });
  ASSERT_TRUE(renamed && renamed.value());
  EXPECT_EQ(search("alice", "italian"), Ids{cooking});

  // Many matches, several within one millisecond: pages are complete and in order.
  Ids want;
  std::vector<std::pair<std::int64_t, std::string>> made;
  for (int i = 0; i < 11; ++i) {
    const std::string id = add_conversation("alice", "trip " + std::to_string(i), kT0 + 20);
    if (i % 2 == 0) add_message("alice", id, "we went sailing", kT0 + 20 + i / 3);
    made.emplace_back(find("alice", id)->updated_at, id);
  }
  std::sort(made.begin(), made.end(), std::greater<>());
  for (const auto& m : made) want.push_back(m.second);
  for (int limit : {1, 2, 3, 11, 20}) EXPECT_EQ(all_pages("alice", "trip", limit), want) << "limit " << limit;
  Ids sailing;
  for (const auto& id : want)
    if (find("alice", id)->message_count == 1) sailing.push_back(id);
  EXPECT_EQ(all_pages("alice", "Sailing", 2), sailing);
}

// --- messages ---

TEST_P(ChatStoreTest, MessagesInOneMillisecondListInInsertionOrder) {
  const std::string conv = add_conversation("alice", "burst");
  Ids inserted;
  std::vector<std::int64_t> stored;
  for (int i = 0; i < 50; ++i) {
    inserted.push_back("m" + std::to_string(i));
    stored.push_back(add_message("alice", conv, inserted.back(), kT0 + 100));
  }
  EXPECT_EQ(stored.front(), kT0 + 100);
  for (std::size_t i = 1; i < stored.size(); ++i) EXPECT_LT(stored[i - 1], stored[i]) << i;

  const auto listed = messages("alice", conv);
  EXPECT_EQ(contents(listed), inserted);
  ASSERT_EQ(listed.size(), stored.size());
  for (std::size_t i = 0; i < listed.size(); ++i) EXPECT_EQ(listed[i].created_at, stored[i]);
  EXPECT_EQ(contents(recent(conv, 50)), inserted);
  EXPECT_EQ(find("alice", conv)->message_count, 50);

  // A later request with an older clock still lands after them.
  const std::int64_t late = add_message("alice", conv, "late", kT0);
  EXPECT_EQ(late, stored.back() + 1);
  EXPECT_EQ(messages("alice", conv).back().content, "late");
  // Another conversation's times are its own.
  const std::string other = add_conversation("alice", "other");
  EXPECT_EQ(add_message("alice", other, "first", kT0 + 100), kT0 + 100);
}

TEST_P(ChatStoreTest, NewestFirstPagesWalkBackToTheStart) {
  const std::string conv = add_conversation("alice", "long");
  Ids inserted;
  for (int i = 0; i < 23; ++i) {
    inserted.push_back("m" + std::to_string(i));
    add_message("alice", conv, inserted.back(), kT0 + 100);  // many in one millisecond: ties on time
  }
  Ids walked;
  std::optional<db::Cursor> before;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = messages("alice", conv, before, 5, MessageOrder::newest_first);
    for (const auto& m : page) walked.push_back(m.content);
    if (page.size() < 5) break;
    before = db::Cursor{page.back().created_at, page.back().id};
  }
  EXPECT_EQ(walked, Ids(inserted.rbegin(), inserted.rend()));
  EXPECT_EQ(contents(messages("alice", conv, std::nullopt, 2, MessageOrder::newest_first)), (Ids{"m22", "m21"}));
  // Owned by alice only, as the oldest-first walk.
  EXPECT_TRUE(messages("bob", conv, std::nullopt, 5, MessageOrder::newest_first).empty());
}

TEST_P(ChatStoreTest, ConcurrentInsertsIntoOneConversationGetDistinctTimes) {
  const std::string conv = add_conversation("alice", "busy");
  constexpr int kThreads = 4;
  constexpr int kEach = 15;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Message m;
        m.id = new_uuid_v7(kT0);
        m.conversation_id = conv;
        m.user_id = "alice";
        m.role = "user";
        m.content = std::to_string(t) + "/" + std::to_string(i);
        m.created_at = kT0 + 100;
        if (!store::transact(db(), [&](store::Connection& c) { return db::insert_message(c, m); })) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);
  const auto listed = messages("alice", conv);
  ASSERT_EQ(listed.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::int64_t> times;
  for (const auto& m : listed) times.insert(m.created_at);
  EXPECT_EQ(times.size(), listed.size());
  // Each thread's messages list in the order it inserted them.
  std::vector<int> next(kThreads, 0);
  for (const auto& m : listed) {
    const int t = std::stoi(m.content.substr(0, m.content.find('/')));
    EXPECT_EQ(m.content, std::to_string(t) + "/" + std::to_string(next[static_cast<std::size_t>(t)]++));
  }
  EXPECT_EQ(find("alice", conv)->message_count, kThreads * kEach);
}

TEST_P(ChatStoreTest, MessagePagination) {
  const std::string conv = add_conversation("alice", "pages");
  Ids want;
  for (int i = 0; i < 10; ++i) {
    want.push_back("m" + std::to_string(i));
    add_message("alice", conv, want.back(), kT0 + i / 4);  // some share a millisecond before adjustment
  }
  for (int limit : {1, 3, 4, 10, 11}) {
    Ids got;
    std::optional<db::Cursor> after;
    for (int pages = 0; pages < 20; ++pages) {
      const auto page = messages("alice", conv, after, limit);
      ASSERT_LE(page.size(), static_cast<std::size_t>(limit));
      for (const auto& m : page) got.push_back(m.content);
      if (page.size() < static_cast<std::size_t>(limit)) break;
      after = db::Cursor{page.back().created_at, page.back().id};
    }
    EXPECT_EQ(got, want) << "limit " << limit;
  }
  // The fields survive the round trip.
  const auto first = messages("alice", conv, std::nullopt, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].conversation_id, conv);
  EXPECT_EQ(first[0].user_id, "alice");
  EXPECT_EQ(first[0].role, "user");
  EXPECT_EQ(first[0].status, "complete");
  EXPECT_EQ(first[0].model, std::nullopt);
  EXPECT_EQ(first[0].prompt_tokens, std::nullopt);
  EXPECT_EQ(first[0].created_at, kT0);

  // Messages of a deleted conversation are not listed.
  ASSERT_TRUE(write([&](store::Connection& c) { return db::soft_delete_conversation(c, "alice", conv, kT0 + 50); }));
  EXPECT_TRUE(messages("alice", conv).empty());
}

TEST_P(ChatStoreTest, FinishMessage) {
  const std::string conv = add_conversation("alice", "answers");
  add_message("alice", conv, "question", kT0 + 1);
  std::string answer;
  const std::int64_t answered_at = add_message("alice", conv, "", kT0 + 1, "pending", &answer);
  EXPECT_EQ(answered_at, kT0 + 2);
  // Pending answers are not listed yet.
  EXPECT_EQ(contents(messages("alice", conv)), Ids{"question"});
  EXPECT_EQ(find("alice", conv)->message_count, 2);

  auto finished = write([&](store::Connection& c) {
    return db::finish_message(c, answer, "the answer", "complete", 12, 34, std::string("demo-large"), kT0 + 500);
  });
  ASSERT_TRUE(finished);
  EXPECT_TRUE(finished.value());
  const auto listed = messages("alice", conv);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].id, answer);
  EXPECT_EQ(listed[1].role, "assistant");
  EXPECT_EQ(listed[1].content, "the answer");
  EXPECT_EQ(listed[1].status, "complete");
  EXPECT_EQ(listed[1].prompt_tokens, std::optional<std::int64_t>(12));
  EXPECT_EQ(listed[1].completion_tokens, std::optional<std::int64_t>(34));
  EXPECT_EQ(listed[1].model, std::optional<std::string>("demo-large"));
  EXPECT_EQ(listed[1].created_at, answered_at);
  EXPECT_EQ(find("alice", conv)->updated_at, kT0 + 500);

  // Finished once: a second finish (say a late cancel) changes nothing.
  finished = write([&](store::Connection& c) {
    return db::finish_message(c, answer, "partial", "cancelled", std::nullopt, std::nullopt, std::nullopt, kT0 + 600);
  });
  ASSERT_TRUE(finished);
  EXPECT_FALSE(finished.value());
  EXPECT_EQ(messages("alice", conv)[1].status, "complete");
  EXPECT_EQ(find("alice", conv)->updated_at, kT0 + 500);
  finished = write([&](store::Connection& c) {
    return db::finish_message(c, "no-such-id", "x", "error", std::nullopt, std::nullopt, std::nullopt, kT0 + 600);
  });
  ASSERT_TRUE(finished);
  EXPECT_FALSE(finished.value());

  // An error with no tokens keeps the model it was started with.
  std::string failed;
  Message m;
  m.id = failed = new_uuid_v7(kT0);
  m.conversation_id = conv;
  m.user_id = "alice";
  m.role = "assistant";
  m.content = "";
  m.model = "demo";
  m.status = "pending";
  m.created_at = kT0 + 700;
  ASSERT_TRUE(write([&](store::Connection& c) { return db::insert_message(c, m); }));
  finished = write([&](store::Connection& c) {
    return db::finish_message(c, failed, "half an ans", "error", std::nullopt, std::nullopt, std::nullopt, kT0 + 800);
  });
  ASSERT_TRUE(finished && finished.value());
  const auto last = messages("alice", conv).back();
  EXPECT_EQ(last.id, failed);
  EXPECT_EQ(last.status, "error");
  EXPECT_EQ(last.content, "half an ans");
  EXPECT_EQ(last.model, std::optional<std::string>("demo"));
  EXPECT_EQ(last.prompt_tokens, std::nullopt);
}

TEST_P(ChatStoreTest, RecentMessages) {
  const std::string conv = add_conversation("alice", "history");
  const std::string other = add_conversation("alice", "elsewhere");
  Ids all;
  for (int i = 0; i < 8; ++i) {
    all.push_back("m" + std::to_string(i));
    add_message("alice", conv, all.back(), kT0 + 10 + i / 3);
  }
  add_message("alice", other, "not this one", kT0 + 100);
  add_message("alice", conv, "streaming", kT0 + 11, "pending");

  EXPECT_EQ(contents(recent(conv, 3)), (Ids{"m5", "m6", "m7"}));
  EXPECT_EQ(contents(recent(conv, 1)), Ids{"m7"});
  EXPECT_EQ(contents(recent(conv, 100)), all);
  EXPECT_TRUE(recent(conv, 0).empty());
  EXPECT_TRUE(recent("missing", 5).empty());
}

// --- usage ---

TEST_P(ChatStoreTest, UsageSummaryAndTokensUsed) {
  const std::string conv = add_conversation("alice", "usage");
  auto add_event = [&](const std::string& user, std::int64_t at, std::int64_t prompt, std::int64_t completion,
                       double cost) {
    UsageEvent e;
    e.id = new_uuid_v7(at);
    e.user_id = user;
    e.conversation_id = conv;
    e.provider = "fake";
    e.model = "demo";
    e.prompt_tokens = prompt;
    e.completion_tokens = completion;
    e.cost_usd = cost;
    e.latency_ms = 120;
    e.status = "complete";
    e.created_at = at;
    ASSERT_TRUE(write([&](store::Connection& c) { return db::insert_usage_event(c, e); }));
  };
  add_event("alice", kT0 - 1, 1000, 1000, 1.0);  // before the window
  add_event("alice", kT0, 10, 20, 0.25);
  add_event("alice", kT0 + 500, 30, 40, 0.5);
  add_event("alice", kT0 + 999, 1, 2, 0.125);
  add_event("alice", kT0 + 1000, 7, 7, 2.0);  // at to_ms: outside
  add_event("bob", kT0 + 10, 500, 500, 9.0);

  auto summary = read([&](store::Connection& c) { return db::usage_summary(c, "alice", kT0, kT0 + 1000); });
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary.value().requests, 3);
  EXPECT_EQ(summary.value().prompt_tokens, 41);
  EXPECT_EQ(summary.value().completion_tokens, 62);
  EXPECT_DOUBLE_EQ(summary.value().cost_usd, 0.875);

  auto none = read([&](store::Connection& c) { return db::usage_summary(c, "alice", kT0 + 5000, kT0 + 6000); });
  ASSERT_TRUE(none);
  EXPECT_EQ(none.value().requests, 0);
  EXPECT_EQ(none.value().prompt_tokens, 0);
  EXPECT_EQ(none.value().completion_tokens, 0);
  EXPECT_DOUBLE_EQ(none.value().cost_usd, 0.0);

  auto used = [&](const std::string& user, std::int64_t from) {
    auto n = read([&](store::Connection& c) { return db::tokens_used(c, user, from); });
    return n ? n.value() : -1;
  };
  EXPECT_EQ(used("alice", kT0), 30 + 70 + 3 + 14);
  EXPECT_EQ(used("alice", kT0 + 1), 70 + 3 + 14);
  EXPECT_EQ(used("alice", kT0 - 1), 2000 + 30 + 70 + 3 + 14);
  EXPECT_EQ(used("alice", kT0 + 1001), 0);
  EXPECT_EQ(used("bob", kT0), 1000);
  EXPECT_EQ(used("carol", kT0), 0);

  // An unknown user is refused.
  UsageEvent orphan;
  orphan.id = new_uuid_v7(kT0);
  orphan.user_id = "carol";
  orphan.provider = "fake";
  orphan.model = "demo";
  orphan.status = "error";
  orphan.created_at = kT0;
  auto refused = store::transact(db(), [&](store::Connection& c) { return db::insert_usage_event(c, orphan); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::conflict);
}

// --- index use ---

// Forwards to a real connection and keeps the last statement, so a test can ask the
// planner about the repository's own SQL rather than a copy of it.
class RecordingConnection final : public store::Connection {
 public:
  explicit RecordingConnection(store::Connection& inner) : inner_(inner) {}
  using store::Connection::query;
  Result<store::Rows> query(std::string_view sql, std::span<const store::Value> params) override {
    sql_ = std::string(sql);
    params_.assign(params.begin(), params.end());
    return inner_.query(sql, params);
  }
  Status exec_script(std::string_view sql) override { return inner_.exec_script(sql); }
  const std::string& sql() const { return sql_; }
  const std::vector<store::Value>& params() const { return params_; }

 private:
  store::Connection& inner_;
  std::string sql_;
  std::vector<store::Value> params_;
};

TEST_P(ChatStoreTest, ListingsAndQuotaAreServedByIndexes) {
  const std::string conv = add_conversation("alice", "planned");
  add_message("alice", conv, "some words", kT0 + 1);
  // The plan of the last statement `call` runs, after the statements in `setup`, in a
  // transaction rolled back afterwards. PostgreSQL is told to avoid sequential scans: on
  // tables this small it would rightly prefer them, but the question here is whether an
  // index can serve the statement at all.
  auto plan_of = [&](const std::function<bool(store::Connection&)>& call, std::vector<std::string> setup = {}) {
    std::string plan;
    auto done = store::transact(db(), [&](store::Connection& c) -> Status {
      RecordingConnection recorder(c);
      if (!call(recorder)) return fail(Code::internal, "the call failed");
      if (is_postgres()) setup.insert(setup.begin(), "SET LOCAL enable_seqscan = off");
      for (const auto& sql : setup)
        if (auto st = c.query(sql); !st) return st.error();
      auto rows = c.query((is_postgres() ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + recorder.sql(), recorder.params());
      if (!rows) return rows.error();
      for (const auto& row : rows.value().rows) plan += row.text(is_postgres() ? 0 : 3) + "\n";
      return fail(Code::conflict, "rolled back on purpose");
    });
    EXPECT_FALSE(done);
    EXPECT_EQ(done.error().detail, "rolled back on purpose") << describe(done.error());
    return plan;
  };
  const std::string conversations = plan_of([&](store::Connection& c) {
    return db::list_conversations(c, dialect(), "alice", "", db::Cursor{kT0 + 5, "x"}, 5).has_value();
  });
  EXPECT_NE(conversations.find("conversations_user_updated_idx"), std::string::npos) << conversations;
  EXPECT_EQ(conversations.find("TEMP B-TREE"), std::string::npos) << conversations;  // SQLite: no sort step
  EXPECT_EQ(conversations.find("Sort"), std::string::npos) << conversations;         // PostgreSQL: no sort step

  const std::string messages_plan = plan_of([&](store::Connection& c) {
    return db::list_messages(c, "alice", conv, db::Cursor{kT0, "x"}, 5).has_value();
  });
  EXPECT_NE(messages_plan.find("messages_conversation_idx"), std::string::npos) << messages_plan;
  EXPECT_EQ(messages_plan.find("TEMP B-TREE"), std::string::npos) << messages_plan;
  EXPECT_EQ(messages_plan.find("Sort"), std::string::npos) << messages_plan;

  const std::string quota = plan_of([&](store::Connection& c) { return db::tokens_used(c, "alice", kT0).has_value(); });
  EXPECT_NE(quota.find("usage_events_user_idx"), std::string::npos) << quota;
  if (!is_postgres()) {
    EXPECT_NE(quota.find("(user_id=? AND created_at>?)"), std::string::npos) << quota;
  }

  if (is_postgres()) {
    // The search is written with the expressions of the GIN indexes, so that each half may
    // use its GIN index (or the user's rows, whichever the statistics favour; without the
    // user indexes it has to be the GIN ones).
    auto search = [&](store::Connection& c) {
      return db::list_conversations(c, dialect(), "alice", "some words", std::nullopt, 5).has_value();
    };
    const std::string gin_plan =
        plan_of(search, {"DROP INDEX messages_user_idx", "DROP INDEX conversations_user_updated_idx"});
    EXPECT_NE(gin_plan.find("messages_content_search_idx"), std::string::npos) << gin_plan;
    EXPECT_NE(gin_plan.find("conversations_title_search_idx"), std::string::npos) << gin_plan;
    const std::string plan = plan_of(search);
    EXPECT_EQ(plan.find("Sort"), std::string::npos) << plan;
  }
}

INSTANTIATE_TEST_SUITE_P(Dialects, ChatStoreTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);
INSTANTIATE_TEST_SUITE_P(Dialects, ChatSearchTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::chat
