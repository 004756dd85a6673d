// The batched usage writer against a real database, in both dialects: everything recorded is
// written (from many threads at once), the queue bound hands events back instead of
// dropping them, and one event the database refuses costs only itself.

#include "chat/usage_recorder.hpp"

#include "../mail/test_support.hpp"
#include "../store/store_fixture.hpp"
#include "auth/store.hpp"
#include "core/ids.hpp"
#include "store/migrations.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

namespace chatd::chat {
namespace {

using mail::test::LogFile;
using store::Dialect;
using store::testing::describe;

constexpr std::int64_t kT0 = 1'800'000'000'000;

// Occupies a pool's next free thread until release() (or its end, so that a failed
// assertion cannot leave the pool waiting): with a one-thread pool, the recorder's writer
// job cannot run meanwhile.
class Hold {
 public:
  explicit Hold(WorkerPool& pool) : holding_(pool.try_submit([released = released_] { released.wait(); })) {}
  ~Hold() { release(); }
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;
  bool holding() const { return holding_; }
  void release() {
    if (!done_) promise_.set_value();
    done_ = true;
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> released_ = promise_.get_future().share();
  bool holding_;
  bool done_ = false;
};

// Counts the writer's yields; each one "takes" `away`.
struct CountingYield {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::chrono::nanoseconds away{0};
  std::chrono::nanoseconds operator()() const {
    ++*calls;
    return away;
  }
};

class UsageRecorderTest : public store::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auth::User u;
    u.id = "alice";
    u.email = "alice@example.com";
    u.username = "alice";
    u.password_hash = "hash";
    u.created_at = kT0;
    u.updated_at = kT0;
    auto st = store::transact(db(), [&](store::Connection& c) { return auth::db::insert_user(c, u); });
    ASSERT_TRUE(st) << describe(st.error());
  }

  static UsageEvent event(std::int64_t tokens, const std::string& user = "alice") {
    UsageEvent e;
    e.created_at = kT0 + tokens;
    e.id = new_uuid_v7(e.created_at);
    e.user_id = user;
    e.provider = "p";
    e.model = "m";
    e.prompt_tokens = tokens;
    e.completion_tokens = 1;
    e.status = "complete";
    return e;
  }

  // Queues `n` events while the writer is held, so that they are written as one batch.
  static void record_one_batch(UsageRecorder& recorder, Hold& hold, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<UsageEvent> one{event(static_cast<std::int64_t>(i + 1))};
      ASSERT_TRUE(recorder.record(one));
    }
    hold.release();
    recorder.flush();
  }

  // Writes `n` events as one batch, each yield taking `away`; returns how often it yielded.
  int yields_writing_one_batch(std::size_t n, std::chrono::nanoseconds away) {
    WorkerPool pool("db", 1, 8);
    Hold hold(pool);
    EXPECT_TRUE(hold.holding());
    CountingYield yield;
    yield.away = away;
    UsageRecorder recorder(db(), pool, log_, UsageRecorder::kDefaultCapacity, yield);
    record_one_batch(recorder, hold, n);
    return *yield.calls;
  }

  std::int64_t prompt_tokens_total() {
    auto rows = select("SELECT COALESCE(SUM(prompt_tokens), 0) FROM usage_events");
    return rows.rows.at(0).integer(0);
  }

  LogFile log_file_;
  Logger log_{LogLevel::debug, LogFormat::json, log_file_.fd()};
};

