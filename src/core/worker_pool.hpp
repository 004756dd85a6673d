#pragma once
// A fixed set of threads for blocking work (database calls, hashing, SMTP) with a
// bounded queue. try_submit never blocks: when the queue is full it refuses, and the
// caller answers 503 instead of queueing without limit.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace chatd {

// A move-only, type-erased `void()` callable (std::move_only_function is C++23).
class Job {
 public:
  Job() = default;
  template <class F>
  Job(F f) : impl_(std::make_unique<Model<F>>(std::move(f))) {}  // NOLINT: implicit by design
  void operator()() { impl_->call(); }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual void call() = 0;
  };
  template <class F>
  struct Model final : Concept {
    explicit Model(F f) : fn(std::move(f)) {}
    void call() override { fn(); }
    F fn;
  };
  std::unique_ptr<Concept> impl_;
};

class WorkerPool {
 public:
  // name: shown in logs and thread names; threads >= 1; queue_capacity >= 1; nice: a
  // scheduling niceness for the pool's threads (0..19), so that long CPU-bound jobs such as
  // password hashing yield to the network threads.
  WorkerPool(std::string name, std::size_t threads, std::size_t queue_capacity, int nice = 0);
  ~WorkerPool();  // shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Returns false (and drops the job) when the queue is full or the pool is stopping.
  bool try_submit(Job job);

  // Refuses new jobs, finishes the queued ones and joins the threads. Blocks until then;
  // a second call (from the same thread) returns at once.
  void shutdown();

  std::size_t threads() const { return threads_.size(); }
  std::size_t queue_capacity() const { return capacity_; }
  std::size_t queued() const;
  std::size_t busy() const;
  const std::string& name() const { return name_; }

 private:
  void run(int nice);

  const std::string name_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::size_t busy_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace chatd
