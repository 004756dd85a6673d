// The route table and the OpenAPI document built from it: every row complete, and every name
// it gives found in the components. (That the router enforces each row's access level is the
// authorization matrix of tests/integration/test_admin.py.)
#include "api/routes.hpp"

#include "api/openapi.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace chatd::api {
namespace {

const nlohmann::json& components() {
  static const nlohmann::json c = nlohmann::json::parse(embedded_openapi_components());
  return c;
}

TEST(RouteTable, EveryRowIsDocumented) {
  std::set<std::string_view> operations;
  for (const RouteEntry& e : route_table()) {
    SCOPED_TRACE(std::string(e.pattern));
    EXPECT_NE(e.handler, nullptr);
    EXPECT_FALSE(e.doc.summary.empty());
    EXPECT_FALSE(e.doc.tag.empty());
    EXPECT_FALSE(e.doc.replies.empty());
    EXPECT_TRUE(operations.insert(e.operation).second) << "operation id " << e.operation << " repeats";
    // A route that reads a JSON body names its schema; one that does not, none.
    EXPECT_EQ(e.json_body, !e.doc.request.empty());
    if (!e.doc.request.empty()) {
      EXPECT_TRUE(components()["schemas"].contains(std::string(e.doc.request)));
    }
    for (const Reply& r : e.doc.replies) {
      EXPECT_GE(r.status, 200);
      EXPECT_LT(r.status, 600);
      if (!r.schema.empty()) {
        EXPECT_TRUE(components()["schemas"].contains(std::string(r.schema))) << r.schema;
      }
      EXPECT_EQ(r.media.empty(), r.schema.empty()) << r.status;
    }
    for (auto p : e.doc.params) EXPECT_TRUE(components()["parameters"].contains(std::string(p))) << p;
    if (!e.doc.also_accepts.empty()) {
      EXPECT_TRUE(components()["securitySchemes"].contains(std::string(e.doc.also_accepts)));
    }
  }
  EXPECT_TRUE(unknown_tags(route_table()).empty());
}

TEST(OpenApi, TheDocumentHasAnOperationPerRowAndNoDanglingReference) {
  nlohmann::json doc = build_openapi(route_table(), components(), "1.2.3");
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_EQ(doc["info"]["version"], "1.2.3");
  std::size_t count = 0;
  for (const auto& [path, item] : doc["paths"].items()) count += item.size();
  EXPECT_EQ(count, route_table().size());
  EXPECT_EQ(unresolved_refs(doc), std::vector<std::string>{});
  const auto& login = doc["paths"]["/auth/login"]["post"];
  EXPECT_EQ(login["operationId"], "login");
  EXPECT_EQ(login["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/LoginRequest");
  EXPECT_TRUE(login["requestBody"]["required"].get<bool>());
  EXPECT_TRUE(login["responses"].contains("429"));
  EXPECT_EQ(doc["paths"]["/auth/me"]["get"]["security"], nlohmann::json::parse(R"([{"bearerAuth": []}])"));
  EXPECT_EQ(doc["paths"]["/conversations/{id}"]["get"]["parameters"][0]["name"], "id");
}

TEST(OpenApi, ADanglingReferenceIsFound) {
  nlohmann::json doc = build_openapi(route_table(), components(), "1");
  doc["paths"]["/auth/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] =
      "#/components/schemas/Nope";
  EXPECT_EQ(unresolved_refs(doc), std::vector<std::string>{"#/components/schemas/Nope"});
}

TEST(OpenApi, AnUndescribedTagIsFound) {
  std::vector<RouteEntry> routes = {route_table().front()};
  routes[0].doc.tag = "Misc";
  EXPECT_EQ(unknown_tags(routes), std::vector<std::string>{"Misc (/healthz)"});
}

}  // namespace
}  // namespace chatd::api
