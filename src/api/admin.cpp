#include "api/admin.hpp"

#include "api/auth.hpp"
#include "api/common.hpp"
#include "api/pagination.hpp"
#include "core/time.hpp"
#include "http/problem.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Access;
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

// "2026-11-01" (midnight UTC) or an RFC 3339 timestamp.
std::optional<std::int64_t> parse_time_or_date(const std::string& text) {
  if (text.size() == 10) return parse_rfc3339(text + "T00:00:00Z");
  return parse_rfc3339(text);
}

std::string day_of(std::int64_t epoch_day) { return format_rfc3339(epoch_day * 86'400'000).substr(0, 10); }

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

void add_admin_routes(http::Router& router, auth::AdminService& admin) {
  auto& svc = admin;

  router.add({bhttp::verb::get, "/admin/ping",
              [](Context&) -> awaitable<Response> {
                co_return http::json_response(bhttp::status::ok, {{"status", "ok"}});
              },
              false, Access::admin});

  router.add({bhttp::verb::get, "/admin/users",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto page = page_request(ctx);
                if (!page) co_return http::error_response(ctx, page.error());
                const auto& after = page.value().after;
                std::string q = ctx.query_param("q").value_or("");
                if (q.size() > 254) co_return http::error_response(ctx, Error::validation({{"q", "is too long"}}));
                int limit = page.value().limit;
                auto users = co_await svc.list_users(q, after, limit + 1);
                if (!users) co_return http::error_response(ctx, users.error());
                auto& list = users.value();
                nlohmann::json items = nlohmann::json::array();
                for (std::size_t i = 0; i < list.size() && i < static_cast<std::size_t>(limit); ++i)
                  items.push_back(admin_user_json(list[i]));
                nlohmann::json next = nullptr;
                if (list.size() > static_cast<std::size_t>(limit))
                  next = encode_cursor(list[static_cast<std::size_t>(limit) - 1].created_at,
                                       list[static_cast<std::size_t>(limit) - 1].id);
                co_return http::json_response(bhttp::status::ok, {{"items", items}, {"next_cursor", next}});
              },
              false, Access::admin});

  router.add({bhttp::verb::get, "/admin/users/{id}",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto user = co_await svc.get_user(ctx.params.get("id"));
                if (!user) co_return http::error_response(ctx, user.error());
                co_return http::json_response(bhttp::status::ok, admin_user_json(user.value()));
              },
              false, Access::admin});

  router.add({bhttp::verb::patch, "/admin/users/{id}",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto patch = read_user_patch(ctx.body);
                if (!patch) co_return http::error_response(ctx, patch.error());
                auto user = co_await svc.patch_user(*ctx.principal, ctx.params.get("id"), std::move(patch).value(),
                                                    meta_of(ctx));
                if (!user) co_return http::error_response(ctx, user.error());
                co_return http::json_response(bhttp::status::ok, admin_user_json(user.value()));
              },
              true, Access::admin});

  router.add({bhttp::verb::post, "/admin/users/{id}/sessions/revoke",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto done = co_await svc.revoke_sessions(*ctx.principal, ctx.params.get("id"), meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::empty_response(bhttp::status::no_content);
              },
              false, Access::admin});

  router.add({bhttp::verb::get, "/admin/audit",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto page = page_request(ctx);
                if (!page) co_return http::error_response(ctx, page.error());
                const auto& after = page.value().after;
                int limit = page.value().limit;
                auto rows = co_await svc.audit(ctx.query_param("user_id").value_or(""),
                                               ctx.query_param("event").value_or(""), after, limit + 1);
                if (!rows) co_return http::error_response(ctx, rows.error());
                auto& list = rows.value();
                nlohmann::json items = nlohmann::json::array();
                for (std::size_t i = 0; i < list.size() && i < static_cast<std::size_t>(limit); ++i) {
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
                                   {"detail", detail}});
                }
                nlohmann::json next = nullptr;
                if (list.size() > static_cast<std::size_t>(limit))
                  next = encode_cursor(list[static_cast<std::size_t>(limit) - 1].at,
                                       list[static_cast<std::size_t>(limit) - 1].id);
                co_return http::json_response(bhttp::status::ok, {{"items", items}, {"next_cursor", next}});
              },
              false, Access::admin});

  router.add({bhttp::verb::get, "/admin/usage",
              [&svc](Context& ctx) -> awaitable<Response> {
                std::vector<FieldError> errors;
                // `to` is exclusive: by default it ends after the current millisecond, so an
                // event recorded in the same millisecond as this request is counted.
                std::int64_t to = system_now_ms() + 1;
                std::int64_t from = to - 30LL * 86'400'000;
                if (auto v = ctx.query_param("from")) {
                  if (auto t = parse_time_or_date(*v))
                    from = *t;
                  else
                    errors.push_back({"from", "must be an RFC 3339 timestamp or a date (YYYY-MM-DD)"});
                }
                if (auto v = ctx.query_param("to")) {
                  if (auto t = parse_time_or_date(*v))
                    to = *t;
                  else
                    errors.push_back({"to", "must be an RFC 3339 timestamp or a date (YYYY-MM-DD)"});
                }
                std::string group_by = ctx.query_param("group_by").value_or("user");
                if (group_by != "user" && group_by != "model" && group_by != "day")
                  errors.push_back({"group_by", "must be user, model or day"});
                if (errors.empty() && from > to) errors.push_back({"from", "must not be after `to`"});
                if (!errors.empty()) co_return http::error_response(ctx, Error::validation(std::move(errors)));
                auto rows = co_await svc.usage(group_by, from, to);
                if (!rows) co_return http::error_response(ctx, rows.error());
                nlohmann::json items = nlohmann::json::array();
                for (const auto& r : rows.value())
                  items.push_back({{"key", group_by == "day" ? day_of(std::stoll(r.key)) : r.key},
                                   {"requests", r.requests},
                                   {"prompt_tokens", r.prompt_tokens},
                                   {"completion_tokens", r.completion_tokens},
                                   {"cost_usd", r.cost_usd}});
                co_return http::json_response(bhttp::status::ok, {{"items", items}});
              },
              false, Access::admin});
}

}  // namespace chatd::api
