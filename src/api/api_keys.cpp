#include "api/api_keys.hpp"

#include "api/common.hpp"
#include "api/input.hpp"
#include "api/reply.hpp"
#include "core/time.hpp"
#include "http/problem.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Context;
using http::Response;

Result<NewKeyRequest> read_new_key(const nlohmann::json& body) {
  BodyReader in(body);
  NewKeyRequest out;
  // Bytes here; the service counts characters (at most 100, so at most 400 bytes of UTF-8).
  out.name = in.required_string("name", 400);
  auto expires = in.optional_string("expires_at", 64);
  std::vector<FieldError> fields;
  if (auto st = in.finish(); !st) fields = st.error().fields;
  if (expires) {
    out.expires_at = parse_rfc3339(*expires);
    if (!out.expires_at) fields.push_back({"expires_at", "must be an RFC 3339 date-time, e.g. 2030-01-31T12:00:00Z"});
  }
  if (!fields.empty()) return Error::validation(std::move(fields));
  return out;
}

namespace {

nlohmann::json key_json(const auth::ApiKey& k) {
  return {{"id", k.id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"created_at", format_rfc3339(k.created_at)},
          {"last_used_at", time_or_null(k.last_used_at)},
          {"expires_at", time_or_null(k.expires_at)}};
}

// POST's answer: the list entry without last_used_at, plus the key itself.
nlohmann::json created_json(const auth::NewApiKey& created) {
  const auto& k = created.key;
  return {{"id", k.id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"key", created.secret},
          {"created_at", format_rfc3339(k.created_at)},
          {"expires_at", time_or_null(k.expires_at)}};
}

}  // namespace

HandlerResult create_api_key(const Services& s, Context& ctx) {
  auto req = read_new_key(ctx.body);
  if (!req) co_return http::error_response(ctx, req.error());
  // The only time the key is shown.
  co_return reply(
      ctx, co_await s.api_keys.create(*ctx.principal, req.value().name, req.value().expires_at, meta_of(ctx)),
      [](const auto& created) { return no_store(http::json_response(bhttp::status::created, created_json(created))); });
}

HandlerResult list_api_keys(const Services& s, Context& ctx) {
  co_return reply_json(ctx, bhttp::status::ok, co_await s.api_keys.list(*ctx.principal), [](const auto& list) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& k : list) items.push_back(key_json(k));
    return nlohmann::json{{"items", items}};
  });
}

HandlerResult delete_api_key(const Services& s, Context& ctx) {
  co_return reply_no_content(ctx, co_await s.api_keys.remove(*ctx.principal, ctx.params.get("id"), meta_of(ctx)));
}

}  // namespace chatd::api
