#pragma once
// One interface for every model backend: a request (system prompt + history) goes in, text
// deltas come out as the model produces them, and an Outcome tells how it ended with the
// token usage. Implementations: openai.hpp (any OpenAI-compatible Chat Completions server),
// anthropic.hpp (Messages API), bedrock.hpp (Converse / ConverseStream), demo.hpp (offline).

#include "llm/cancel.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {

// An image in a user message: its bytes (from a data: URL, or fetched by chatd), or an
// https URL left to a provider that fetches images itself.
struct Image {
  std::string media_type;  // "image/png", "image/jpeg", "image/gif" or "image/webp"; "" with a URL
  std::string data;        // the raw bytes; empty when only `url` is known
  std::string url;         // set when the bytes were not read
  std::string detail;      // OpenAI's "auto", "low" or "high"; "" when not given
};

// One part of a message's content, in order: text, or an image.
struct ContentPart {
  std::string text;
  std::optional<Image> image;  // set: an image part (`text` is then empty)
};

// A function call the model asked for (an assistant message's, or an answer's).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the model wrote it
};

struct ChatMessage {
  std::string role;     // "system", "user", "assistant" or "tool"
  std::string content;  // the text (a list of text parts joined)
  // Set only when the content has images: every part in order (`content` holds its text).
  std::vector<ContentPart> parts = {};
  std::vector<ToolCall> tool_calls = {};  // an assistant's calls
  std::string tool_call_id = {};          // a "tool" message: the call it answers
};

// A function the model may call.
struct ToolDef {
  std::string name;
  std::string description;
  std::string parameters;  // the JSON Schema as JSON text; "" when none was given
  std::optional<bool> strict;
};

struct ToolChoice {
  enum class Mode { unset, automatic, none, required, function };
  Mode mode = Mode::unset;
  std::string name;  // Mode::function: the function that must be called
};

struct ResponseFormat {
  enum class Kind { unset, text, json_object, json_schema };
  Kind kind = Kind::unset;
  std::string name;         // json_schema: the schema's name
  std::string description;  // json_schema: "" when not given
  std::string schema;       // json_schema: the schema as JSON text; "" when not given
  std::optional<bool> strict;
};

struct ChatRequest {
  std::string model;                  // the model id as the upstream knows it
  std::vector<ChatMessage> messages;  // oldest first; system messages may appear anywhere
  std::optional<std::int64_t> max_tokens;
  bool max_tokens_named_completion = false;  // the caller said max_completion_tokens (OpenAI's
                                             // reasoning models accept only that name)
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::vector<std::string> stop;
  bool stream = true;  // false: one non-streaming upstream call, one delta with the whole text
  // OpenAI's request features (the /v1 endpoint); each provider passes on or translates what
  // it can and refuses the rest as an invalid request naming the parameter.
  std::vector<ToolDef> tools;
  ToolChoice tool_choice;
  std::optional<bool> parallel_tool_calls;
  ResponseFormat response_format;
  std::optional<std::int64_t> seed;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::string logit_bias;  // a JSON object as text; "" when not given
  std::string user;
  std::string reasoning_effort;  // "low", "medium", "high", ...; "" when not given
};

// An embeddings call (POST /v1/embeddings): one vector per input, in order.
struct EmbeddingRequest {
  std::string model;                              // the model id as the upstream knows it
  std::vector<std::string> texts;                 // the inputs as text, or
  std::vector<std::vector<std::int64_t>> tokens;  // as token ids (OpenAI-compatible servers only)
  std::optional<std::int64_t> dimensions;
  std::string user;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  // Details when the provider reports them (part of the counts above, not added to them).
  std::optional<std::int64_t> cached_tokens = std::nullopt;     // prompt tokens read from the provider's cache
  std::optional<std::int64_t> reasoning_tokens = std::nullopt;  // completion tokens spent on reasoning
};

