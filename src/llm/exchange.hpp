#pragma once
// The part of a completion every HTTP provider does the same way: send the request, turn an
// HTTP error into an Outcome, then either stream the body through a provider-specific decoder
// (delivering deltas, watching for cancellation, truncation and limits) or parse it whole.
// Providers contribute only plain functions: a request, a StreamDecoder, a whole-body parser.

#include "core/result.hpp"
#include "llm/cancel.hpp"
#include "llm/provider.hpp"
#include "llm/sse.hpp"
#include "llm/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {

struct StreamFailure {
  std::string internal;    // what went wrong, for the log
  bool transient = false;  // the upstream reported an overload or internal error: retrying may help
};

// A piece of a tool call as a decoder read it (see ToolCallDelta). Decoders number the calls
// of an answer 0, 1, 2, ... in the order they start, whatever the wire format numbers.
struct ToolCallPiece {
  std::size_t index = 0;
  std::string id;
  std::string name;
  std::string arguments;
};

// What a decoder learnt from the body so far. The driver drains `deltas` and then
// `tool_calls` after every feed.
struct StreamProgress {
  std::vector<std::string> deltas;
  std::vector<ToolCallPiece> tool_calls;
  bool finished = false;  // the stream's terminator arrived: the answer is complete
  std::optional<std::int64_t> prompt_tokens;
  std::optional<std::int64_t> completion_tokens;
  std::optional<std::int64_t> cached_tokens;
  std::optional<std::int64_t> reasoning_tokens;
  std::string finish_reason;
  std::optional<StreamFailure> failure;  // the driver stops at the first one
};

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Consumes the next piece of the body (any split). Never throws.
  virtual void feed(std::string_view chunk, StreamProgress& progress) = 0;
  // The body ended. A decoder holding a partial message reports it as a failure here.
  virtual void finish(StreamProgress& progress) { (void)progress; }
  // How much of `bytes` to feed first: up to the end of the first message in it, when that
  // is cheap to see. Any split is correct; this only lets the driver pass on the first
  // delta of a piece holding many before it decodes the rest.
  virtual std::size_t first_message_end(std::string_view bytes) const { return bytes.size(); }
  // Whether `bytes` (what is left of a piece after first_message_end) holds a whole message:
  // then the deltas decoded before it are passed on with Delta::more. False when unsure.
  virtual bool holds_whole_message(std::string_view bytes) const {
    (void)bytes;
    return false;
  }
};

// A decoder of a text/event-stream body: parses the SSE framing and hands each event to
// handle(), until the progress is finished or failed. A framing error fails the stream.
class SseStreamDecoder : public StreamDecoder {
 public:
  static constexpr std::size_t kMaxEventBytes = 1 << 20;
  void feed(std::string_view chunk, StreamProgress& progress) final;
  std::size_t first_message_end(std::string_view bytes) const final;
  bool holds_whole_message(std::string_view bytes) const final;

 protected:
  virtual void handle(const SseEvent& event, StreamProgress& progress) = 0;

 private:
  SseParser sse_{kMaxEventBytes};
  std::vector<SseEvent> events_;
};

// A non-streaming answer.
struct WholeAnswer {
  std::string text;
  std::vector<ToolCall> tool_calls;
  std::optional<std::int64_t> prompt_tokens;
  std::optional<std::int64_t> completion_tokens;
  std::optional<std::int64_t> cached_tokens;
  std::optional<std::int64_t> reasoning_tokens;
  std::string finish_reason;
};
// Parses a whole 2xx body; Code::upstream with `internal` set when it is malformed. Never throws.
using WholeParser = Result<WholeAnswer> (*)(std::string_view body);

struct Exchange {
  UpstreamRequest request;
  Timeouts timeouts;
  StreamDecoder* decoder = nullptr;                    // set: a streaming call
  WholeParser parse_whole = nullptr;                   // used when `decoder` is null
  std::string secret;                                  // removed from everything that goes into `internal`
  std::string error_type_header;                       // a header naming the error type (AWS: x-amzn-ErrorType)
  const std::vector<ChatMessage>* messages = nullptr;  // for usage estimates
};

inline constexpr std::size_t kMaxErrorBodyBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxWholeBodyBytes = std::size_t{16} * 1024 * 1024;
inline constexpr std::size_t kMaxAnswerBytes = std::size_t{16} * 1024 * 1024;  // text and tool calls
inline constexpr std::size_t kMaxToolCalls = 128;                              // in one answer

// Runs `exchange` and fills `out` (which the caller owns, so a partial answer survives even an
// exception escaping from `on_delta`; the caller passes it in fresh). Usage is filled (reported
// or estimated) whenever the upstream accepted the request with a 2xx answer, and left zero
// otherwise. `cancel` is cancelled only when on_delta refuses a delta: after other failures the
// response is simply dropped (an unfinished body closes the connection), so the caller may reuse
// `cancel` for a retry. Never throws: an exception escaping the exchange (from on_delta, or an
// allocation) ends it as an error, with what was delivered until then kept.
boost::asio::awaitable<void> run_exchange(Transport& transport, Exchange& exchange, const DeltaFn& on_delta,
                                          Cancellation& cancel, Outcome& out);

// The first half of run_exchange, for callers that read a 2xx body their own way (embeddings):
// sends `request`; a send failure, a cancellation or a non-2xx answer (its error body read, its
// Retry-After kept) is written into `out` as run_exchange writes it, and nullptr returned;
// otherwise the 2xx response, its head released.
boost::asio::awaitable<std::unique_ptr<UpstreamResponse>> send_upstream(Transport& transport, UpstreamRequest request,
                                                                        const Timeouts& timeouts,
                                                                        std::string_view secret,
                                                                        std::string_view error_type_header,
                                                                        Cancellation& cancel, Outcome& out);

// An Outcome for a request refused before anything was sent (a configuration or input problem).
Outcome refused_outcome(std::string detail, std::string internal);
// The same for a request this provider cannot take as the caller wrote it (invalid_request).
Outcome invalid_request_outcome(const std::string& detail);
// The same naming the request field at fault as OpenAI names it (Outcome::param), e.g.
// "seed" for a provider that has none, "messages[1].content[0].image_url" for an image it cannot take.
Outcome invalid_param_outcome(std::string param, const std::string& detail);

}  // namespace chatd::llm
