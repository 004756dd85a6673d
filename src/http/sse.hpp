#pragma once
// Writing server-sent events (text/event-stream) to chatd's clients: the small subset of the
// format that the chat stream and /v1 need. (Reading upstream streams is llm/sse.hpp.)

#include <string>
#include <string_view>

namespace chatd::http {

// One event for a client: "event: X\ndata: ...\n\n". Every line of `data` (split at CRLF, CR or LF,
// which a reader treats alike) becomes its own data: line, so the reader reassembles it with '\n'.
// An empty `event` omits the event: line (readers then report "message"); `event` is cut at its
// first line break because a line break would let it inject other fields.
std::string sse_format(std::string_view event, std::string_view data);

// A comment block (": text\n\n"), used as a heartbeat: readers ignore it, but it keeps proxies and
// load balancers from closing an idle connection. Multi-line text gives one comment line per line.
std::string sse_comment(std::string_view text);

}  // namespace chatd::http
