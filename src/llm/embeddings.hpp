#pragma once
// Embeddings on the wire: OpenAI's POST {base}/embeddings, and Bedrock's InvokeModel bodies of
// Amazon Titan Text Embeddings and Cohere Embed. Plain functions that build a request body and
// read an answer into an Outcome (embeddings and prompt tokens), and one driver that sends a
// request and applies a reader, turning HTTP failures into an Outcome as completions do.

#include "core/result.hpp"
#include "llm/cancel.hpp"
#include "llm/provider.hpp"
#include "llm/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {

// At most this many vectors in one answer, and bytes in one upstream answer.
inline constexpr std::size_t kMaxEmbeddingInputs = 2048;  // as OpenAI
inline constexpr std::size_t kMaxEmbeddingBodyBytes = std::size_t{64} << 20;

// {model, input, dimensions?, user?, encoding_format: "float"}.
std::string openai_embedding_body(const EmbeddingRequest& request);
// data[].embedding (placed by data[].index) and usage.prompt_tokens. Code::upstream when
// malformed or when the vectors do not match the inputs one for one.
Status read_openai_embeddings(std::string_view body, std::size_t inputs, Outcome& out);

// Amazon Titan Text Embeddings: {inputText, dimensions?, normalize: true}, one text per call.
std::string titan_embedding_body(std::string_view text, const std::optional<std::int64_t>& dimensions);
// {embedding, inputTextTokenCount}: appends one vector and adds the tokens.
Status read_titan_embedding(std::string_view body, Outcome& out);

// Cohere Embed on Bedrock: {texts, input_type: "search_document"}, up to 96 texts per call.
inline constexpr std::size_t kCohereBatch = 96;
std::string cohere_embedding_body(const std::vector<std::string>& texts, std::size_t first, std::size_t count);
// {embeddings: [[...]]}: appends `count` vectors (Cohere reports no token count: the caller
// estimates them).
Status read_cohere_embeddings(std::string_view body, std::size_t count, Outcome& out);

// Sends `request` (send_upstream) and reads a 2xx body with `read` (which appends to `out`); an
// HTTP error, a timeout or a broken connection becomes out's status as run_exchange writes it.
// Returns false when `out` failed.
using EmbeddingReader = std::function<Status(std::string_view body, Outcome& out)>;
boost::asio::awaitable<bool> run_embedding_call(Transport& transport, UpstreamRequest request, const Timeouts& timeouts,
                                                std::string_view secret, std::string_view error_type_header,
                                                const EmbeddingReader& read, Cancellation& cancel, Outcome& out);

}  // namespace chatd::llm
