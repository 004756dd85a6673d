#include "llm/sse.hpp"

#include <climits>

namespace chatd::llm {
namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

// The spec accepts only ASCII digits; anything else (sign, space, overflow) means "ignore".
std::optional<int> parse_retry(std::string_view value) {
  if (value.empty()) return std::nullopt;
  long long n = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
    if (n > INT_MAX) return std::nullopt;
  }
  return static_cast<int>(n);
}

}  // namespace

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

bool SseParser::over_limit(std::size_t line_bytes) const {
  return line_bytes + data_.size() + event_type_.size() > max_event_bytes_;
}

Status SseParser::fail_limit() {
  failed_ = true;
  // Drop what was buffered: the parser is dead and should not keep up to a megabyte alive.
  line_.clear();
  line_.shrink_to_fit();
  data_.clear();
  data_.shrink_to_fit();
  return fail(Code::upstream,
              "upstream event stream sent an event larger than " + std::to_string(max_event_bytes_) + " bytes");
}

Status SseParser::feed(std::string_view chunk, std::vector<SseEvent>& out) {
  if (failed_) {
    return fail(Code::upstream,
                "upstream event stream sent an event larger than " + std::to_string(max_event_bytes_) + " bytes");
  }
  if (!bom_done_) {
    // The BOM may itself arrive split across chunks, so hold back bytes while they match its prefix.
    while (!chunk.empty() && bom_prefix_.size() < k_bom.size() && chunk[0] == k_bom[bom_prefix_.size()]) {
      bom_prefix_.push_back(chunk[0]);
      chunk.remove_prefix(1);
    }
    if (bom_prefix_.size() == k_bom.size()) {
      bom_done_ = true;  // a whole BOM: skip it
      bom_prefix_.clear();
    } else if (!chunk.empty()) {
      bom_done_ = true;  // not a BOM after all: the held-back bytes are ordinary stream bytes
      std::string held;
      held.swap(bom_prefix_);
      consume(held, out);
    } else {
      return ok();  // still ambiguous; wait for more bytes
    }
  }
  consume(chunk, out);
  if (failed_) return fail_limit();
  return ok();
}

void SseParser::consume(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_ || bytes.empty()) return;
  if (skip_lf_) {
    skip_lf_ = false;
    if (bytes[0] == '\n') bytes.remove_prefix(1);
  }
  while (!bytes.empty()) {
    const std::size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      if (over_limit(line_.size() + bytes.size())) {
        failed_ = true;
        return;
      }
      line_.append(bytes);
      return;
    }
    // Check the whole line before looking at it, so the outcome does not depend on where chunks split.
    if (over_limit(line_.size() + end)) {
      failed_ = true;
      return;
    }
    if (line_.empty()) {
      process_line(bytes.substr(0, end), out);
    } else {
      line_.append(bytes.substr(0, end));
      process_line(line_, out);
      line_.clear();
    }
    if (over_limit(0)) {
      failed_ = true;
      return;
    }
    const bool cr = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    if (cr) {
      if (bytes.empty()) {
        skip_lf_ = true;  // the LF of a CRLF may be the first byte of the next chunk
      } else if (bytes[0] == '\n') {
        bytes.remove_prefix(1);
      }
    }
  }
}

void SseParser::process_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    dispatch(out);
    return;
  }
  if (line[0] == ':') return;  // comment
  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_type_.assign(value);
  } else if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "id") {
    // The spec ignores ids containing NUL (they could not be sent back in a Last-Event-ID header).
    if (value.find('\0') == std::string_view::npos) last_event_id_.assign(value);
  } else if (field == "retry") {
    if (auto ms = parse_retry(value)) {
      retry_ = ms;
      reconnection_time_ = ms;
    }
  }
  // Any other field name is ignored, as the spec requires.
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  if (data_.empty()) {
    // No data: nothing is dispatched and the event type is reset (spec step 2); a retry: already
    // took effect on the stream-level reconnection time.
    event_type_.clear();
    retry_.reset();
    return;
  }
  data_.pop_back();  // the trailing '\n' added after the last data line
  SseEvent ev;
  ev.event = event_type_.empty() ? std::string("message") : std::move(event_type_);
  ev.data = std::move(data_);
  ev.id = last_event_id_;
  ev.retry = retry_;
  out.push_back(std::move(ev));
  data_.clear();
  event_type_.clear();
  retry_.reset();
}

}  // namespace chatd::llm
