#pragma once
// Handlers of API.md's "Chat" table: /models, /conversations (+ messages, sending with SSE
// or JSON) and /usage (their routes are in api/routes.cpp).

#include "api/routes.hpp"
#include "chat/service.hpp"

#include <nlohmann/json.hpp>

namespace chatd::api {

HandlerResult list_models(const Services& s, http::Context& ctx);
HandlerResult create_conversation(const Services& s, http::Context& ctx);
HandlerResult list_conversations(const Services& s, http::Context& ctx);
HandlerResult get_conversation(const Services& s, http::Context& ctx);
HandlerResult update_conversation(const Services& s, http::Context& ctx);
HandlerResult delete_conversation(const Services& s, http::Context& ctx);
HandlerResult list_messages(const Services& s, http::Context& ctx);
HandlerResult send_message(const Services& s, http::Context& ctx);
HandlerResult own_usage(const Services& s, http::Context& ctx);

// The body of POST and PATCH /conversations: {title?, model?, system_prompt?}, strings;
// system_prompt may be null to clear it and holds at most `max_chars` * 4 bytes. Every
// problem is a field error of one Code::invalid_argument.
Result<chat::ConversationChanges> read_conversation_changes(const nlohmann::json& body, std::int64_t max_chars);

// The API.md message object (shared with tests of the JSON shape).
nlohmann::json message_json(const chat::Message& m);

}  // namespace chatd::api
