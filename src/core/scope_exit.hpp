#pragma once
// Runs a function when the scope is left, however it is left (return, exception): the
// clean-up of a borrowed connection or an open transaction stays next to the borrowing.

#include <utility>

namespace chatd {

template <class F>
class ScopeExit {
 public:
  explicit ScopeExit(F fn) : fn_(std::move(fn)) {}
  ~ScopeExit() { fn_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ScopeExit(ScopeExit&&) = delete;
  ScopeExit& operator=(ScopeExit&&) = delete;

 private:
  F fn_;
};

}  // namespace chatd
