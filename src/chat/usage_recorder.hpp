#pragma once
// Usage events written in batches, off the request's path. record() queues the events and
// returns at once; one job on the worker pool takes everything queued and writes it in
// transactions of at most kMaxTransaction events, and whatever arrived while it ran next.
// Under load many completions share one commit (the job lets the next batch gather for up
// to 10 ms); after a quiet spell the first events are written at once. So a usage event
// reaches the database within about 10 milliseconds of its completion, and counts towards
// the quota from then on.
//
// A small batch gives the CPU away between events (sched_yield every kYieldEvery events): the
// writer runs at niceness 10, but the scheduler lets a running thread finish its time slice
// before a woken one of the same slice length may take the CPU, so a woken network thread
// (or a proxy or load generator on the same host) could wait behind a whole batch. Only while
// yielding is cheap: the first yield that keeps the writer away for longer than kBusyYield
// means the CPU is contended, and the rest of that batch runs without yielding, as do
// batches of kEnough events or more (under load), so the writer still gets its share.
//
// Bounded: when the queue is full, record() refuses and the caller writes its events itself,
// with a transaction's worth of the queued ones (backpressure instead of loss). A batch the
// database refuses is retried event by event, so one bad event (its user deleted meanwhile)
// costs only itself; each event that still fails is logged. The destructor writes what is
// still queued.

#include "chat/model.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "store/database.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

namespace chatd::chat {

class UsageRecorder {
 public:
  static constexpr std::size_t kDefaultCapacity = 4096;
  // Events per transaction: keeps one commit short when a long queue has built up.
  static constexpr std::size_t kMaxTransaction = 512;
  // A batch gathers until it has this many events (or for 10 ms); a batch this large (a
  // loaded server) is written without yielding.
  static constexpr std::size_t kEnough = 256;
  static constexpr std::size_t kYieldEvery = 2;
  static constexpr std::chrono::microseconds kBusyYield{200};

  // Gives the CPU to whatever else is ready to run and returns how long it was away.
  using Yield = std::function<std::chrono::nanoseconds()>;
  static std::chrono::nanoseconds yield_cpu();

  UsageRecorder(store::Database& db, WorkerPool& pool, Logger& log, std::size_t capacity = kDefaultCapacity,
                Yield yield = yield_cpu);
  ~UsageRecorder();  // blocks until everything queued is written
  UsageRecorder(const UsageRecorder&) = delete;
  UsageRecorder& operator=(const UsageRecorder&) = delete;

  // Takes the events (leaving `events` empty) and returns true, or returns false and leaves
  // them alone when the queue has no room for all of them.
  bool record(std::vector<UsageEvent>& events);

  // When record() refused (the queue is full): writes `events` together with as many queued
  // events as fit in one transaction (kMaxTransaction), taking them off the queue. Blocks
  // for that one commit, which also makes room, instead of a commit of its own events
  // alone: under a flood the callers help the writer rather than queue up behind single
  // commits. Returns how many were written; `events` is left in an unspecified state.
  std::size_t write_with_queued(std::vector<UsageEvent>& events);

  // Blocks until everything queued before the call is written (tests, shutdown).
  void flush();

 private:
  void drain();  // the worker job: writes batches until the queue is empty
  // Writes `events` in one transaction, else one by one, logging each one that fails; gives
  // the CPU away between events while `yielding` (see above). Returns how many were written.
  std::size_t write(std::span<const UsageEvent> events, bool yielding = false);

  store::Database& db_;
  WorkerPool& pool_;
  Logger& log_;
  const std::size_t capacity_;
  const Yield yield_;
  std::mutex mu_;
  std::condition_variable idle_;    // running_ became false
  std::condition_variable gather_;  // enough events queued, or a flush is waiting
  int flushing_ = 0;
  std::vector<UsageEvent> queue_;
  bool running_ = false;  // a drain job is queued or running
  int helping_ = 0;       // write_with_queued() calls writing events taken off the queue
};

}  // namespace chatd::chat
