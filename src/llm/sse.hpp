#pragma once
// Server-sent events (text/event-stream), as OpenAI and Anthropic stream their responses.
// The parser follows the WHATWG HTML "Parsing an event stream" rules so that any upstream that
// is a valid SSE producer is read the same way a browser would read it. (Writing events to
// chatd's own clients is http/sse.hpp.)

#include "core/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {

struct SseEvent {
  std::string event;         // "message" when the block had no (or an empty) event: field
  std::string data;          // data: lines joined with '\n' (no trailing '\n')
  std::string id;            // the last event ID in effect when this event was dispatched (sticky, per spec)
  std::optional<int> retry;  // a valid retry: field seen since the previous dispatch, if any

  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  // max_event_bytes bounds the memory one event may use: the buffered data and event type plus
  // the line being read. A hostile or broken upstream cannot make us buffer without end.
  explicit SseParser(std::size_t max_event_bytes = 1 << 20);

  // Feeds an arbitrary chunk of the stream; complete events are appended to `out`. Chunks may
  // split lines, CRLF pairs and the BOM anywhere. Exceeding the limit returns Code::upstream and
  // the parser stays failed (later feeds return the same error): the stream is not resynchronisable.
  Status feed(std::string_view chunk, std::vector<SseEvent>& out);

  // The stream-level state the spec keeps across events, for reconnecting with Last-Event-ID.
  const std::string& last_event_id() const { return last_event_id_; }
  std::optional<int> reconnection_time_ms() const { return reconnection_time_; }

 private:
  void consume(std::string_view bytes, std::vector<SseEvent>& out);
  void process_line(std::string_view line, std::vector<SseEvent>& out);
  void dispatch(std::vector<SseEvent>& out);
  bool over_limit(std::size_t line_bytes) const;
  Status fail_limit();

  std::size_t max_event_bytes_;
  bool bom_done_ = false;
  std::string bom_prefix_;     // bytes held back while they could still be the start of a BOM
  bool skip_lf_ = false;       // the previous chunk ended in CR: a leading LF belongs to that line end
  std::string line_;           // the unterminated line carried over between chunks
  std::string data_;           // the spec's data buffer (each data: value followed by '\n')
  std::string event_type_;     // the spec's event type buffer
  std::string last_event_id_;  // the spec's last event ID buffer; not reset on dispatch
  std::optional<int> retry_;   // retry: seen since the previous dispatch
  std::optional<int> reconnection_time_;
  bool failed_ = false;
};

}  // namespace chatd::llm
