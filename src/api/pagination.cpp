#include "api/pagination.hpp"

#include "crypto/encoding.hpp"

#include <charconv>

namespace chatd::api {

namespace {

// Splits a decoded cursor payload; nullopt when malformed.
std::optional<std::pair<std::int64_t, std::string>> split_cursor(const std::string& payload) {
  if (payload.rfind("v1|", 0) != 0) return std::nullopt;
  auto bar = payload.find('|', 3);
  if (bar == std::string::npos || bar == 3 || bar + 1 >= payload.size()) return std::nullopt;
  std::int64_t key = 0;
  auto [ptr, ec] = std::from_chars(payload.data() + 3, payload.data() + bar, key);
  if (ec != std::errc() || ptr != payload.data() + bar) return std::nullopt;
  std::string id = payload.substr(bar + 1);
  if (id.size() > 64) return std::nullopt;
  return std::pair{key, id};
}

}  // namespace

Result<PageRequest> page_request(const http::Context& ctx) {
  PageRequest page;
  std::vector<FieldError> errors;
  if (auto limit = ctx.query_param("limit")) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (ec != std::errc() || ptr != limit->data() + limit->size() || value < 1 || value > 100)
      errors.push_back({"limit", "must be a whole number from 1 to 100"});
    else
      page.limit = value;
  }
  if (auto cursor = ctx.query_param("cursor"); cursor && !cursor->empty()) {
    auto raw = crypto::base64url_decode(*cursor);
    if (raw) page.after = split_cursor(std::string(raw->begin(), raw->end()));
    if (!page.after) errors.push_back({"cursor", "is not a cursor this server issued"});
  }
  if (!errors.empty()) return Error::validation(std::move(errors));
  return page;
}

std::string encode_cursor(std::int64_t sort_key, const std::string& id) {
  return crypto::base64url_encode(std::string_view("v1|" + std::to_string(sort_key) + "|" + id));
}

}  // namespace chatd::api
