#pragma once
// Routes of API.md's "Chat" table: /models, /conversations (+ messages, sending with SSE
// or JSON) and /usage.

#include "chat/service.hpp"
#include "http/router.hpp"

#include <nlohmann/json.hpp>

namespace chatd::api {

void add_chat_routes(http::Router& router, chat::Service& chat);

// The API.md message object (shared with tests of the JSON shape).
nlohmann::json message_json(const chat::Message& m);

}  // namespace chatd::api
