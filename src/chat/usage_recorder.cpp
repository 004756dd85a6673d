#include "chat/usage_recorder.hpp"

#include "chat/store.hpp"
#include "core/scope_exit.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <sched.h>
#include <span>
#include <utility>

namespace chatd::chat {

namespace {

// After a write, while events keep coming, the next batch gathers for up to this long (or
// until it has kEnough events): under load most of a commit's cost is per commit, not per
// event. The first event after a quiet spell is written at once.
// 10 ms and 256 rather than 2 ms and 64: at concurrency 1 the writer's CPU per event fell from
// about 11 to 7 us (bench/results/chat.md), at no cost under load.
constexpr auto kGather = std::chrono::milliseconds(10);

// Gives the CPU away when asked, until one yield takes longer than kBusyYield.
class Yielder {
 public:
  Yielder(const UsageRecorder::Yield& yield, bool on) : yield_(yield), on_(on) {}
  void yield() {
    if (on_ && yield_() > UsageRecorder::kBusyYield) on_ = false;
  }

 private:
  const UsageRecorder::Yield& yield_;
  bool on_;
};

Status insert_all(store::Connection& c, std::span<const UsageEvent> events, Yielder& yielder) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0 && i % UsageRecorder::kYieldEvery == 0) yielder.yield();
    if (auto st = db::insert_usage_event(c, events[i]); !st) return st;
  }
  return ok();
}

const std::string& reason(const Error& e) { return e.internal.empty() ? e.detail : e.internal; }

}  // namespace

std::chrono::nanoseconds UsageRecorder::yield_cpu() {
  const auto start = std::chrono::steady_clock::now();
  sched_yield();
  return std::chrono::steady_clock::now() - start;
}

UsageRecorder::UsageRecorder(store::Database& db, WorkerPool& pool, Logger& log, std::size_t capacity, Yield yield)
    : db_(db), pool_(pool), log_(log), capacity_(std::max<std::size_t>(capacity, 1)), yield_(std::move(yield)) {}

UsageRecorder::~UsageRecorder() { flush(); }

bool UsageRecorder::record(std::vector<UsageEvent>& events) {
  if (events.empty()) return true;
  std::lock_guard lock(mu_);
  if (queue_.size() + events.size() > capacity_) return false;
  const std::size_t before = queue_.size();
  std::move(events.begin(), events.end(), std::back_inserter(queue_));
  if (running_) {
    if (queue_.size() >= kEnough) gather_.notify_one();
  } else {
    // The queue was empty (a drain empties it before it stops). Refused by a full or
    // stopping pool: hand the events back so the caller writes them.
    if (!pool_.try_submit([this] { drain(); })) {
      std::move(queue_.begin() + static_cast<std::ptrdiff_t>(before), queue_.end(), events.begin());
      queue_.resize(before);
      return false;
    }
    running_ = true;
  }
  events.clear();
  return true;
}

std::size_t UsageRecorder::write_with_queued(std::vector<UsageEvent>& events) {
  std::size_t taken = 0;
  {
    std::lock_guard lock(mu_);
    const std::size_t room = kMaxTransaction > events.size() ? kMaxTransaction - events.size() : 0;
    taken = std::min(room, queue_.size());
    // From the back: no event is moved but the ones taken (their order does not matter).
    const auto from = queue_.end() - static_cast<std::ptrdiff_t>(taken);
    std::move(from, queue_.end(), std::back_inserter(events));
    queue_.erase(from, queue_.end());
    if (taken > 0) ++helping_;
  }
  // However write() leaves, a flush() waiting for the taken events is told.
  ScopeExit done([this, helping = taken > 0] {
    if (!helping) return;
    std::lock_guard lock(mu_);
    --helping_;
    idle_.notify_all();
  });
  return write(events);
}

void UsageRecorder::flush() {
  std::unique_lock lock(mu_);
  ++flushing_;
  gather_.notify_all();
  idle_.wait(lock, [this] { return !running_ && helping_ == 0; });
  --flushing_;
}

void UsageRecorder::drain() {
  std::vector<UsageEvent> batch;
  for (bool first = true;; first = false) {
    {
      std::unique_lock lock(mu_);
      if (!first && queue_.size() < kEnough) {
        gather_.wait_for(lock, kGather, [this] { return queue_.size() >= kEnough || flushing_ > 0; });
      }
      if (queue_.empty()) {
        running_ = false;
        idle_.notify_all();
        return;
      }
      // The whole queue, in constant time: record() on a network thread may be waiting for
      // this lock, and a writer preempted while moving events under it stalled that thread
      // until the writer ran again (milliseconds, at niceness 10).
      batch.swap(queue_);
    }
    const std::span<const UsageEvent> all(batch);
    const bool small = all.size() < kEnough;  // else: under load, no yielding
    for (std::size_t at = 0; at < all.size(); at += kMaxTransaction)
      write(all.subspan(at, std::min(kMaxTransaction, all.size() - at)), small);
    batch.clear();
  }
}

std::size_t UsageRecorder::write(std::span<const UsageEvent> events, bool yielding) {
  if (events.empty()) return 0;
  Yielder yielder(yield_, yielding);
  // Unsynced: these events were queued after their answers, and the next synced commit or
  // checkpoint makes them durable (see store::Access::write_unsynced).
  auto unsynced = [&](std::span<const UsageEvent> some) {
    auto insert = [&](store::Connection& c) { return insert_all(c, some, yielder); };
    return store::transact(db_, insert, store::Access::write_unsynced);
  };
  auto all = unsynced(events);
  if (all) return events.size();
  if (events.size() > 1) {
    log_.warn("chat.usage_batch_failed")
        .num("events", static_cast<std::int64_t>(events.size()))
        .str("error", reason(all.error()));
  }
  std::size_t written = 0;
  for (const auto& e : events) {
    auto one = events.size() == 1 ? all : unsynced({&e, 1});
    if (one) {
      ++written;
      continue;
    }
    log_.error("chat.usage_not_stored")
        .str("usage_event_id", e.id)
        .str("user_id", e.user_id)
        .str("error", reason(one.error()));
  }
  return written;
}

}  // namespace chatd::chat
