#pragma once
// Domain records of the chat side. Times are Unix epoch milliseconds.

#include <cstdint>
#include <optional>
#include <string>

namespace chatd::chat {

struct Conversation {
  std::string id;
  std::string user_id;
  std::string title;
  std::string model;
  std::optional<std::string> system_prompt;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::int64_t message_count = 0;
};

// The order a page of messages walks a conversation in (GET .../messages?order=).
enum class MessageOrder { oldest_first, newest_first };

struct Message {
  std::string id;
  std::string conversation_id;
  std::string user_id;
  std::string role;  // "user", "assistant" or "system"
  std::string content;
  std::optional<std::string> model;
  std::string status = "complete";  // "pending" (an answer still streaming), "complete", "error", "cancelled"
  std::optional<std::int64_t> prompt_tokens;
  std::optional<std::int64_t> completion_tokens;
  std::int64_t created_at = 0;
};

// One model request, for /usage, /admin/usage and the daily token quota.
struct UsageEvent {
  std::string id;
  std::string user_id;
  std::optional<std::string> api_key_id;
  std::optional<std::string> conversation_id;
  std::string provider;
  std::string model;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0;
  std::optional<std::int64_t> latency_ms;
  std::string status;
  std::int64_t created_at = 0;
};

struct UsageSummary {
  std::int64_t requests = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0;
};

}  // namespace chatd::chat
