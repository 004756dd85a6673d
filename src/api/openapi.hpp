#pragma once
// GET /openapi.json: the OpenAPI 3.1 document of the route table (its paths, operations,
// parameters and replies) with the components of src/api/openapi/components.json (the
// schemas of every body, the problem and OpenAI error shapes, the security schemes, the
// query parameters). GET /docs: the API reference page (Swagger UI, web/docs/) reading it.

#include "api/routes.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace chatd::api {

// src/api/openapi/components.json, compiled in (cmake/embed_text.cmake).
std::string_view embedded_openapi_components();

// The document for `routes` with `components` (an OpenAPI components object).
nlohmann::json build_openapi(const std::vector<RouteEntry>& routes, const nlohmann::json& components,
                             std::string_view version);

// The tags of `routes` that the document does not describe ("Tag (/pattern)").
std::vector<std::string> unknown_tags(const std::vector<RouteEntry>& routes);

// Every "$ref" of `document` that names nothing in it ("#/components/schemas/Nope").
std::vector<std::string> unresolved_refs(const nlohmann::json& document);

// The served document (built once, on first use).
const std::string& openapi_json();

HandlerResult openapi_document(const Services& s, http::Context& ctx);
HandlerResult api_reference(const Services& s, http::Context& ctx);

}  // namespace chatd::api
