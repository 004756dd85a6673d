#pragma once
// A Transport for provider tests: records what it was asked to send and replays a scripted
// answer (status, headers, body in given chunks, optionally ending in a read error), and a few
// helpers to run a provider call to its end on a local io_context.

#include "../run_awaitable.hpp"
#include "core/result.hpp"
#include "llm/cancel.hpp"
#include "llm/exchange.hpp"
#include "llm/provider.hpp"
#include "llm/transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::llm::fake {

struct Script {
  std::optional<Code> send_error;  // send() itself fails with this code
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> chunks;  // the body, as read_some() hands it out
  std::optional<Code> read_error;   // after the chunks, read_some() fails instead of ending
};

class FakeResponse final : public UpstreamResponse {
 public:
  FakeResponse(const Script& script, Cancellation& cancel, std::size_t& reads)
      : script_(script), cancel_(cancel), reads_(reads) {}

  int status() const override { return script_.status; }

  std::optional<std::string> header(std::string_view name) const override {
    for (const auto& [n, v] : script_.headers) {
      if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return std::nullopt;
  }

  boost::asio::awaitable<Result<std::string>> read_some() override {
    ++reads_;
    // Like the real client: a cancelled call's connection is closed, so reads fail.
    if (cancel_.cancelled()) co_return fail(Code::upstream, "cancelled");
    if (next_ < script_.chunks.size()) co_return script_.chunks[next_++];
    if (script_.read_error) co_return fail(*script_.read_error, "scripted read failure");
    co_return std::string();
  }

 private:
  const Script& script_;
  Cancellation& cancel_;
  std::size_t& reads_;
  std::size_t next_ = 0;
};

class FakeTransport final : public Transport {
 public:
  Script script;
  // When not empty, the n-th send() answers with scripts[n] instead of `script` (and with the
  // last one once they run out), e.g. a redirect and then its target.
  std::vector<Script> scripts;
  std::vector<UpstreamRequest> requests;  // every request sent, in order
  Timeouts last_timeouts;
  std::size_t reads = 0;

  boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> send(UpstreamRequest request, Timeouts timeouts,
                                                                         Cancellation& cancel) override {
    requests.push_back(std::move(request));
    last_timeouts = timeouts;
    const Script& answer = scripts.empty() ? script : scripts[std::min(requests.size(), scripts.size()) - 1];
    if (answer.send_error) co_return fail(*answer.send_error, "scripted send failure");
    std::unique_ptr<UpstreamResponse> response = std::make_unique<FakeResponse>(answer, cancel, reads);
    co_return response;
  }

  // The value of the first header of the last request called `name` (exact, lower case).
  std::optional<std::string> sent_header(std::string_view name) const {
    if (requests.empty()) return std::nullopt;
    for (const auto& [n, v] : requests.back().headers) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
};

using unit::run;

// provider.complete() as a value.
inline boost::asio::awaitable<Outcome> outcome_of(Provider& provider, const ChatRequest& request,
                                                  const DeltaFn& on_delta, Cancellation& cancel) {
  Outcome out;
  co_await provider.complete(request, on_delta, cancel, out);
  co_return out;
}

struct CallResult {
  Outcome outcome;
  std::vector<std::string> deltas;        // text deltas
  std::vector<ToolCallPiece> tool_calls;  // tool call deltas, as received
  std::string joined() const {
    std::string s;
    for (const auto& d : deltas) s += d;
    return s;
  }
};

// Runs provider.complete(); on_delta records each delta and answers false once `stop_after`
// deltas were received (never when nullopt).
inline CallResult call(Provider& provider, const ChatRequest& request, Cancellation& cancel,
                       std::optional<std::size_t> stop_after = std::nullopt) {
  CallResult result;
  DeltaFn on_delta = [&result, stop_after](const llm::Delta& delta) -> boost::asio::awaitable<bool> {
    if (delta.tool_call != nullptr) {
      const ToolCallDelta& t = *delta.tool_call;
      result.tool_calls.push_back({t.index, std::string(t.id), std::string(t.name), std::string(t.arguments)});
    } else if (!delta.text.empty()) {  // (an empty one is a flush)
      result.deltas.emplace_back(delta.text);
    }
    co_return !(stop_after && result.deltas.size() + result.tool_calls.size() >= *stop_after);
  };
  result.outcome = run(outcome_of(provider, request, on_delta, cancel));
  return result;
}

inline CallResult call(Provider& provider, const ChatRequest& request) {
  Cancellation cancel;
  return call(provider, request, cancel);
}

// Checks a provider's non-streaming answer `body` whose usage no model can report: the call
// completes, the usage counts as not reported and is estimated, the completion from `text`.
inline void expect_usage_estimated(Provider& provider, FakeTransport& transport, std::string body,
                                   std::int64_t completion_estimate) {
  ChatRequest request;
  request.model = "m";
  request.messages = {{"user", "Say hello"}};
  request.stream = false;
  transport.script.chunks = {std::move(body)};
  auto r = call(provider, request);
  ASSERT_EQ(r.outcome.status, Outcome::Status::complete) << r.outcome.internal;
  EXPECT_FALSE(r.outcome.usage_reported);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 3 + 4);  // "Say hello": 9 bytes, plus 4 per message
  EXPECT_EQ(r.outcome.usage.completion_tokens, completion_estimate);
}

// Checks that messages with nothing a user said are refused as the caller's to fix, unsent.
inline void expect_refused_without_user_message(Provider& provider, FakeTransport& transport,
                                                std::vector<ChatMessage> messages) {
  ChatRequest request;
  request.model = "m";
  request.messages = std::move(messages);
  const std::size_t sent = transport.requests.size();
  auto r = call(provider, request);
  EXPECT_EQ(r.outcome.status, Outcome::Status::error);
  EXPECT_TRUE(r.outcome.invalid_request);
  EXPECT_FALSE(r.outcome.retryable);
  EXPECT_EQ(transport.requests.size(), sent);
}

// `body` split in two at `at`.
inline std::vector<std::string> split_at(std::string_view body, std::size_t at) {
  return {std::string(body.substr(0, at)), std::string(body.substr(at))};
}

// `body` in pieces of `size` bytes.
inline std::vector<std::string> split_every(std::string_view body, std::size_t size) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < body.size(); i += size) out.emplace_back(body.substr(i, size));
  return out;
}

// Answers `request` with `body` split at every byte position, then in one-byte pieces, each
// time through a fresh provider from `make(transport)`, and hands every result to `check`.
template <class Make, class Check>
void for_every_split(std::string_view body, const ChatRequest& request, Make make, Check check) {
  std::vector<std::vector<std::string>> splits;
  for (std::size_t at = 1; at < body.size(); ++at) splits.push_back(split_at(body, at));
  splits.push_back(split_every(body, 1));
  for (std::size_t i = 0; i < splits.size(); ++i) {
    FakeTransport transport;
    transport.script.chunks = splits[i];
    auto provider = make(transport);
    SCOPED_TRACE(i + 1 < splits.size() ? "split at " + std::to_string(i + 1) : std::string("one-byte pieces"));
    check(call(*provider, request));
  }
}

}  // namespace chatd::llm::fake
