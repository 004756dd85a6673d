#pragma once
// The OpenAI-compatible endpoint: GET /v1/models and POST /v1/chat/completions in OpenAI's
// wire format (objects, SSE chunks ending in `data: [DONE]`, error shape), so OpenAI client
// libraries work pointed at http://host:port/v1. Authenticated by API key or access token.

#include "api/routes.hpp"
#include "chat/service.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "http/router.hpp"
#include "llm/gateway.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace chatd::api {

// One call of /v1/chat/completions: what the body asks for, then who asks and the model the
// service resolved, and the completion's id and creation time.
struct CompletionCall {
  Principal who;
  llm::ModelInfo model;
  llm::ChatRequest request;
  bool include_usage = false;
  std::string id;
  std::int64_t created = 0;
};

// The body of POST /v1/chat/completions (fills `model.id` and `request`, `include_usage`);
// every problem is a field error of one Code::invalid_argument (the pipeline turns it into
// OpenAI's error shape with the first field as `param`). `max_chars` bounds the messages.
Result<CompletionCall> read_completion_request(const nlohmann::json& body, std::int64_t max_chars);

HandlerResult openai_models(const Services& s, http::Context& ctx);
HandlerResult chat_completions(const Services& s, http::Context& ctx);

}  // namespace chatd::api
