#include "llm/transport.hpp"

namespace chatd::llm {

boost::asio::awaitable<Result<std::string>> read_all(UpstreamResponse& response, std::size_t limit) {
  std::string out;
  for (;;) {
    Result<std::string> piece = co_await response.read_some();
    if (!piece) co_return piece.error();
    const std::string& bytes = piece.value();
    if (bytes.empty()) co_return out;
    if (bytes.size() > limit - out.size()) {
      Error e = fail(Code::upstream, "the upstream response is too large");
      e.internal = "the body exceeds " + std::to_string(limit) + " bytes";
      co_return e;
    }
    out += bytes;
  }
}

}  // namespace chatd::llm
