#pragma once
// Routes of API.md's "Chat" table: /models, /conversations (+ messages, sending with SSE
// or JSON) and /usage.

#include "chat/service.hpp"
#include "http/router.hpp"

#include <nlohmann/json.hpp>

namespace chatd::api {

void add_chat_routes(http::Router& router, chat::Service& chat);

// The body of POST and PATCH /conversations: {title?, model?, system_prompt?}, strings;
// system_prompt may be null to clear it and holds at most `max_chars` * 4 bytes. Every
// problem is a field error of one Code::invalid_argument.
Result<chat::ConversationChanges> read_conversation_changes(const nlohmann::json& body, std::int64_t max_chars);

// The API.md message object (shared with tests of the JSON shape).
nlohmann::json message_json(const chat::Message& m);

}  // namespace chatd::api
