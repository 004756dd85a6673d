#pragma once
// A Provider for unit tests: each call to complete() plays the next scripted Reply (deltas,
// then an ending with usage or an error) and records the request it was given. Talks to no
// network. A call with nothing left in the script ends in a non-retryable error naming that,
// so an unexpected extra call shows up in the test's assertions.

#include "llm/provider.hpp"

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::unit {

struct Reply {
  std::vector<std::string> deltas;  // passed to on_delta in order, before the ending
  llm::Outcome::Status status = llm::Outcome::Status::complete;
  llm::Usage usage;
  bool retryable = false;
  std::int64_t retry_after_ms = 0;
  int upstream_status = 0;
  std::string detail;
  // Runs when the call starts, e.g. to cancel the call from outside (posting cancel()).
  std::function<void(llm::Cancellation&)> on_call;
};

// A complete answer made of `deltas` that reports `usage`.
inline Reply answer(std::vector<std::string> deltas, llm::Usage usage = {10, 5}) {
  Reply r;
  r.deltas = std::move(deltas);
  r.usage = usage;
  return r;
}

// A failure before any text: an upstream 503 (retryable) by default.
inline Reply failure(bool retryable = true, int upstream_status = 503) {
  Reply r;
  r.status = llm::Outcome::Status::error;
  r.retryable = retryable;
  r.upstream_status = upstream_status;
  r.detail = "the provider answered " + std::to_string(upstream_status);
  return r;
}

class ScriptedProvider final : public llm::Provider {
 public:
  std::string_view kind() const override { return "openai"; }

  void script(Reply reply) { replies_.push_back(std::move(reply)); }
  // Every request complete() was called with, in order.
  const std::vector<llm::ChatRequest>& requests() const { return requests_; }
  std::size_t calls() const { return requests_.size(); }

  boost::asio::awaitable<void> complete(const llm::ChatRequest& request, const llm::DeltaFn& on_delta,
                                        llm::Cancellation& cancel, llm::Outcome& out) override {
    requests_.push_back(request);
    if (replies_.empty()) {
      out.status = llm::Outcome::Status::error;
      out.detail = "the scripted provider has no reply left";
      co_return;
    }
    Reply reply = std::move(replies_.front());
    replies_.pop_front();
    if (reply.on_call) reply.on_call(cancel);
    for (const auto& delta : reply.deltas) {
      if (cancel.cancelled()) break;
      out.text += delta;
      if (!co_await on_delta(delta)) {
        cancel.cancel();
        break;
      }
    }
    if (cancel.cancelled()) {
      out.status = llm::Outcome::Status::cancelled;
      co_return;
    }
    out.status = reply.status;
    out.usage = reply.usage;
    out.usage_reported = reply.status == llm::Outcome::Status::complete;
    out.finish_reason = reply.status == llm::Outcome::Status::complete ? "stop" : "";
    out.retryable = reply.retryable && out.text.empty();
    out.retry_after_ms = reply.retry_after_ms;
    out.upstream_status = reply.upstream_status;
    out.detail = reply.detail;
    co_return;
  }

 private:
  std::deque<Reply> replies_;
  std::vector<llm::ChatRequest> requests_;
};

}  // namespace chatd::unit
