#include "api/usage.hpp"

#include "core/time.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace chatd::api {

namespace {

using chat::db::UsageGroup;

constexpr std::int64_t kDayMs = 86'400'000;

std::optional<UsageGroup> group_named(std::string_view name) {
  if (name == "user") return UsageGroup::user;
  if (name == "model") return UsageGroup::model;
  if (name == "day") return UsageGroup::day;
  return std::nullopt;
}

const char* member_of(UsageGroup g) {
  switch (g) {
    case UsageGroup::user: return "user_id";
    case UsageGroup::model: return "model";
    case UsageGroup::day: return "day";
  }
  return "model";
}

std::string day_of(const std::string& epoch_day) {
  return format_rfc3339(std::stoll(epoch_day) * kDayMs).substr(0, 10);
}

}  // namespace

std::optional<std::int64_t> parse_time_or_date(const std::string& text) {
  if (text.size() == 10) return parse_rfc3339(text + "T00:00:00Z");
  return parse_rfc3339(text);
}

Result<chat::db::UsageQuery> read_usage_query(const http::Context& ctx, const UsageQueryRules& rules,
                                              std::int64_t now_ms) {
  std::vector<FieldError> errors;
  chat::db::UsageQuery q;
  // `to` is exclusive: by default it ends after the current millisecond, so an event
  // recorded in the same millisecond as this request is counted.
  q.to_ms = now_ms + 1;
  q.from_ms = q.to_ms - 30 * kDayMs;
  if (auto v = ctx.query_param("from")) {
    if (auto t = parse_time_or_date(*v))
      q.from_ms = *t;
    else
      errors.push_back({"from", "must be an RFC 3339 timestamp or a date (YYYY-MM-DD)"});
  }
  if (auto v = ctx.query_param("to")) {
    if (auto t = parse_time_or_date(*v))
      q.to_ms = *t;
    else
      errors.push_back({"to", "must be an RFC 3339 timestamp or a date (YYYY-MM-DD)"});
  }
  const char* groups_rule = rules.allow_user ? "must be user, model, day, day,model, day,user or model,user"
                                             : "must be model, day or day,model";
  if (auto v = ctx.query_param("group_by")) {
    std::string_view rest = *v;
    for (;;) {
      auto comma = rest.find(',');
      auto group = group_named(rest.substr(0, comma));
      if (!group || (*group == UsageGroup::user && !rules.allow_user) ||
          std::find(q.group_by.begin(), q.group_by.end(), *group) != q.group_by.end()) {
        errors.push_back({"group_by", groups_rule});
        break;
      }
      q.group_by.push_back(*group);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (errors.empty() && !chat::db::usage_grouping_supported(q.group_by)) errors.push_back({"group_by", groups_rule});
  } else if (rules.fallback) {
    q.group_by.push_back(*rules.fallback);
  }
  if (errors.empty() && q.from_ms > q.to_ms) errors.push_back({"from", "must not be after `to`"});
  if (!errors.empty()) return Error::validation(std::move(errors));
  return q;
}

nlohmann::json usage_items(const std::vector<chat::db::UsageTotals>& rows, const chat::db::UsageQuery& query) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json item = nlohmann::json::object();
    for (std::size_t i = 0; i < query.group_by.size() && i < r.keys.size(); ++i) {
      UsageGroup g = query.group_by[i];
      std::string value = g == UsageGroup::day ? day_of(r.keys[i]) : r.keys[i];
      item[i == 0 ? "key" : member_of(g)] = std::move(value);
      if (g == UsageGroup::user) item["username"] = r.username ? nlohmann::json(*r.username) : nlohmann::json(nullptr);
    }
    item["requests"] = r.requests;
    item["prompt_tokens"] = r.prompt_tokens;
    item["completion_tokens"] = r.completion_tokens;
    item["cost_usd"] = r.cost_usd;
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace chatd::api
