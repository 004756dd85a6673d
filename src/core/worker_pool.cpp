#include "core/worker_pool.hpp"

#include <unistd.h>

#include <pthread.h>
#include <sys/resource.h>

namespace chatd {

WorkerPool::WorkerPool(std::string name, std::size_t threads, std::size_t queue_capacity, int nice)
    : name_(std::move(name)), capacity_(queue_capacity == 0 ? 1 : queue_capacity) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, nice] { run(nice); });
    std::string thread_name = name_.substr(0, 12) + "-" + std::to_string(i);
    pthread_setname_np(threads_.back().native_handle(), thread_name.substr(0, 15).c_str());
  }
}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::shutdown() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool WorkerPool::try_submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t WorkerPool::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void WorkerPool::run(int nice) {
  // Linux applies niceness per thread when given a thread id.
  if (nice > 0) setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    job();
    std::lock_guard lock(mu_);
    --busy_;
  }
}

}  // namespace chatd
