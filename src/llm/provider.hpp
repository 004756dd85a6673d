#pragma once
// One interface for every model backend: a request (system prompt + history) goes in, text
// deltas come out as the model produces them, and an Outcome tells how it ended with the
// token usage. Implementations: openai.hpp (any OpenAI-compatible Chat Completions server),
// anthropic.hpp (Messages API), bedrock.hpp (Converse / ConverseStream), demo.hpp (offline).

#include "llm/cancel.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

struct ChatRequest {
  std::string model;                  // the model id as the upstream knows it
  std::vector<ChatMessage> messages;  // oldest first; system messages may appear anywhere
  std::optional<std::int64_t> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::vector<std::string> stop;
  bool stream = true;  // false: one non-streaming upstream call, one delta with the whole text
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

struct Outcome {
  enum class Status { complete, error, timeout, cancelled };
  Status status = Status::error;
  std::string text;  // everything delivered through on_delta, concatenated
  Usage usage;
  bool usage_reported = false;  // false: `usage` is an estimate (the upstream sent none)
  std::string finish_reason;    // "stop", "length", ... as OpenAI names them; "" when unknown
  // For status error/timeout:
  bool retryable = false;           // failed before any answer byte: another attempt may succeed
  std::int64_t retry_after_ms = 0;  // the upstream's Retry-After, when it sent one
  int upstream_status = 0;          // HTTP status of the upstream answer, 0 when there was none
  bool invalid_request = false;     // not sent: the request cannot be put to this provider as it
                                    // stands (the caller's to fix, e.g. no user message)
  std::string detail;               // safe to show a client ("the provider answered 500")
  std::string internal;             // for the log only (upstream body excerpt, socket error)
};

// "complete", "error", "timeout" or "cancelled" (logs and usage events).
inline const char* status_name(Outcome::Status status) {
  switch (status) {
    case Outcome::Status::complete: return "complete";
    case Outcome::Status::error: return "error";
    case Outcome::Status::timeout: return "timeout";
    case Outcome::Status::cancelled: return "cancelled";
  }
  return "error";
}

// Receives each text delta in order. Returns false to stop (the client went away): the
// provider then cancels the upstream call and ends with Status::cancelled.
using DeltaFn = std::function<boost::asio::awaitable<bool>(std::string_view text)>;

class Provider {
 public:
  virtual ~Provider() = default;
  // "openai", "anthropic", "bedrock" or "demo".
  virtual std::string_view kind() const = 0;
  // Runs one completion. Never throws; every failure is an Outcome. Cancelling `cancel`
  // closes the upstream connection and ends the call with Status::cancelled promptly.
  virtual boost::asio::awaitable<Outcome> complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                   Cancellation& cancel) = 0;
  // The upstream's model ids (GET {base}/models for OpenAI-compatible servers); an empty list
  // when the provider cannot list them. Errors are reported as an empty list plus `error`.
  virtual boost::asio::awaitable<std::vector<std::string>> list_models(std::string& error) {
    error.clear();
    co_return std::vector<std::string>{};
  }
};

}  // namespace chatd::llm
