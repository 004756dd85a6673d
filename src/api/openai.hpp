#pragma once
// The OpenAI-compatible endpoint: GET /v1/models and POST /v1/chat/completions in OpenAI's
// wire format (objects, SSE chunks ending in `data: [DONE]`, error shape), so OpenAI client
// libraries work pointed at http://host:port/v1. Authenticated by API key or access token.

#include "chat/service.hpp"
#include "http/router.hpp"

namespace chatd::api {

void add_openai_routes(http::Router& router, chat::Service& chat);

}  // namespace chatd::api
