#include "chat/history.hpp"

#include "llm/provider_util.hpp"

#include <algorithm>

namespace chatd::chat {

std::int64_t message_tokens(const llm::ChatMessage& message) {
  return llm::estimate_tokens(message.content) + kMessageOverhead;
}

std::int64_t answer_reserve(std::int64_t context_window, std::optional<std::int64_t> max_tokens) {
  if (max_tokens && *max_tokens > 0) return std::min(*max_tokens, context_window);
  return std::min<std::int64_t>(context_window / 4, 4096);
}

std::vector<llm::ChatMessage> fit_history(const std::optional<std::string>& system_prompt,
                                          const std::vector<llm::ChatMessage>& history, std::int64_t context_window,
                                          std::optional<std::int64_t> max_tokens) {
  std::int64_t budget = context_window - answer_reserve(context_window, max_tokens);
  std::vector<llm::ChatMessage> out;
  llm::ChatMessage system;
  if (system_prompt && !system_prompt->empty()) {
    system.role = "system";
    system.content = *system_prompt;
    budget -= message_tokens(system);
  }
  // Walk from the newest message back while the budget lasts; the newest always goes in.
  std::size_t first = history.size();
  for (std::size_t i = history.size(); i-- > 0;) {
    std::int64_t cost = message_tokens(history[i]);
    if (first != history.size() && cost > budget) break;
    budget -= cost;
    first = i;
  }
  if (!system.content.empty()) out.push_back(std::move(system));
  out.insert(out.end(), history.begin() + static_cast<std::ptrdiff_t>(first), history.end());
  return out;
}

}  // namespace chatd::chat
