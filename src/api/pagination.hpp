#pragma once
// API.md pagination: ?limit=N&cursor=C, limit 1-100 (default 20), opaque cursors; a bad
// limit or a malformed cursor is 422.

#include "core/result.hpp"
#include "http/message.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace chatd::api {

struct PageRequest {
  int limit = 20;
  std::optional<std::string> cursor;  // decoded cursor payload
};

// Reads limit and cursor from the query string.
Result<PageRequest> page_request(const http::Context& ctx);

// Cursors are base64url of "v1|<sort key>|<id>"; the payload is what PageRequest::cursor holds.
std::string encode_cursor(std::int64_t sort_key, const std::string& id);
// Splits a decoded cursor payload; nullopt when malformed.
std::optional<std::pair<std::int64_t, std::string>> split_cursor(const std::string& payload);

}  // namespace chatd::api
