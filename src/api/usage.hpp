#pragma once
// The query and the items of the usage reports, GET /usage (one's own) and GET /admin/usage
// (everyone's): `from` and `to` (RFC 3339 timestamps or dates, midnight UTC; `to` exclusive;
// by default the last 30 days) and `group_by`: `user`, `model`, `day` (UTC), or the pairs
// `day,model`, `day,user`, `model,user`.

#include "chat/store.hpp"
#include "core/result.hpp"
#include "http/message.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatd::api {

// "2026-11-01" (midnight UTC) or an RFC 3339 timestamp, in epoch milliseconds.
std::optional<std::int64_t> parse_time_or_date(const std::string& text);

struct UsageQueryRules {
  bool allow_user = true;                        // whether `user` is a group
  std::optional<chat::db::UsageGroup> fallback;  // the group when `group_by` is absent, if any
};

// A validation error names the parameter; no `group_by` and no fallback gives an empty group list.
Result<chat::db::UsageQuery> read_usage_query(const http::Context& ctx, const UsageQueryRules& rules,
                                              std::int64_t now_ms);

// One item per row: `key` is the first group's value (a day as YYYY-MM-DD), each further group
// adds its own member (`user_id`, `model`, `day`), and grouping by user adds `username`.
nlohmann::json usage_items(const std::vector<chat::db::UsageTotals>& rows, const chat::db::UsageQuery& query);

}  // namespace chatd::api
