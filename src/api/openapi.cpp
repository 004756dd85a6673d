#include "api/openapi.hpp"

#include "http/problem.hpp"
#include "web/assets.hpp"

#include <set>

namespace chatd::api {

namespace bhttp = boost::beast::http;
using json = nlohmann::json;

namespace {

json ref(std::string_view section, std::string_view name) {
  return {{"$ref", "#/components/" + std::string(section) + "/" + std::string(name)}};
}

std::string lower_method(http::bhttp::verb method) {
  std::string m(bhttp::to_string(method));
  for (char& c : m) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return m;
}

std::vector<std::string> path_parameters(std::string_view pattern) {
  std::vector<std::string> out;
  for (std::size_t open = pattern.find('{'); open != std::string_view::npos; open = pattern.find('{', open + 1)) {
    std::size_t close = pattern.find('}', open);
    out.emplace_back(pattern.substr(open + 1, close - open - 1));
  }
  return out;
}

json security_of(const RouteEntry& e) {
  json sec = json::array();
  auto scheme = [](std::string_view name) { return json{{std::string(name), json::array()}}; };
  switch (e.access) {
    case http::Access::user:
    case http::Access::admin: sec.push_back(scheme("bearerAuth")); break;
    case http::Access::api: sec.push_back(scheme("apiKey")); break;
    case http::Access::optional_user:
      sec.push_back(scheme("bearerAuth"));
      if (e.doc.also_accepts.empty()) sec.push_back(json::object());
      break;
    case http::Access::anonymous:
      if (!e.doc.also_accepts.empty()) sec.push_back(json::object());  // or none at all
      break;
  }
  if (!e.doc.also_accepts.empty()) sec.push_back(scheme(e.doc.also_accepts));
  return sec;
}

// The error body of `status` as its route answers it: a problem document, or OpenAI's error
// shape on /v1 (as http::Pipeline rewrites it), with an example.
json error_content(bool openai, int status, std::string_view code, std::string_view detail) {
  json problem = {{"type", "about:blank"},
                  {"title", std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status)))},
                  {"status", status},
                  {"code", code},
                  {"detail", detail}};
  if (status == 422) problem["errors"] = json::array({{{"field", "name"}, {"message", "is required"}}});
  if (!openai)
    return {{"application/problem+json", {{"schema", ref("schemas", "Problem")}, {"example", std::move(problem)}}}};
  std::string type = status == 401   ? "authentication_error"
                     : status == 403 ? "permission_error"
                     : status == 429 ? "rate_limit_error"
                     : status >= 500 ? "api_error"
                                     : "invalid_request_error";
  std::string message(detail);
  json param = nullptr;
  if (status == 422) {
    message += "; name: is required";
    param = "name";
  }
  json body = {{"error", {{"message", message}, {"type", type}, {"param", param}, {"code", code}}}};
  return {{"application/json", {{"schema", ref("schemas", "OpenAIError")}, {"example", std::move(body)}}}};
}

// The errors every route of its kind may answer: a body to read, a caller to authenticate,
// an id to find, a limit to keep; and `default` for the rest (500, 503, 409, ...).
void add_error_replies(json& responses, const RouteEntry& e) {
  bool openai = e.pattern.starts_with("/v1/");
  auto add = [&](int status, std::string_view description, std::string_view code, std::string_view detail) {
    std::string key = std::to_string(status);
    if (!responses.contains(key))
      responses[key] = {{"description", description}, {"content", error_content(openai, status, code, detail)}};
  };
  if (e.json_body) {
    add(400, "The body is not valid JSON (`invalid_json`).", "invalid_json", "the request body is not valid JSON");
    add(413, "The body is larger than CHATD_MAX_BODY_BYTES.", "payload_too_large", "the request body is too large");
    add(415, "The body is not sent as `application/json`.", "unsupported_media_type",
        "send the body as Content-Type: application/json");
    add(422, "Fields are missing or invalid (`validation_failed`, one entry per field).", "validation_failed",
        "the request has invalid fields");
  }
  if (e.access != http::Access::anonymous)
    add(401, "No valid access token (or API key) was sent.", "unauthorized", "the access token has expired");
  if (e.access == http::Access::admin)
    add(403, "The caller is not an administrator.", "forbidden", "this needs the admin role");
  if (e.pattern.find('{') != std::string_view::npos)
    add(404, "Nothing with this id is visible to the caller.", "not_found", "no such resource");
  if (e.global_limit || !e.rate_bucket.empty() || !e.user_rate_bucket.empty()) {
    add(429, "A rate limit was reached; `Retry-After` says when to try again.", "rate_limited",
        "too many requests; retry after 12 seconds");
    responses["429"]["headers"] = {{"Retry-After", ref("headers", "RetryAfter")},
                                   {"RateLimit-Limit", ref("headers", "RateLimitLimit")},
                                   {"RateLimit-Remaining", ref("headers", "RateLimitRemaining")},
                                   {"RateLimit-Reset", ref("headers", "RateLimitReset")}};
  }
  responses["default"] = {{"description", "Any other error, in the same shape (409, 423, 500, 503, ...)."},
                          {"headers", {{"X-Request-Id", ref("headers", "XRequestId")}}},
                          {"content", error_content(openai, 500, "internal_error", "an internal error occurred")}};
}

