#pragma once
// API.md pagination: ?limit=N&cursor=C, limit 1-100 (default 20), opaque cursors; a bad
// limit or a malformed cursor is 422.

#include "core/result.hpp"
#include "http/message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace chatd::api {

struct PageRequest {
  int limit = 20;
  std::optional<std::pair<std::int64_t, std::string>> after;  // the cursor: sort key and id of the last item seen
};

// Reads limit and cursor from the query string.
Result<PageRequest> page_request(const http::Context& ctx);

// Cursors are base64url of "v1|<sort key>|<id>"; PageRequest::after holds them split.
std::string encode_cursor(std::int64_t sort_key, const std::string& id);

}  // namespace chatd::api
