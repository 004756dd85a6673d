#pragma once
// Cancellation of one upstream call. The side that wants the call stopped (the HTTP layer,
// when its client goes away) calls cancel(); the side doing the I/O registers what stopping
// means (closing its socket) with on_cancel(). Both live on one network thread: no locking.

#include <functional>
#include <utility>

namespace chatd::llm {

class Cancellation {
 public:
  Cancellation() = default;
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;
  ~Cancellation() = default;

  // Idempotent. Runs the registered action once.
  void cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    auto fn = std::exchange(action_, {});
    if (fn) fn();
  }
  bool cancelled() const { return cancelled_; }

  // Replaces the action (an empty function clears it). Runs it at once when already cancelled.
  // Whoever registers an action must clear it before the objects it touches go away.
  void on_cancel(std::function<void()> fn) {
    if (cancelled_) {
      if (fn) fn();
      return;
    }
    action_ = std::move(fn);
  }

 private:
  bool cancelled_ = false;
  std::function<void()> action_;
};

}  // namespace chatd::llm
