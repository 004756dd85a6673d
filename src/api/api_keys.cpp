#include "api/api_keys.hpp"

#include "api/common.hpp"
#include "api/input.hpp"
#include "core/time.hpp"
#include "http/problem.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Access;
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

void add_api_key_routes(http::Router& router, auth::ApiKeys& keys) {
  auto& svc = keys;

  router.add({bhttp::verb::post, "/api-keys",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto req = read_new_key(ctx.body);
                if (!req) co_return http::error_response(ctx, req.error());
                auto created =
                    co_await svc.create(*ctx.principal, req.value().name, req.value().expires_at, meta_of(ctx));
                if (!created) co_return http::error_response(ctx, created.error());
                // The only time the key is shown.
                co_return no_store(http::json_response(bhttp::status::created, created_json(created.value())));
              },
              true, Access::user});

  router.add({bhttp::verb::get, "/api-keys",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto list = co_await svc.list(*ctx.principal);
                if (!list) co_return http::error_response(ctx, list.error());
                nlohmann::json items = nlohmann::json::array();
                for (const auto& k : list.value()) items.push_back(key_json(k));
                co_return http::json_response(bhttp::status::ok, {{"items", items}});
              },
              false, Access::user});

  router.add({bhttp::verb::delete_, "/api-keys/{id}",
              [&svc](Context& ctx) -> awaitable<Response> {
                auto done = co_await svc.remove(*ctx.principal, ctx.params.get("id"), meta_of(ctx));
                if (!done) co_return http::error_response(ctx, done.error());
                co_return http::empty_response(bhttp::status::no_content);
              },
              false, Access::user});
}

}  // namespace chatd::api
