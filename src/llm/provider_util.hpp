#pragma once
// Small pieces every provider shares: token estimates, Retry-After, URL joining, the
// user/assistant alternation Anthropic and Bedrock insist on, upstream error bodies, and a
// bounded body reader. All plain functions except read_body, so they are unit-testable alone.

#include "core/result.hpp"
#include "llm/provider.hpp"
#include "llm/transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {

// The one token estimate of the project, for text nobody counted for us (usage the upstream
// did not report, history trimming): ceil(UTF-8 bytes / 4). About right for English; for
// other scripts, whose characters take 2-3 bytes and tokenizers split finer, it stays
// closer to the real count than characters / 4 would, and errs on the high side.
std::int64_t estimate_tokens(std::string_view text);

// The prompt side of a request: ceil(bytes of all contents / 4) + 4 per message (the role
// and framing tokens every chat template adds).
std::int64_t estimate_prompt_tokens(const std::vector<ChatMessage>& messages);

// Retry-After as milliseconds: delta-seconds only (HTTP dates are rare from LLM APIs and are
// ignored). nullopt for anything unparsable, negative or absurdly large (over a day).
std::optional<std::int64_t> parse_retry_after_ms(std::string_view value);

// Whether an HTTP error status is worth another attempt: 408, 429 and 5xx.
bool is_retryable_status(int status);

// `base` + `path`, with at most one '/' between them ("https://x/v1/" + "/models"), and
// "?query" appended when `query` is not empty (a leading '?' in it is tolerated).
std::string join_url(std::string_view base, std::string_view path, std::string_view query = {});

// `text` with every occurrence of `secret` replaced by "[redacted]" (no-op for an empty secret).
std::string redact(std::string text, std::string_view secret);

// At most `max_bytes` of `text`, cut at a UTF-8 character boundary, "..." appended when cut.
std::string excerpt(std::string_view text, std::size_t max_bytes);

// The conversation as Anthropic and Bedrock accept it: alternating turns of content blocks.
// Rules (the upstreams reject anything else):
// - "system" (and OpenAI's "developer") messages, wherever they are, go to `system` (their
//   text), joined with a blank line;
// - a "tool" message answering a call (tool_call_id set) is a tool_result block of a user
//   turn; any other role than "assistant" counts as "user";
// - an assistant's tool calls are tool_use blocks after its text;
// - blank text is dropped (both APIs reject it), and so is a message left with no block;
// - consecutive messages of the same role are merged into one turn, a text block following a
//   text block joined to it with a blank line;
// - assistant messages before the first user message are dropped: the first turn must be a user's.
// Blocks point into `messages`, which must outlive the result. `turns` is empty when no user
// message remains; callers fail the request then.
struct TurnBlock {
  enum class Kind { text, image, tool_use, tool_result };
  Kind kind = Kind::text;
  std::string text;                // text; tool_result: the result's text
  const Image* image = nullptr;    // image
  const ToolCall* call = nullptr;  // tool_use
  std::string_view tool_call_id;   // tool_result: the call it answers
};
struct Turn {
  std::string role;  // "user" or "assistant"
  std::vector<TurnBlock> blocks;
  // The turn's only block when it is a text block (the common case, sent as a plain string
  // where the API allows it), else nullptr.
  const std::string* only_text() const {
    return blocks.size() == 1 && blocks[0].kind == TurnBlock::Kind::text ? &blocks[0].text : nullptr;
  }
};
struct AlternatingConversation {
  std::string system;
  std::vector<Turn> turns;
};
AlternatingConversation to_alternating(const std::vector<ChatMessage>& messages);

// Anthropic's and Bedrock's stop reasons in OpenAI's words: end_turn and stop_sequence -> "stop",
// max_tokens -> "length", tool_use -> "tool_calls", refusal / guardrail_intervened /
// content_filtered -> "content_filter"; anything else is passed through unchanged.
std::string map_stop_reason(std::string_view reason);

// What an upstream said in an error body, for the log: "type: message" from OpenAI's and
// Anthropic's {"error": {"type"|"code", "message"}}, AWS's {"message"} (+ `type_hint`, e.g. the
// x-amzn-ErrorType header) or a plain {"error": "..."}; otherwise an excerpt of the raw body.
std::string upstream_error_message(std::string_view body, std::string_view type_hint = {});

// Reads the rest of a body. More than `limit` bytes is Code::too_large, unless `truncate`, which
// returns the first `limit` bytes and stops reading (the connection is then not reused). Read
// errors are passed through.
boost::asio::awaitable<Result<std::string>> read_body(UpstreamResponse& response, std::size_t limit,
                                                      bool truncate = false);

// Tolerant JSON accessors: nullptr / nullopt when `j` is not an object, lacks `key`, or the value
// has another type. They never throw.
const nlohmann::json* json_member(const nlohmann::json& j, const char* key);
std::optional<std::string> json_string(const nlohmann::json& j, const char* key);
std::optional<std::int64_t> json_int(const nlohmann::json& j, const char* key);

// Token counts as a provider reports them are believed only from 0 to kMaxReportedTokens (far
// beyond any context window): a negative or absurd count would make usage, cost and quota
// wrong, and sums of them overflow. A count outside the range counts as not reported, so the
// usage is estimated as when the provider sends none.
inline constexpr std::int64_t kMaxReportedTokens = 1'000'000'000;
std::optional<std::int64_t> token_count(std::optional<std::int64_t> reported);
// json_int for a token count: nullopt also when it is outside 0..kMaxReportedTokens. For
// counts a decoder adds up before fill_usage sees them (Anthropic's three input parts).
std::optional<std::int64_t> json_tokens(const nlohmann::json& j, const char* key);

}  // namespace chatd::llm