struct Outcome {
  enum class Status { complete, error, timeout, cancelled };
  Status status = Status::error;
  std::string text;                            // everything delivered through on_delta, concatenated
  std::vector<ToolCall> tool_calls;            // the calls the answer asks for, whole, in order
  std::vector<std::vector<float>> embeddings;  // an embeddings call's vectors, one per input
  Usage usage;
  bool usage_reported = false;  // false: `usage` is an estimate (the upstream sent none)
  std::string finish_reason;    // "stop", "length", ... as OpenAI names them; "" when unknown
  // For status error/timeout:
  bool retryable = false;           // failed before any answer byte: another attempt may succeed
  std::int64_t retry_after_ms = 0;  // the upstream's Retry-After, when it sent one
  int upstream_status = 0;          // HTTP status of the upstream answer, 0 when there was none
  bool invalid_request = false;     // not sent: the request cannot be put to this provider as it
                                    // stands (the caller's to fix, e.g. no user message)
  std::string param;                // with invalid_request: the request field at fault, as OpenAI
                                    // names it ("tools", "messages[2].content"); "" for none
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

// A piece of a tool call as the model writes it: the first piece of a call carries its id
// and name, later ones more of its arguments (JSON text cut anywhere). `index` numbers the
// calls of one answer from 0, in the order they start.
struct ToolCallDelta {
  std::size_t index = 0;
  std::string_view id;
  std::string_view name;
  std::string_view arguments;
};

// What an answer brings next: text, or a piece of a tool call.
struct Delta {
  // NOLINTBEGIN(google-explicit-constructor): a text is a delta
  Delta(std::string_view t) : text(t) {}
  Delta(const std::string& t) : text(t) {}
  // NOLINTEND(google-explicit-constructor)
  explicit Delta(const ToolCallDelta& call) : tool_call(&call) {}
  // No content: whatever a receiver held back (see `more`) is to be sent now.
  static Delta flush() { return Delta(std::string_view()); }
  std::string_view text;
  const ToolCallDelta* tool_call = nullptr;
  // More deltas are ready right now (the upstream sent several at once): a receiver may hold
  // this one back and send them together. A delta with `more` false, or a flush(), follows
  // before the provider waits for the upstream again. Never set on an answer's first delta.
  bool more = false;
};

// Receives each delta in order. Returns false to stop (the client went away): the provider
// then cancels the upstream call and ends with Status::cancelled.
using DeltaFn = std::function<boost::asio::awaitable<bool>(const Delta& delta)>;

class Provider {
 public:
  virtual ~Provider() = default;
  // "openai", "anthropic", "bedrock" or "demo".
  virtual std::string_view kind() const = 0;
  // Runs one completion and writes how it went into `out`, which the caller owns and passes
  // in fresh (a default Outcome). Not a returned Outcome: a stream keeps every coroutine frame
  // on its way suspended for as long as it lasts, and a returned value would take room in each
  // frame and promise along the way. Never throws; every failure is an Outcome. Cancelling
  // `cancel` closes the upstream connection and ends the call with Status::cancelled promptly.
  virtual boost::asio::awaitable<void> complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                Cancellation& cancel, Outcome& out) = 0;
  // Runs one embeddings call: Outcome::embeddings and the prompt tokens of Outcome::usage.
  // Never throws. The default refuses: this provider offers no embeddings.
  virtual boost::asio::awaitable<Outcome> embed(const EmbeddingRequest& request, Cancellation& cancel) {
    (void)request;
    (void)cancel;
    Outcome out;
    out.invalid_request = true;
    out.param = "model";
    out.detail = "this model's provider offers no embeddings";
    out.internal = "request not sent: " + out.detail;
    co_return out;
  }
  // The upstream's model ids (GET {base}/models for OpenAI-compatible servers); an empty list
  // when the provider cannot list them. Errors are reported as an empty list plus `error`.
  virtual boost::asio::awaitable<std::vector<std::string>> list_models(std::string& error) {
    error.clear();
    co_return std::vector<std::string>{};
  }
};

}  // namespace chatd::llm
