#pragma once
// What the model sees: the conversation's system prompt, then as much of its history as
// fits the model's context window, dropping the oldest messages first. Tokens are
// estimated (about four bytes of UTF-8 per token plus a few per message for the chat
// framing), which errs on the side of sending less; docs/chat.md explains the rule.

#include "llm/provider.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatd::chat {

// A message's cost: its text (llm::estimate_tokens, ceil(bytes / 4)) plus kMessageOverhead
// for role and separators.
inline constexpr std::int64_t kMessageOverhead = 4;
std::int64_t message_tokens(const llm::ChatMessage& message);

// The tokens kept free for the answer: the request's max_tokens when given, else a quarter
// of the window, at most 4096.
std::int64_t answer_reserve(std::int64_t context_window, std::optional<std::int64_t> max_tokens);

// `history` is oldest first and ends with the new user message. Returns the system prompt
// (when set) followed by the newest messages whose estimate fits context_window minus the
// answer reserve. The system prompt and the newest message are always kept, even when
// they alone exceed the budget (the provider then says so).
std::vector<llm::ChatMessage> fit_history(const std::optional<std::string>& system_prompt,
                                          const std::vector<llm::ChatMessage>& history, std::int64_t context_window,
                                          std::optional<std::int64_t> max_tokens);

}  // namespace chatd::chat