json operation_of(const RouteEntry& e, const json& components) {
  json op = {{"operationId", e.operation}, {"summary", e.doc.summary}, {"tags", json::array({e.doc.tag})}};
  if (!e.doc.description.empty()) op["description"] = e.doc.description;
  json params = json::array();
  for (const auto& name : path_parameters(e.pattern))
    params.push_back({{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
  for (auto name : e.doc.params) params.push_back(ref("parameters", name));
  if (!params.empty()) op["parameters"] = std::move(params);
  if (e.json_body && !e.doc.request.empty()) {
    // A body whose fields are all optional may be left out (it reads as {}).
    const json* schema = nullptr;
    if (auto s = components.find("schemas"); s != components.end())
      if (auto it = s->find(std::string(e.doc.request)); it != s->end()) schema = &*it;
    bool required = schema && schema->contains("required") && !schema->at("required").empty();
    op["requestBody"] = {{"required", required},
                         {"content", {{"application/json", {{"schema", ref("schemas", e.doc.request)}}}}}};
  }
  json responses = json::object();
  for (const Reply& r : e.doc.replies) {
    json& reply = responses[std::to_string(r.status)];
    reply["description"] = r.description;
    if (!r.media.empty()) {
      json media = json::object();
      if (!r.schema.empty()) media["schema"] = ref("schemas", r.schema);
      reply["content"][std::string(r.media)] = std::move(media);
    }
  }
  add_error_replies(responses, e);
  op["responses"] = std::move(responses);
  op["security"] = security_of(e);
  return op;
}

void collect_refs(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "$ref" && it.value().is_string())
        out.push_back(it.value().get<std::string>());
      else
        collect_refs(it.value(), out);
    }
  } else if (node.is_array()) {
    for (const auto& v : node) collect_refs(v, out);
  }
}

// The document's tags in the order the reference shows them; every route's tag is one of these.
constexpr std::pair<std::string_view, std::string_view> kTags[] = {
    {"Health", "Liveness and readiness of this instance."},
    {"Operations", "Metrics, and this document and its reference page."},
    {"Accounts", "Registration, e-mail verification, the signed-in user and passwords."},
    {"Sessions", "Signing in and out, refreshing tokens, and the list of sessions."},
    {"Two-factor", "TOTP two-factor authentication and its recovery codes."},
    {"Keys", "The public keys that verify access tokens, and their rotation."},
    {"Invitations", "Invitation codes for invite-only registration."},
    {"API keys", "Keys for the OpenAI-compatible endpoint."},
    {"Admin", "Users, the audit log and usage reports (role admin)."},
    {"Chat", "Models, conversations and messages, with answers streamed as server-sent events."},
    {"Usage", "The caller's own token usage, cost and quota."},
    {"OpenAI-compatible", "`/v1`: OpenAI's wire format, for OpenAI client libraries."},
};

constexpr std::string_view kDescription =
    "The HTTP API of chatd: accounts and sessions, conversations with streaming answers, API keys "
    "and the OpenAI-compatible `/v1` endpoint, administration and operations.\n\n"
    "Errors are `application/problem+json` documents (RFC 9457) with a machine-readable `code`; "
    "on `/v1` they take OpenAI's error shape instead. Sign in with `POST /auth/login` and send "
    "the `access_token` as `Authorization: Bearer <token>`; `/v1` also takes an API key.";

}  // namespace

json build_openapi(const std::vector<RouteEntry>& routes, const json& components, std::string_view version) {
  json doc = {{"openapi", "3.1.0"},
              {"info", {{"title", "chatd API"}, {"version", version}, {"description", kDescription}}},
              {"servers", json::array({{{"url", "/"}, {"description", "this server"}}})}};
  std::set<std::string_view> used;
  json paths = json::object();
  for (const RouteEntry& e : routes) {
    used.insert(e.doc.tag);
    paths[std::string(e.pattern)][lower_method(e.method)] = operation_of(e, components);
  }
  json tags = json::array();
  for (const auto& [name, description] : kTags)
    if (used.contains(name)) tags.push_back({{"name", name}, {"description", description}});
  doc["tags"] = std::move(tags);
  doc["paths"] = std::move(paths);
  doc["components"] = components;
  return doc;
}

std::vector<std::string> unknown_tags(const std::vector<RouteEntry>& routes) {
  std::vector<std::string> out;
  for (const RouteEntry& e : routes) {
    bool known = false;
    for (const auto& [name, description] : kTags) known = known || name == e.doc.tag;
    if (!known) out.push_back(std::string(e.doc.tag) + " (" + std::string(e.pattern) + ")");
  }
  return out;
}

std::vector<std::string> unresolved_refs(const json& document) {
  std::vector<std::string> refs;
  collect_refs(document, refs);
  std::vector<std::string> missing;
  for (const auto& r : refs) {
    if (!r.starts_with("#/")) {
      missing.push_back(r);
      continue;
    }
    bool found = true;
    try {
      found = document.contains(json::json_pointer(r.substr(1)));
    } catch (const json::exception&) {
      found = false;
    }
    if (!found) missing.push_back(r);
  }
  return missing;
}

const std::string& openapi_json() {
  static const std::string text = [] {
    json components = json::parse(embedded_openapi_components());
    return build_openapi(route_table(), components, CHATD_VERSION).dump();
  }();
  return text;
}

HandlerResult openapi_document(const Services&, http::Context& ctx) {
  http::Response res{bhttp::status::ok, ctx.req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-cache");
  res.body() = openapi_json();
  co_return res;
}

// The page is a file of the built web UI (web/docs/); without a UI built in there is none.
HandlerResult api_reference(const Services&, http::Context& ctx) {
  for (const web::Asset& asset : web::embedded_assets())
    if (asset.path == "/docs/index.html") co_return web::StaticFiles::serve(ctx, asset);
  co_return http::error_response(
      ctx, fail(Code::not_found, "this build of chatd has no API reference page (the web UI was not built)"));
}

}  // namespace chatd::api
