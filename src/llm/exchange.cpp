#include "llm/exchange.hpp"

#include "llm/provider_util.hpp"

#include <exception>
#include <utility>

namespace chatd::llm {

void SseStreamDecoder::feed(std::string_view chunk, StreamProgress& progress) {
  events_.clear();
  auto fed = sse_.feed(chunk, events_);
  for (const auto& event : events_) {
    if (progress.failure || progress.finished) break;
    handle(event, progress);
  }
  if (!fed && !progress.failure) progress.failure = StreamFailure{fed.error().detail, false};
}

std::size_t SseStreamDecoder::first_message_end(std::string_view bytes) const {
  const std::size_t blank = bytes.find("\n\n");
  return blank == std::string_view::npos ? bytes.size() : blank + 2;
}

bool SseStreamDecoder::holds_whole_message(std::string_view bytes) const {
  return bytes.find("\n\n") != std::string_view::npos;
}

namespace {

using Status = Outcome::Status;

void set_failure(Outcome& out, Status status, bool retryable, std::string detail, std::string internal,
                 std::string_view secret) {
  out.status = status;
  out.retryable = retryable;
  out.detail = std::move(detail);
  out.internal = redact(std::move(internal), secret);
}

void set_cancelled(Outcome& out) {
  out.status = Status::cancelled;
  out.retryable = false;
  out.detail = "the request was cancelled";
}

std::optional<std::int64_t> parse_millis(std::string_view value) {
  if (value.empty() || value.size() > 9) return std::nullopt;
  std::int64_t ms = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

std::string describe(const Error& e) { return e.internal.empty() ? e.detail : e.detail + ": " + e.internal; }

// Token counts as a provider reported them (any may be missing).
struct Reported {
  std::optional<std::int64_t> prompt, completion, cached, reasoning;
};
Reported reported(const StreamProgress& p) {
  return {p.prompt_tokens, p.completion_tokens, p.cached_tokens, p.reasoning_tokens};
}
Reported reported(const WholeAnswer& a) {
  return {a.prompt_tokens, a.completion_tokens, a.cached_tokens, a.reasoning_tokens};
}

void fill_usage(Outcome& out, const std::vector<ChatMessage>* messages, const Reported& r) {
  // Every provider's reported usage passes here: counts out of range are refused in this one
  // place (a wrong count would reach cost, quota and sums).
  const auto prompt = token_count(r.prompt);
  const auto completion = token_count(r.completion);
  out.usage_reported = prompt.has_value() && completion.has_value();
  out.usage.prompt_tokens = prompt ? *prompt : (messages != nullptr ? estimate_prompt_tokens(*messages) : 0);
  if (completion) {
    out.usage.completion_tokens = *completion;
  } else {
    out.usage.completion_tokens = estimate_tokens(out.text);
    for (const auto& call : out.tool_calls) out.usage.completion_tokens += estimate_tokens(call.arguments) + 4;
  }
  // Details are parts of the counts: one larger than its whole is not believed.
  const auto cached = token_count(r.cached);
  const auto reasoning = token_count(r.reasoning);
  out.usage.cached_tokens = cached && *cached <= out.usage.prompt_tokens ? cached : std::nullopt;
  out.usage.reasoning_tokens = reasoning && *reasoning <= out.usage.completion_tokens ? reasoning : std::nullopt;
}

bool nothing_delivered(const Outcome& out) { return out.text.empty() && out.tool_calls.empty(); }

// A failed read after the response head: cancelled, timed out or broken off.
void set_read_failure(Outcome& out, const Error& e, const Cancellation& cancel, std::string_view secret) {
  if (cancel.cancelled()) return set_cancelled(out);
  const bool timed_out = e.code == Code::timeout;
  // Nothing delivered yet and the connection merely dropped: another attempt is safe. A spent
  // total deadline is not worth repeating.
  const bool retryable = nothing_delivered(out) && !timed_out;
  set_failure(out, timed_out ? Status::timeout : Status::error, retryable,
              timed_out ? "the provider did not finish in time" : "the connection to the provider broke off",
              describe(e), secret);
}

// Hands `delta` to the caller. False when the call must end now: the caller refused it (the
// upstream call is then cancelled) or the call was cancelled meanwhile (out is then final).
boost::asio::awaitable<bool> pass_on(const Delta& delta, const DeltaFn& on_delta, Cancellation& cancel, Outcome& out) {
  const bool go_on = co_await on_delta(delta);
  if (!go_on) cancel.cancel();
  if (!go_on || cancel.cancelled()) {
    set_cancelled(out);
    co_return false;
  }
  co_return true;
}

// Delivers one piece of text. False when the call must end now (out is then final).
boost::asio::awaitable<bool> deliver(std::string_view text, bool more, const DeltaFn& on_delta, Cancellation& cancel,
                                     Outcome& out, std::string_view secret) {
  if (text.empty()) co_return true;
  if (out.text.size() + text.size() > kMaxAnswerBytes) {
    set_failure(out, Status::error, false, "the provider's answer is too long",
                "answer exceeds " + std::to_string(kMaxAnswerBytes) + " bytes", secret);
    co_return false;
  }
  out.text += text;
  Delta delta(text);
  delta.more = more;
  co_return co_await pass_on(delta, on_delta, cancel, out);
}

// Delivers one piece of a tool call and adds it to the answer's calls. False when the call
// must end now (out is then final).
boost::asio::awaitable<bool> deliver_tool(const ToolCallPiece& piece, bool more, const DeltaFn& on_delta,
                                          Cancellation& cancel, Outcome& out, std::string_view secret) {
  std::size_t answer_bytes = out.text.size();
  for (const auto& call : out.tool_calls) answer_bytes += call.arguments.size() + call.name.size() + call.id.size();
  if (piece.index > out.tool_calls.size() || piece.index >= kMaxToolCalls ||
      answer_bytes + piece.arguments.size() + piece.name.size() + piece.id.size() > kMaxAnswerBytes) {
    set_failure(out, Status::error, false,
                piece.index >= kMaxToolCalls          ? "the provider's answer calls too many tools"
                : piece.index > out.tool_calls.size() ? "the provider sent a malformed answer"
                                                      : "the provider's answer is too long",
                "tool call " + std::to_string(piece.index) + " after " + std::to_string(out.tool_calls.size()) +
                    " calls, " + std::to_string(answer_bytes) + " bytes",
                secret);
    co_return false;
  }
  if (piece.index == out.tool_calls.size()) out.tool_calls.emplace_back();
  ToolCall& call = out.tool_calls[piece.index];
  if (call.id.empty()) call.id = piece.id;
  if (call.name.empty()) call.name = piece.name;
  call.arguments += piece.arguments;
  const ToolCallDelta call_delta{piece.index, piece.id, piece.name, piece.arguments};
  Delta delta(call_delta);
  delta.more = more;
  co_return co_await pass_on(delta, on_delta, cancel, out);
}

boost::asio::awaitable<void> run_stream(UpstreamResponse& response, Exchange& ex, const DeltaFn& on_delta,
                                        Cancellation& cancel, Outcome& out) {
  StreamProgress progress;
  bool body_ended = false;
  bool held = false;  // the last delta went out with `more`: a flush is owed before waiting
  while (!body_ended) {
    if (held) {
      held = false;
      const Delta flush = Delta::flush();
      if (!co_await pass_on(flush, on_delta, cancel, out)) {
        fill_usage(out, ex.messages, reported(progress));
        co_return;
      }
    }
    auto piece = co_await response.read_some();
    if (!piece) {
      // After the terminator only trailing metadata can be missing; the answer itself is whole.
      if (progress.finished && !cancel.cancelled()) break;
      set_read_failure(out, piece.error(), cancel, ex.secret);
      fill_usage(out, ex.messages, reported(progress));
      co_return;
    }
    body_ended = piece.value().empty();
    std::string_view rest = piece.value();
    // A piece holding many messages (the upstream wrote faster than this reads) is decoded a
    // message at a time, each one's delta passed on before the next is decoded.
    do {
      const std::string_view part = rest.substr(0, ex.decoder->first_message_end(rest));
      rest.remove_prefix(part.size());
      if (body_ended) {
        ex.decoder->finish(progress);
      } else {
        ex.decoder->feed(part, progress);
      }
      // Deltas decoded together, or followed by another whole message in this piece, go out
      // with `more`, so that a receiver may send them in one write.
      const bool whole_message_next = !body_ended && ex.decoder->holds_whole_message(rest);
      // The answer's first delta always goes out at once.
      for (std::size_t i = 0; i < progress.deltas.size(); ++i) {
        const bool more = !nothing_delivered(out) &&
                          (i + 1 < progress.deltas.size() || !progress.tool_calls.empty() || whole_message_next);
        const bool go_on = co_await deliver(progress.deltas[i], more, on_delta, cancel, out, ex.secret);
        if (!go_on) {
          fill_usage(out, ex.messages, reported(progress));
          co_return;
        }
        if (!progress.deltas[i].empty()) held = more;
      }
      progress.deltas.clear();
      for (std::size_t i = 0; i < progress.tool_calls.size(); ++i) {
        const bool more = !nothing_delivered(out) && (i + 1 < progress.tool_calls.size() || whole_message_next);
        const bool go_on = co_await deliver_tool(progress.tool_calls[i], more, on_delta, cancel, out, ex.secret);
        if (!go_on) {
          fill_usage(out, ex.messages, reported(progress));
          co_return;
        }
        held = more;
      }
      progress.tool_calls.clear();
      if (cancel.cancelled()) {
        set_cancelled(out);
        fill_usage(out, ex.messages, reported(progress));
        co_return;
      }
      // A failure after the terminator (trailing garbage) does not spoil a complete answer.
      if (progress.failure && !progress.finished) {
        const bool retryable = nothing_delivered(out) && progress.failure->transient;
        set_failure(out, Status::error, retryable, "the provider reported an error", progress.failure->internal,
                    ex.secret);
        fill_usage(out, ex.messages, reported(progress));
        co_return;
      }
    } while (!rest.empty());
  }
  if (held) {
    const Delta flush = Delta::flush();
    if (!co_await pass_on(flush, on_delta, cancel, out)) {
      fill_usage(out, ex.messages, reported(progress));
      co_return;
    }
  }
  if (!progress.finished) {
    set_failure(out, Status::error, nothing_delivered(out), "the provider's answer ended early",
                "the stream ended without its terminator", ex.secret);
    fill_usage(out, ex.messages, reported(progress));
    co_return;
  }
  out.status = Status::complete;
  out.finish_reason = progress.finish_reason;
  fill_usage(out, ex.messages, reported(progress));
}

boost::asio::awaitable<void> run_whole(UpstreamResponse& response, Exchange& ex, const DeltaFn& on_delta,
                                       Cancellation& cancel, Outcome& out) {
  auto body = co_await read_body(response, kMaxWholeBodyBytes);
  if (!body) {
    if (body.error().code == Code::too_large) {
      set_failure(out, Status::error, false, "the provider's answer is too long", describe(body.error()), ex.secret);
    } else {
      set_read_failure(out, body.error(), cancel, ex.secret);
    }
    co_return;
  }
  auto parsed = ex.parse_whole(body.value());
  if (!parsed) {
    set_failure(out, Status::error, false, "the provider sent a malformed answer", describe(parsed.error()), ex.secret);
    co_return;
  }
  WholeAnswer& answer = parsed.value();
  bool go_on = co_await deliver(answer.text, false, on_delta, cancel, out, ex.secret);
  for (std::size_t i = 0; go_on && i < answer.tool_calls.size(); ++i) {
    ToolCall& call = answer.tool_calls[i];
    // A named piece: GCC 12 miscompiles a braced temporary inside a co_await expression.
    const ToolCallPiece piece{i, std::move(call.id), std::move(call.name), std::move(call.arguments)};
    go_on = co_await deliver_tool(piece, false, on_delta, cancel, out, ex.secret);
  }
  if (go_on) {
    out.status = Status::complete;
    out.finish_reason = answer.finish_reason;
    fill_usage(out, ex.messages, reported(answer));
  } else {
    fill_usage(out, ex.messages, Reported{});
  }
}

}  // namespace

Outcome refused_outcome(std::string detail, std::string internal) {
  Outcome out;
  out.status = Status::error;
  out.retryable = false;
  out.detail = std::move(detail);
  out.internal = std::move(internal);
  return out;
}

Outcome invalid_request_outcome(const std::string& detail) {
  Outcome out = refused_outcome(detail, "request not sent: " + detail);
  out.invalid_request = true;
  return out;
}

Outcome invalid_param_outcome(std::string param, const std::string& detail) {
  Outcome out = invalid_request_outcome(detail);
  out.param = std::move(param);
  return out;
}

boost::asio::awaitable<std::unique_ptr<UpstreamResponse>> send_upstream(Transport& transport, UpstreamRequest request,
                                                                        const Timeouts& timeouts,
                                                                        std::string_view secret,
                                                                        std::string_view error_type_header,
                                                                        Cancellation& cancel, Outcome& out) {
  if (cancel.cancelled()) {
    set_cancelled(out);
    co_return nullptr;
  }
  auto sent = co_await transport.send(std::move(request), timeouts, cancel);
  if (!sent) {
    if (cancel.cancelled()) {
      set_cancelled(out);
    } else if (sent.error().code == Code::timeout) {
      set_failure(out, Status::timeout, true, "the provider did not answer in time", describe(sent.error()), secret);
    } else {
      set_failure(out, Status::error, true, "the provider could not be reached", describe(sent.error()), secret);
    }
    co_return nullptr;
  }
  std::unique_ptr<UpstreamResponse> response = std::move(sent).value();
  const int status = response->status();
  out.upstream_status = status;
  if (status >= 200 && status <= 299) {
    response->release_head();  // a 2xx: nothing more is read from the head
    co_return response;
  }
  auto body = co_await read_body(*response, kMaxErrorBodyBytes, /*truncate=*/true);
  if (cancel.cancelled()) {
    set_cancelled(out);
    co_return nullptr;
  }
  std::string type_hint;
  if (!error_type_header.empty()) type_hint = response->header(error_type_header).value_or("");
  std::string message = body ? upstream_error_message(body.value(), type_hint)
                             : "(error body unreadable: " + describe(body.error()) + ")";
  set_failure(out, Status::error, is_retryable_status(status), "the provider answered " + std::to_string(status),
              "HTTP " + std::to_string(status) + " " + message, secret);
  // Azure sends retry-after-ms beside retry-after; it is the more precise of the two.
  std::optional<std::int64_t> retry_after;
  if (auto ms = response->header("retry-after-ms")) retry_after = parse_millis(*ms);
  if (!retry_after) {
    if (auto s = response->header("retry-after")) retry_after = parse_retry_after_ms(*s);
  }
  if (retry_after) out.retry_after_ms = *retry_after;
  co_return nullptr;
}

boost::asio::awaitable<void> run_exchange(Transport& transport, Exchange& ex, const DeltaFn& on_delta,
                                          Cancellation& cancel, Outcome& out) {
  std::string failure;
  try {
    auto response = co_await send_upstream(transport, std::move(ex.request), ex.timeouts, ex.secret,
                                           ex.error_type_header, cancel, out);
    if (response) {
      if (ex.decoder != nullptr) {
        co_await run_stream(*response, ex, on_delta, cancel, out);
      } else {
        co_await run_whole(*response, ex, on_delta, cancel, out);
      }
    }
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  if (!failure.empty()) {
    out.status = Outcome::Status::error;
    out.retryable = false;
    out.detail = "the request to the provider failed";
    out.internal = redact("exception: " + failure, ex.secret);
  }
}

}  // namespace chatd::llm
