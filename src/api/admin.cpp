#include "api/admin.hpp"

#include "api/auth.hpp"
#include "api/common.hpp"
#include "api/pagination.hpp"
#include "api/reply.hpp"
#include "api/usage.hpp"
#include "auth/admin.hpp"
#include "core/time.hpp"
#include "http/problem.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Context;
using http::Response;

namespace {

nlohmann::json admin_user_json(const auth::User& u) {
  nlohmann::json j = user_json(u);
  j["disabled"] = u.disabled_at.has_value();
  j["locked_until"] = u.locked_until ? nlohmann::json(format_rfc3339(*u.locked_until)) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json opt_json(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// The audit log's filters: user_id, event, from (inclusive), to (exclusive).
Result<auth::db::AuditFilter> read_audit_filter(const Context& ctx) {
  auth::db::AuditFilter f;
  std::vector<FieldError> errors;
  f.user_id = ctx.query_param("user_id").value_or("");
  f.event = ctx.query_param("event").value_or("");
  if (f.user_id.size() > 64) errors.push_back({"user_id", "is too long"});
  if (f.event.size() > 64) errors.push_back({"event", "is too long"});
  if (auto v = ctx.query_param("from")) {
    if (auto t = parse_time_or_date(*v))
      f.from_ms = *t;
    else
      errors.push_back({"from", "must be an RFC 3339 timestamp or a date (YYYY-MM-DD)"});
  }
  if (auto v = ctx.query_param("to")) {
    if (auto t = parse_time_or_date(*v))
      f.to_ms = *t;
    else
      errors.push_back({"to", "must be an RFC 3339 timestamp or a date (YYYY-MM-DD)"});
  }
  if (errors.empty() && f.from_ms > f.to_ms) errors.push_back({"from", "must not be after `to`"});
  if (!errors.empty()) return Error::validation(std::move(errors));
  return f;
}

}  // namespace

Result<auth::UserPatch> read_user_patch(const nlohmann::json& body) {
  auth::UserPatch patch;
  std::vector<FieldError> errors;
  if (auto it = body.find("roles"); it != body.end() && !it->is_null()) {
    std::vector<std::string> roles;
    if (!it->is_array())
      errors.push_back({"roles", "must be an array of role names"});
    else
      for (const auto& r : *it) {
        if (!r.is_string() || r.get_ref<const std::string&>().empty() || r.get_ref<const std::string&>().size() > 64) {
          errors.push_back({"roles", "must be an array of role names"});
          break;
        }
        roles.push_back(r.get<std::string>());
      }
    patch.roles = std::move(roles);
  }
  if (auto it = body.find("disabled"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      errors.push_back({"disabled", "must be true or false"});
    else
      patch.disabled = it->get<bool>();
  }
  if (auto it = body.find("unlock"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      errors.push_back({"unlock", "must be true or false"});
    else
      patch.unlock = it->get<bool>();
  }
  if (!errors.empty()) return Error::validation(std::move(errors));
  return patch;
}

HandlerResult admin_ping(const Services&, Context&) {
  co_return http::json_response(bhttp::status::ok, {{"status", "ok"}});
}

HandlerResult list_users(const Services& s, Context& ctx) {
  auto page = page_request(ctx);
  if (!page) co_return http::error_response(ctx, page.error());
  std::string q = ctx.query_param("q").value_or("");
  if (q.size() > 254) co_return http::error_response(ctx, Error::validation({{"q", "is too long"}}));
  std::size_t limit = static_cast<std::size_t>(page.value().limit);
  co_return reply_json(ctx, bhttp::status::ok,
                       co_await s.admin.list_users(q, page.value().after, page.value().limit + 1),
                       [limit](const std::vector<auth::User>& list) {
                         nlohmann::json items = nlohmann::json::array();
                         for (std::size_t i = 0; i < list.size() && i < limit; ++i)
                           items.push_back(admin_user_json(list[i]));
                         nlohmann::json next = nullptr;
                         if (list.size() > limit) next = encode_cursor(list[limit - 1].created_at, list[limit - 1].id);
                         return nlohmann::json{{"items", items}, {"next_cursor", next}};
                       });
}

HandlerResult get_user(const Services& s, Context& ctx) {
  co_return reply_json(ctx, bhttp::status::ok, co_await s.admin.get_user(ctx.params.get("id")), admin_user_json);
}

HandlerResult patch_user(const Services& s, Context& ctx) {
  auto patch = read_user_patch(ctx.body);
  if (!patch) co_return http::error_response(ctx, patch.error());
  co_return reply_json(
      ctx, bhttp::status::ok,
      co_await s.admin.patch_user(*ctx.principal, ctx.params.get("id"), std::move(patch).value(), meta_of(ctx)),
      admin_user_json);
}

HandlerResult revoke_user_sessions(const Services& s, Context& ctx) {
  co_return reply_no_content(ctx, co_await s.admin.revoke_sessions(*ctx.principal, ctx.params.get("id"), meta_of(ctx)));
}

HandlerResult audit_log(const Services& s, Context& ctx) {
  auto page = page_request(ctx);
  if (!page) co_return http::error_response(ctx, page.error());
  auto filter = read_audit_filter(ctx);
  if (!filter) co_return http::error_response(ctx, filter.error());
  std::size_t limit = static_cast<std::size_t>(page.value().limit);
  co_return reply_json(ctx, bhttp::status::ok,
                       co_await s.admin.audit(std::move(filter).value(), page.value().after, page.value().limit + 1),
                       [limit](const auto& list) {
                         nlohmann::json items = nlohmann::json::array();
                         for (std::size_t i = 0; i < list.size() && i < limit; ++i) {
                           const auto& r = list[i];
                           nlohmann::json detail = nlohmann::json::parse(r.detail_json, nullptr, false);
                           if (detail.is_discarded()) detail = nlohmann::json::object();
                           items.push_back({{"id", r.id},
                                            {"at", format_rfc3339_ms(r.at)},
                                            {"event", r.event},
                                            {"user_id", opt_json(r.user_id)},
                                            {"actor_id", opt_json(r.actor_id)},
                                            {"ip", opt_json(r.ip)},
                                            {"user_agent", opt_json(r.user_agent)},
                                            {"detail", detail},
                                            {"username", opt_json(r.username)},
                                            {"actor_username", opt_json(r.actor_username)}});
                         }
                         nlohmann::json next = nullptr;
                         if (list.size() > limit) next = encode_cursor(list[limit - 1].at, list[limit - 1].id);
                         return nlohmann::json{{"items", items}, {"next_cursor", next}};
                       });
}

HandlerResult admin_usage(const Services& s, Context& ctx) {
  auto query = read_usage_query(ctx, {.allow_user = true, .fallback = chat::db::UsageGroup::user}, system_now_ms());
  if (!query) co_return http::error_response(ctx, query.error());
  if (auto user = ctx.query_param("user_id"); user && !user->empty()) query.value().user_id = *user;
  co_return reply_json(ctx, bhttp::status::ok, co_await s.admin.usage(query.value()), [&query](const auto& rows) {
    return nlohmann::json{{"items", usage_items(rows, query.value())}};
  });
}

}  // namespace chatd::api
