#include "llm/embeddings.hpp"

#include "core/json_writer.hpp"
#include "llm/exchange.hpp"
#include "llm/provider_util.hpp"

#include <nlohmann/json.hpp>

#include <exception>
#include <utility>

namespace chatd::llm {
namespace {

using nlohmann::json;

Error malformed(std::string_view what, std::string_view body) {
  Error e = fail(Code::upstream, std::string(what));
  e.internal = excerpt(body, 200);
  return e;
}

// A JSON array of numbers as floats; nullopt when it is anything else.
std::optional<std::vector<float>> vector_of(const json& j) {
  if (!j.is_array() || j.empty()) return std::nullopt;
  std::vector<float> v;
  v.reserve(j.size());
  for (const auto& x : j) {
    if (!x.is_number()) return std::nullopt;
    v.push_back(x.get<float>());
  }
  return v;
}

void fail_out(Outcome& out, Outcome::Status status, bool retryable, std::string detail, std::string internal,
              std::string_view secret) {
  out.status = status;
  out.retryable = retryable;
  out.detail = std::move(detail);
  out.internal = redact(std::move(internal), secret);
}

}  // namespace

std::string openai_embedding_body(const EmbeddingRequest& request) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("model").string(request.model).key("input").begin_array();
  if (request.tokens.empty()) {
    for (const auto& t : request.texts) w.string(t);
  } else {
    for (const auto& list : request.tokens) {
      w.begin_array();
      for (const auto token : list) w.number(token);
      w.end_array();
    }
  }
  w.end_array();
  if (request.dimensions) w.key("dimensions").number(*request.dimensions);
  if (!request.user.empty()) w.key("user").string(request.user);
  w.key("encoding_format").string("float").end_object();
  return out;
}

Status read_openai_embeddings(std::string_view body, std::size_t inputs, Outcome& out) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* data = json_member(doc, "data");
  if (data == nullptr || !data->is_array() || data->size() != inputs) {
    return malformed("the embeddings answer does not hold one vector per input", body);
  }
  std::vector<std::vector<float>> vectors(inputs);
  for (const auto& item : *data) {
    auto index = json_int(item, "index");
    const json* embedding = json_member(item, "embedding");
    auto vector = embedding != nullptr ? vector_of(*embedding) : std::nullopt;
    if (!index || *index < 0 || static_cast<std::size_t>(*index) >= inputs || !vector ||
        !vectors[static_cast<std::size_t>(*index)].empty()) {
      return malformed("malformed embeddings answer", body);
    }
    vectors[static_cast<std::size_t>(*index)] = std::move(*vector);
  }
  for (auto& v : vectors) out.embeddings.push_back(std::move(v));
  if (const json* usage = json_member(doc, "usage")) {
    if (auto tokens = token_count(json_int(*usage, "prompt_tokens"))) {
      out.usage.prompt_tokens += *tokens;
      out.usage_reported = true;
    }
  }
  return ok();
}

std::string titan_embedding_body(std::string_view text, const std::optional<std::int64_t>& dimensions) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("inputText").string(text);
  if (dimensions) w.key("dimensions").number(*dimensions);
  w.key("normalize").boolean(true).end_object();
  return out;
}

Status read_titan_embedding(std::string_view body, Outcome& out) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* embedding = json_member(doc, "embedding");
  auto vector = embedding != nullptr ? vector_of(*embedding) : std::nullopt;
  if (!vector) return malformed("malformed Titan embedding", body);
  out.embeddings.push_back(std::move(*vector));
  if (auto tokens = token_count(json_int(doc, "inputTextTokenCount"))) {
    out.usage.prompt_tokens += *tokens;
    out.usage_reported = true;
  }
  return ok();
}

std::string cohere_embedding_body(const std::vector<std::string>& texts, std::size_t first, std::size_t count) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("texts").begin_array();
  for (std::size_t i = first; i < first + count && i < texts.size(); ++i) w.string(texts[i]);
  w.end_array().key("input_type").string("search_document").end_object();
  return out;
}

Status read_cohere_embeddings(std::string_view body, std::size_t count, Outcome& out) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* embeddings = json_member(doc, "embeddings");
  if (embeddings == nullptr || !embeddings->is_array() || embeddings->size() != count) {
    return malformed("the Cohere answer does not hold one vector per text", body);
  }
  for (const auto& e : *embeddings) {
    auto vector = vector_of(e);
    if (!vector) return malformed("malformed Cohere embedding", body);
    out.embeddings.push_back(std::move(*vector));
  }
  return ok();
}

boost::asio::awaitable<bool> run_embedding_call(Transport& transport, UpstreamRequest request, const Timeouts& timeouts,
                                                std::string_view secret, std::string_view error_type_header,
                                                const EmbeddingReader& read, Cancellation& cancel, Outcome& out) {
  try {
    auto response =
        co_await send_upstream(transport, std::move(request), timeouts, secret, error_type_header, cancel, out);
    if (!response) co_return false;
    auto body = co_await read_body(*response, kMaxEmbeddingBodyBytes);
    if (!body) {
      const bool timeout = body.error().code == Code::timeout;
      fail_out(out,
               cancel.cancelled() ? Outcome::Status::cancelled
               : timeout          ? Outcome::Status::timeout
                                  : Outcome::Status::error,
               false, timeout ? "the provider did not finish in time" : "reading the provider's answer failed",
               body.error().detail, secret);
      co_return false;
    }
    auto st = read(body.value(), out);
    if (!st) {
      fail_out(out, Outcome::Status::error, false, "the provider sent a malformed answer",
               st.error().detail + ": " + st.error().internal, secret);
      co_return false;
    }
  } catch (const std::exception& e) {
    fail_out(out, Outcome::Status::error, false, "the request to the provider failed",
             std::string("exception: ") + e.what(), secret);
    co_return false;
  }
  co_return true;
}

}  // namespace chatd::llm
