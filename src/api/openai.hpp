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

// What a request body may hold.
struct CompletionLimits {
  std::int64_t max_chars = 32000;          // CHATD_MAX_MESSAGE_CHARS (the messages together may
                                           // hold 8x its bytes in UTF-8)
  std::int64_t max_image_bytes = 5242880;  // CHATD_MAX_IMAGE_BYTES, per decoded image
};

// The body of POST /v1/chat/completions (fills `model.id` and `request`, `include_usage`);
// every problem is a field error of one Code::invalid_argument (the pipeline turns it into
// OpenAI's error shape with the first field as `param`). Images in data: URLs are decoded
// here; https URLs are kept for the provider (or fetched before it is called).
Result<CompletionCall> read_completion_request(const nlohmann::json& body, const CompletionLimits& limits);

HandlerResult openai_models(const Services& s, http::Context& ctx);
HandlerResult chat_completions(const Services& s, http::Context& ctx);
HandlerResult embeddings(const Services& s, http::Context& ctx);

// The body of POST /v1/embeddings: the request (model id in `model`), and whether the client
// wants base64 vectors. Field errors as read_completion_request's.
struct EmbeddingCall {
  llm::EmbeddingRequest request;
  bool base64 = false;
};
Result<EmbeddingCall> read_embedding_request(const nlohmann::json& body, const CompletionLimits& limits);

}  // namespace chatd::api