TEST_P(UsageRecorderTest, WritesEverythingRecordedFromManyThreads) {
  WorkerPool pool("db", 2, 64);
  constexpr int kThreads = 4, kPerThread = 200;
  {
    UsageRecorder recorder(db(), pool, log_);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::vector<UsageEvent> one{event(t * kPerThread + i + 1)};
          // A full queue hands the events back: write them the way the service does then.
          if (!recorder.record(one)) {
            ASSERT_EQ(one.size(), 1u);
            EXPECT_GE(recorder.write_with_queued(one), 1u);
          } else {
            EXPECT_TRUE(one.empty());
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    recorder.flush();
    EXPECT_EQ(count("usage_events"), kThreads * kPerThread);
  }
  constexpr std::int64_t n = kThreads * kPerThread;
  EXPECT_EQ(prompt_tokens_total(), n * (n + 1) / 2);  // each event exactly once
}

TEST_P(UsageRecorderTest, AFullQueueHandsTheEventsBack) {
  WorkerPool pool("db", 1, 8);
  // Hold the pool's only thread so that the recorder's batch cannot run yet.
  Hold hold(pool);
  ASSERT_TRUE(hold.holding());
  {
    UsageRecorder recorder(db(), pool, log_, 3);
    std::vector<UsageEvent> first{event(1), event(2)};
    ASSERT_TRUE(recorder.record(first));
    EXPECT_TRUE(first.empty());
    std::vector<UsageEvent> second{event(3), event(4)};
    EXPECT_FALSE(recorder.record(second));  // 2 + 2 > 3: refused whole
    ASSERT_EQ(second.size(), 2u);
    EXPECT_EQ(second[0].prompt_tokens, 3);
    EXPECT_EQ(second[1].prompt_tokens, 4);
    std::vector<UsageEvent> third{event(5)};
    EXPECT_TRUE(recorder.record(third));  // 2 + 1 fits
    hold.release();
    recorder.flush();
    EXPECT_EQ(count("usage_events"), 3);
    EXPECT_EQ(prompt_tokens_total(), 1 + 2 + 5);
  }
}

TEST_P(UsageRecorderTest, ARefusedCallerWritesItsEventsWithQueuedOnesInOneCommit) {
  WorkerPool pool("db", 1, 8);
  // The writer cannot run: the queue stays full until a refused caller helps.
  Hold hold(pool);
  ASSERT_TRUE(hold.holding());
  {
    UsageRecorder recorder(db(), pool, log_, 4);
    std::vector<UsageEvent> queued{event(1), event(2), event(3), event(4)};
    ASSERT_TRUE(recorder.record(queued));
    std::vector<UsageEvent> mine{event(5, "nobody"), event(6)};
    ASSERT_FALSE(recorder.record(mine));
    // One transaction of six events; the unknown user's breaks it, so each is retried alone.
    EXPECT_EQ(recorder.write_with_queued(mine), 5u);
    EXPECT_EQ(count("usage_events"), 5);
    EXPECT_EQ(prompt_tokens_total(), 1 + 2 + 3 + 4 + 6);
    log_.flush();
    auto failed = log_file_.events("chat.usage_batch_failed");
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0]["events"], 6);
    // The queue was emptied: there is room again.
    std::vector<UsageEvent> next{event(7), event(8), event(9), event(10)};
    EXPECT_TRUE(recorder.record(next));
    hold.release();
    recorder.flush();
  }
  EXPECT_EQ(count("usage_events"), 9);
  EXPECT_EQ(prompt_tokens_total(), 1 + 2 + 3 + 4 + 6 + 7 + 8 + 9 + 10);
}

TEST_P(UsageRecorderTest, ARefusedPoolHandsTheEventsBackAndTheNextRecordStillWorks) {
  WorkerPool pool("db", 1, 1);
  Hold hold(pool);
  ASSERT_TRUE(hold.holding());
  ASSERT_TRUE(mail::test::eventually([&] { return pool.busy() == 1; }));  // taken off the queue
  ASSERT_TRUE(pool.try_submit([] {}));                                    // the pool's queue (capacity 1) is now full
  UsageRecorder recorder(db(), pool, log_);
  std::vector<UsageEvent> events{event(7)};
  EXPECT_FALSE(recorder.record(events));
  ASSERT_EQ(events.size(), 1u);
  hold.release();
  ASSERT_TRUE(mail::test::eventually([&] { return pool.queued() == 0 && pool.busy() == 0; }));
  EXPECT_TRUE(recorder.record(events));
  recorder.flush();
  EXPECT_EQ(prompt_tokens_total(), 7);
}

TEST_P(UsageRecorderTest, AnEventTheDatabaseRefusesCostsOnlyItself) {
  WorkerPool pool("db", 1, 8);
  Hold hold(pool);
  ASSERT_TRUE(hold.holding());
  {
    UsageRecorder recorder(db(), pool, log_);
    // Queued together, so they meet in one batch: the unknown user breaks its transaction.
    std::vector<UsageEvent> events{event(1), event(2, "nobody"), event(4)};
    ASSERT_TRUE(recorder.record(events));
    hold.release();
    recorder.flush();
  }
  EXPECT_EQ(count("usage_events"), 2);
  EXPECT_EQ(prompt_tokens_total(), 1 + 4);
  log_.flush();
  EXPECT_EQ(log_file_.events("chat.usage_batch_failed").size(), 1u);
  auto lost = log_file_.events("chat.usage_not_stored");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0]["user_id"], "nobody");
}

