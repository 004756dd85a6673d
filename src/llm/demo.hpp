#pragma once
// The built-in "demo" model, used only when no real provider is configured: it streams a short
// canned text saying so (and how to configure one), so the product can be tried offline.

#include "llm/provider.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace chatd::llm {

struct DemoOptions {
  std::chrono::milliseconds delay{25};  // between two deltas; 0 streams without waiting
};

// The canned answer to `request`, split into the deltas the demo sends (each word with the
// whitespace after it). It quotes the start of the last user message.
std::vector<std::string> demo_answer(const ChatRequest& request);

class DemoProvider final : public Provider {
 public:
  explicit DemoProvider(DemoOptions options = {});

  std::string_view kind() const override { return "demo"; }
  // Always completes (usage estimated, finish_reason "stop") unless cancelled.
  boost::asio::awaitable<void> complete(const ChatRequest& request, const DeltaFn& on_delta, Cancellation& cancel,
                                        Outcome& out) override;
  // {"demo"}.
  boost::asio::awaitable<std::vector<std::string>> list_models(std::string& error) override;

 private:
  DemoOptions options_;
};

}  // namespace chatd::llm
