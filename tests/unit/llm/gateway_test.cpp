// Gateway: model discovery runs on a thread of its own (app.cpp's Discovery) while the
// network threads look models up. Under ThreadSanitizer this is the test of the discovered
// model lists' locking.

#include "llm/gateway.hpp"

#include "../run_awaitable.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace chatd::llm {
namespace {

// Lists its models only from the `failures + 1`-th call on, as a server that comes up late.
class LateListingProvider final : public Provider {
 public:
  explicit LateListingProvider(int failures) : failures_(failures) {}
  std::string_view kind() const override { return "openai"; }
  boost::asio::awaitable<Outcome> complete(const ChatRequest&, const DeltaFn&, Cancellation&) override {
    Outcome out;
    out.status = Outcome::Status::complete;
    co_return out;
  }
  boost::asio::awaitable<std::vector<std::string>> list_models(std::string& error) override {
    if (calls_++ < failures_) {
      error = "connection refused";
      co_return std::vector<std::string>{};
    }
    error.clear();
    co_return std::vector<std::string>{"found-a", "found-b"};
  }

 private:
  const int failures_;
  int calls_ = 0;  // the discovery thread's only
};

TEST(Gateway, DiscoveryOnItsOwnThreadWhileRequestsLookModelsUp) {
  Catalog catalog;
  ProviderSpec listed;
  listed.name = "listed";
  listed.type = "openai";
  ModelSpec fixed;
  fixed.id = fixed.upstream_id = "fixed";
  listed.models.push_back(fixed);
  ProviderSpec late;
  late.name = "late";
  late.type = "openai";
  late.discover_models = true;
  late.discovered_defaults.context_window = 4096;
  catalog.providers = {listed, late};
  Logger log(LogLevel::error, LogFormat::json);
  obs::Metrics metrics({}, "test");
  Gateway gateway(
      std::move(catalog), [](const ProviderSpec&) { return std::make_unique<LateListingProvider>(200); }, log, metrics);
  ASSERT_TRUE(gateway.needs_discovery());

  std::atomic<bool> discovered{false};
  std::thread discovery([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (gateway.needs_discovery() && std::chrono::steady_clock::now() < deadline) unit::run(gateway.discover());
    discovered = true;
  });
  std::vector<std::string> failures(2);
  std::vector<std::thread> network;
  for (int t = 0; t < 2; ++t) {
    network.emplace_back([&, t] {
      while (!discovered.load()) {
        auto models = gateway.models();
        if (models.empty() || models.front().id != "fixed") failures[t] = "the listed model is missing";
        if (!gateway.find("fixed")) failures[t] = "find(fixed) failed";
        if (gateway.default_model() != "fixed") failures[t] = "default model " + gateway.default_model();
        if (auto found = gateway.find("found-a"); found && found->context_window != 4096)
          failures[t] = "a discovered model without its defaults";
      }
    });
  }
  discovery.join();
  for (auto& th : network) th.join();

  EXPECT_EQ(failures[0], "");
  EXPECT_EQ(failures[1], "");
  EXPECT_FALSE(gateway.needs_discovery());
  auto models = gateway.models();
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(models[1].id, "found-a");
  EXPECT_EQ(models[2].id, "found-b");
  EXPECT_EQ(models[2].provider, "late");
}

}  // namespace
}  // namespace chatd::llm
