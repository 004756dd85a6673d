// Gateway: model discovery runs on a thread of its own (app.cpp's Discovery) while the
// network threads look models up (under ThreadSanitizer, the test of the discovered model
// lists' locking); and the retries, fallbacks, timeouts and cancellation of complete(),
// played against scripted providers.

#include "llm/gateway.hpp"

#include "../run_awaitable.hpp"
#include "fake_transport.hpp"
#include "scripted_provider.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
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
  boost::asio::awaitable<void> complete(const ChatRequest&, const DeltaFn&, Cancellation&, Outcome& out) override {
    out.status = Outcome::Status::complete;
    co_return;
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

// --- complete(): retries, fallbacks, timeouts, cancellation ---

using unit::ScriptedProvider;

// Model "a" on provider "pa", "b" on "pb", "c" on "pc"; "a" falls back to "b" then "c". Two
// attempts per model, no backoff (unless a test says otherwise).
class GatewayCompleteTest : public ::testing::Test {
 protected:
  GatewayCompleteTest() {
    for (const char* name : {"a", "b", "c"}) {
      ProviderSpec p;
      p.name = std::string("p") + name;
      p.type = "openai";
      p.retries.max_attempts = 2;
      p.retries.backoff_ms = 0;
      ModelSpec m;
      m.id = name;
      m.upstream_id = std::string("upstream-") + name;
      p.models.push_back(m);
      catalog_.providers.push_back(p);
    }
    catalog_.providers[0].models[0].fallbacks = {"b", "c"};
    catalog_.providers[0].models[0].price = {1.0, 2.0};
  }

  Gateway& gateway() {
    if (!gateway_) {
      gateway_ = std::make_unique<Gateway>(
          catalog_,
          [this](const ProviderSpec& spec) {
            auto p = std::make_unique<ScriptedProvider>();
            providers_[spec.name] = p.get();
            return p;
          },
          log_, metrics_);
    }
    return *gateway_;
  }
  ScriptedProvider& provider(const std::string& name) {
    gateway();
    return *providers_.at(name);
  }

  GatewayResult complete(const std::string& model, ChatRequest request = {}) {
    Cancellation cancel;
    return complete(model, std::move(request), cancel);
  }
  GatewayResult complete(const std::string& model, ChatRequest request, Cancellation& cancel) {
    if (request.messages.empty()) request.messages.push_back({"user", "hi"});
    DeltaFn on_delta = [this](const llm::Delta& delta) -> boost::asio::awaitable<bool> {
      const std::string_view text = delta.text;
      if (text.empty()) co_return true;  // a flush
      deltas_.emplace_back(text);
      co_return true;
    };
    GatewayResult result;
    unit::run(ioc_, gateway().complete(model, request, on_delta, cancel, result));
    return result;
  }

  static std::vector<std::string> attempts(const GatewayResult& r) {
    std::vector<std::string> out;
    for (const auto& a : r.attempts) out.push_back(a.model + ":" + status_name(a.status));
    return out;
  }

  Catalog catalog_;
  Logger log_{LogLevel::error, LogFormat::json};
  obs::Metrics metrics_{{}, "test"};
  std::map<std::string, ScriptedProvider*> providers_;
  std::unique_ptr<Gateway> gateway_;
  boost::asio::io_context ioc_;
  std::vector<std::string> deltas_;
};

TEST_F(GatewayCompleteTest, AFailureBeforeAnyTextIsRetriedOnTheSameModel) {
  provider("pa").script(unit::failure());
  provider("pa").script(unit::answer({"Hi ", "there"}, {10, 4}));
  auto r = complete("a");
  EXPECT_EQ(r.outcome.status, Outcome::Status::complete);
  EXPECT_EQ(r.outcome.text, "Hi there");
  EXPECT_EQ(r.model, "a");
  EXPECT_EQ(r.provider, "pa");
  EXPECT_EQ(attempts(r), (std::vector<std::string>{"a:error", "a:complete"}));
  EXPECT_EQ(deltas_, (std::vector<std::string>{"Hi ", "there"}));
  ASSERT_EQ(provider("pa").calls(), 2u);
  EXPECT_EQ(provider("pa").requests()[0].model, "upstream-a");
  EXPECT_EQ(provider("pa").requests()[1].model, "upstream-a");
  EXPECT_EQ(provider("pb").calls(), 0u);
  // Priced per attempt: 10 prompt tokens at 1 USD and 4 completion tokens at 2 USD per million.
  EXPECT_DOUBLE_EQ(r.attempts[1].cost_usd, 18e-6);
  EXPECT_DOUBLE_EQ(r.attempts[0].cost_usd, 0);
}

TEST_F(GatewayCompleteTest, AnErrorTheUpstreamWouldRepeatIsNeitherRetriedNorFallenBack) {
  provider("pa").script(unit::failure(false, 400));
  auto r = complete("a");
  EXPECT_EQ(r.outcome.status, Outcome::Status::error);
  EXPECT_EQ(r.outcome.upstream_status, 400);
  EXPECT_EQ(r.outcome.detail, "the provider answered 400");
  EXPECT_EQ(attempts(r), std::vector<std::string>{"a:error"});
  EXPECT_EQ(provider("pb").calls(), 0u);
}

TEST_F(GatewayCompleteTest, OnceTextReachedTheCallerNothingIsRetried) {
  unit::Reply broken = unit::failure();
  broken.deltas = {"Par"};
  provider("pa").script(broken);
  auto r = complete("a");
  EXPECT_EQ(r.outcome.status, Outcome::Status::error);
  EXPECT_EQ(r.outcome.text, "Par");
  EXPECT_EQ(deltas_, std::vector<std::string>{"Par"});
  EXPECT_EQ(provider("pa").calls(), 1u);
  EXPECT_EQ(provider("pb").calls(), 0u);
}

TEST_F(GatewayCompleteTest, SpentRetriesFallBackToTheNextModelsInOrder) {
  for (const char* p : {"pa", "pa", "pb", "pb"}) provider(p).script(unit::failure());
  provider("pc").script(unit::answer({"from c"}));
  auto r = complete("a");
  EXPECT_EQ(r.outcome.status, Outcome::Status::complete);
  EXPECT_EQ(r.model, "c");
  EXPECT_EQ(r.provider, "pc");
  EXPECT_EQ(attempts(r), (std::vector<std::string>{"a:error", "a:error", "b:error", "b:error", "c:complete"}));
  EXPECT_EQ(provider("pc").requests().at(0).model, "upstream-c");
  EXPECT_EQ(deltas_, std::vector<std::string>{"from c"});
}

TEST_F(GatewayCompleteTest, WhenEveryModelFailsTheLastFailureIsTheAnswer) {
  for (const char* p : {"pa", "pa", "pb", "pb", "pc"}) provider(p).script(unit::failure());
  provider("pc").script(unit::failure(true, 502));
  auto r = complete("a");
  EXPECT_EQ(r.outcome.status, Outcome::Status::error);
  EXPECT_EQ(r.outcome.upstream_status, 502);
  EXPECT_EQ(r.model, "c");
  EXPECT_EQ(r.attempts.size(), 6u);
}

TEST_F(GatewayCompleteTest, ATimeoutIsNotRetriedButFallsBack) {
  unit::Reply slow = unit::failure();
  slow.status = Outcome::Status::timeout;
  provider("pa").script(slow);
  provider("pb").script(unit::answer({"b here"}));
  auto r = complete("a");
  EXPECT_EQ(r.outcome.status, Outcome::Status::complete);
  EXPECT_EQ(attempts(r), (std::vector<std::string>{"a:timeout", "b:complete"}));
  EXPECT_EQ(provider("pa").calls(), 1u);
}

TEST_F(GatewayCompleteTest, ARetryAfterIsHonouredWithinItsBoundAndBeyondItFallsBackAtOnce) {
  unit::Reply soon = unit::failure(true, 429);
  soon.retry_after_ms = 1;
  provider("pa").script(soon);
  provider("pa").script(unit::answer({"ok"}));
  EXPECT_EQ(attempts(complete("a")), (std::vector<std::string>{"a:error", "a:complete"}));

  unit::Reply later = unit::failure(true, 429);
  later.retry_after_ms = catalog_.providers[0].retries.max_retry_after_ms + 1;
  provider("pa").script(later);
  provider("pb").script(unit::answer({"ok"}));
  EXPECT_EQ(attempts(complete("a")), (std::vector<std::string>{"a:error", "b:complete"}));
  EXPECT_EQ(provider("pa").calls(), 3u);
}

TEST_F(GatewayCompleteTest, CancellingDuringTheBackoffEndsTheCallAtOnce) {
  catalog_.providers[0].retries.backoff_ms = 3'600'000;  // an hour: the test would hang if it waited
  catalog_.providers[0].retries.max_backoff_ms = 3'600'000;
  unit::Reply failing = unit::failure();
  // The client goes away while the gateway waits to retry.
  failing.on_call = [this](Cancellation& cancel) { boost::asio::post(ioc_, [&cancel] { cancel.cancel(); }); };
  provider("pa").script(failing);
  Cancellation cancel;
  auto r = complete("a", {}, cancel);
  EXPECT_EQ(r.outcome.status, Outcome::Status::cancelled);
  EXPECT_EQ(provider("pa").calls(), 1u);
  EXPECT_EQ(provider("pb").calls(), 0u);
}

TEST_F(GatewayCompleteTest, TheModelsOutputLimitCapsTheRequest) {
  catalog_.providers[0].models[0].max_output_tokens = 100;
  for (int n = 0; n < 3; ++n) provider("pa").script(unit::answer({"x"}));
  ChatRequest wants_more;
  wants_more.max_tokens = 500;
  complete("a", wants_more);
  ChatRequest wants_less;
  wants_less.max_tokens = 50;
  complete("a", wants_less);
  complete("a");
  ASSERT_EQ(provider("pa").calls(), 3u);
  EXPECT_EQ(provider("pa").requests()[0].max_tokens, 100);
  EXPECT_EQ(provider("pa").requests()[1].max_tokens, 50);
  EXPECT_EQ(provider("pa").requests()[2].max_tokens, 100);
}

// Each candidate caps what the caller asked for with its own limit: a fallback is not held
// to the previous model's output cap.
TEST_F(GatewayCompleteTest, AFallbackIsNotHeldToThePreviousModelsOutputLimit) {
  catalog_.providers[0].models[0].max_output_tokens = 100;
  for (int n = 0; n < 2; ++n) {
    provider("pa").script(unit::failure());
    provider("pa").script(unit::failure());
    provider("pb").script(unit::answer({"b"}));
  }
  ChatRequest wants_more;
  wants_more.max_tokens = 500;
  complete("a", wants_more);
  complete("a");
  ASSERT_EQ(provider("pb").calls(), 2u);
  EXPECT_EQ(provider("pa").requests().at(0).max_tokens, 100);
  EXPECT_EQ(provider("pb").requests()[0].max_tokens, 500);
  EXPECT_EQ(provider("pb").requests()[1].max_tokens, std::nullopt);
}

TEST_F(GatewayCompleteTest, AnUnknownModelMakesNoAttemptAndEachFallbackIsTriedOnce) {
  catalog_.providers[0].models[0].fallbacks = {"a", "b", "b", "nope"};
  catalog_.providers[0].retries.max_attempts = 1;
  catalog_.providers[1].retries.max_attempts = 1;
  auto r = complete("nope");
  EXPECT_EQ(r.outcome.status, Outcome::Status::error);
  EXPECT_EQ(r.outcome.detail, "the model is not available");
  EXPECT_TRUE(r.attempts.empty());

  provider("pa").script(unit::failure());
  provider("pb").script(unit::failure());
  auto all = complete("a");
  EXPECT_EQ(attempts(all), (std::vector<std::string>{"a:error", "b:error"}));
  EXPECT_EQ(provider("pc").calls(), 0u);
}

// --- https images for Bedrock, fetched when the chain reaches a Bedrock model ---

// "b" is on a Bedrock provider; images are fetched through a fake transport.
class GatewayImagesTest : public GatewayCompleteTest {
 protected:
  GatewayImagesTest() {
    catalog_.providers[1].type = "bedrock";
    ImageFetchOptions options;
    options.max_bytes = 1000;
    gateway().fetch_images_with(images_, options);
  }

  static ChatRequest with_image(const std::string& url) {
    ChatRequest request;
    ChatMessage m{"user", "what is this?"};
    m.parts.push_back({"what is this?", std::nullopt});
    Image image;
    image.url = url;
    m.parts.push_back({"", image});
    request.messages.push_back(m);
    return request;
  }

  static fake::Script png() {
    fake::Script s;
    s.headers = {{"Content-Type", "image/png"}};
    s.chunks = {kPng};
    return s;
  }

  inline static const std::string kPng = std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01", 24);
  fake::FakeTransport images_;
};

TEST_F(GatewayImagesTest, AFallbackToBedrockGetsTheImageBytesTheModelBeforeGotAsAnUrl) {
  provider("pa").script(unit::failure());
  provider("pa").script(unit::failure());
  provider("pb").script(unit::answer({"a red square"}));
  images_.script = png();
  auto r = complete("a", with_image("https://images.example/red.png"));
  EXPECT_EQ(r.outcome.status, Outcome::Status::complete);
  EXPECT_EQ(r.model, "b");
  EXPECT_EQ(attempts(r), (std::vector<std::string>{"a:error", "a:error", "b:complete"}));
  // The OpenAI-compatible model was given the URL, and nothing was fetched for it.
  ASSERT_EQ(provider("pa").calls(), 2u);
  const Image& sent_to_a = *provider("pa").requests()[0].messages[0].parts[1].image;
  EXPECT_EQ(sent_to_a.url, "https://images.example/red.png");
  EXPECT_EQ(sent_to_a.data, "");
  // Fetched once, for Bedrock: the bytes and the type they show.
  ASSERT_EQ(images_.requests.size(), 1u);
  ASSERT_EQ(provider("pb").calls(), 1u);
  const Image& sent_to_b = *provider("pb").requests()[0].messages[0].parts[1].image;
  EXPECT_EQ(sent_to_b.data, kPng);
  EXPECT_EQ(sent_to_b.media_type, "image/png");
  EXPECT_EQ(sent_to_b.url, "");
}

TEST_F(GatewayImagesTest, AnImageThatCannotBeFetchedIsTheClientsErrorAndBedrockIsNotCalled) {
  provider("pa").script(unit::failure());
  provider("pa").script(unit::failure());
  images_.script.status = 404;
  auto r = complete("a", with_image("https://images.example/missing.png"));
  EXPECT_EQ(r.outcome.status, Outcome::Status::error);
  EXPECT_TRUE(r.outcome.invalid_request);
  EXPECT_EQ(r.outcome.param, "messages[0].content[1].image_url.url");
  EXPECT_TRUE(r.outcome.detail.starts_with("the image could not be fetched: ")) << r.outcome.detail;
  EXPECT_EQ(attempts(r), (std::vector<std::string>{"a:error", "a:error"}));
  EXPECT_EQ(provider("pb").calls(), 0u);
  EXPECT_EQ(provider("pc").calls(), 0u);
}

TEST_F(GatewayImagesTest, ImagesGivenAsBytesAreNotFetched) {
  provider("pb").script(unit::answer({"ok"}));
  ChatRequest request = with_image("");
  Image& image = *request.messages[0].parts[1].image;
  image.data = kPng;
  image.media_type = "image/png";
  auto r = complete("b", request);
  EXPECT_EQ(r.outcome.status, Outcome::Status::complete);
  EXPECT_EQ(images_.requests.size(), 0u);
  EXPECT_EQ(provider("pb").requests()[0].messages[0].parts[1].image->data, kPng);
}

}  // namespace
}  // namespace chatd::llm