TEST_P(UsageRecorderTest, ALongQueueIsWrittenInBoundedTransactions) {
  WorkerPool pool("db", 1, 8);
  Hold hold(pool);
  ASSERT_TRUE(hold.holding());
  constexpr std::size_t n = 2 * UsageRecorder::kMaxTransaction + 76;
  constexpr std::size_t bad = UsageRecorder::kMaxTransaction + 188;  // in the second transaction
  {
    UsageRecorder recorder(db(), pool, log_);
    // Queued while the writer is held, so they make one queue longer than a transaction.
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<UsageEvent> one{event(static_cast<std::int64_t>(i + 1), i == bad ? "nobody" : "alice")};
      ASSERT_TRUE(recorder.record(one));
    }
    hold.release();
    recorder.flush();
  }
  EXPECT_EQ(count("usage_events"), static_cast<std::int64_t>(n - 1));
  constexpr auto total = static_cast<std::int64_t>(n * (n + 1) / 2);
  EXPECT_EQ(prompt_tokens_total(), total - static_cast<std::int64_t>(bad + 1));
  // Only the transaction holding the refused event was retried event by event.
  log_.flush();
  auto failed = log_file_.events("chat.usage_batch_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["events"], UsageRecorder::kMaxTransaction);
  EXPECT_EQ(log_file_.events("chat.usage_not_stored").size(), 1u);
}

TEST_P(UsageRecorderTest, ASmallBatchGivesTheCpuAwayBetweenEvents) {
  WorkerPool pool("db", 1, 8);
  Hold hold(pool);
  ASSERT_TRUE(hold.holding());
  CountingYield yield;
  {
    UsageRecorder recorder(db(), pool, log_, UsageRecorder::kDefaultCapacity, yield);
    record_one_batch(recorder, hold, 9);
    // Between 9 events (8 gaps), once every kYieldEvery = 2 events.
    static_assert(UsageRecorder::kYieldEvery == 2);
    EXPECT_EQ(*yield.calls, 4);
    // The caller refused by a full queue writes without yielding (it is backpressure).
    std::vector<UsageEvent> refused{event(100), event(101), event(102), event(103)};
    EXPECT_EQ(recorder.write_with_queued(refused), 4u);
    EXPECT_EQ(*yield.calls, 4);
  }
  EXPECT_EQ(count("usage_events"), 13);
}

TEST_P(UsageRecorderTest, AYieldThatKeepsTheWriterAwayEndsYieldingForThatBatch) {
  // The CPU is contended: the first yield gives it away for longer than kBusyYield.
  EXPECT_EQ(yields_writing_one_batch(20, UsageRecorder::kBusyYield + std::chrono::microseconds(1)), 1);
  EXPECT_EQ(count("usage_events"), 20);
}

TEST_P(UsageRecorderTest, ABatchOfEnoughEventsIsWrittenWithoutYielding) {
  EXPECT_EQ(yields_writing_one_batch(UsageRecorder::kEnough, std::chrono::nanoseconds(0)), 0);
  EXPECT_EQ(count("usage_events"), static_cast<std::int64_t>(UsageRecorder::kEnough));
}

TEST_P(UsageRecorderTest, TheDestructorWritesWhatIsQueued) {
  WorkerPool pool("db", 1, 8);
  Hold hold(pool);
  ASSERT_TRUE(hold.holding());
  std::thread releaser;
  {
    UsageRecorder recorder(db(), pool, log_);
    std::vector<UsageEvent> events{event(1), event(2)};
    ASSERT_TRUE(recorder.record(events));
    releaser = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // lets the destructor start waiting
      hold.release();
    });
  }  // blocks until the batch is written
  EXPECT_EQ(count("usage_events"), 2);
  releaser.join();
}

INSTANTIATE_TEST_SUITE_P(Dialects, UsageRecorderTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::chat
