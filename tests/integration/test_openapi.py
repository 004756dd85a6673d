"""GET /openapi.json against the route table (`chatd routes`), both ways: every route has its
documented operation and every operation is a route, with the security, body and errors its
row says. (Every response of every other test is checked against the same document by the
test client: openapi_check.py.)"""

import json
import subprocess

from jsonschema import Draft202012Validator

from conftest import CHATD_BIN
import openapi_check


def chatd_json(*args):
    out = subprocess.run([CHATD_BIN, *args], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def operations(doc):
    return {(method.upper(), path): op for path, item in doc["paths"].items() for method, op in item.items()}


def test_served_document_is_the_command_s(chatd):
    res = chatd.request("GET", "/openapi.json")
    assert res.status == 200
    assert res.header("content-type") == "application/json"
    doc = res.json()
    assert doc == chatd_json("openapi")
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "chatd API"


def test_every_route_is_documented_and_every_operation_is_a_route():
    routes = {(r["method"], r["path"]): r for r in chatd_json("routes")}
    ops = operations(chatd_json("openapi"))
    assert set(ops) - set(routes) == set(), "operations without a route"
    assert set(routes) - set(ops) == set(), "routes without an operation"
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids)), "operationIds repeat"
    for key, route in routes.items():
        op = ops[key]
        where = f"{key[0]} {key[1]}"
        assert op["summary"] and op["tags"] and op["operationId"] == route["operation_id"], where
        assert any(s.startswith("2") for s in op["responses"]), f"{where}: no success reply"
        assert "default" in op["responses"], where
        schemes = [name for requirement in op["security"] for name in requirement]
        if route["access"] in ("user", "admin"):
            assert op["security"] == [{"bearerAuth": []}], where
            assert "401" in op["responses"], where
        elif route["access"] == "api":
            assert op["security"] == [{"apiKey": []}], where
        elif route["access"] == "optional_user":
            assert "bearerAuth" in schemes, where
        else:
            assert "bearerAuth" not in schemes and "apiKey" not in schemes, where
        if route["access"] == "admin":
            assert "403" in op["responses"], where
        if route["json_body"]:
            assert "application/json" in op["requestBody"]["content"], where
            assert {"400", "415", "422"} <= set(op["responses"]), where
        else:
            assert "requestBody" not in op, where
        if route["rate_bucket"] or route["user_rate_bucket"] or route["global_limit"]:
            assert "429" in op["responses"], where
        params = [p.get("name") for p in op.get("parameters", []) if p.get("in") == "path"]
        assert params == [seg[1:-1] for seg in key[1].split("/") if seg.startswith("{")], where


def test_v1_errors_take_openai_s_shape_and_the_rest_are_problems():
    for (method, path), op in operations(chatd_json("openapi")).items():
        content = op["responses"]["default"]["content"]
        if path.startswith("/v1/"):
            assert list(content) == ["application/json"]
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/OpenAIError"}
        else:
            assert list(content) == ["application/problem+json"]
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_every_reference_resolves_and_every_schema_is_valid():
    doc = chatd_json("openapi")
    refs = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    refs.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert refs
    for ref in refs:
        node = doc
        for part in ref.lstrip("#/").split("/"):
            assert part in node, ref
            node = node[part]
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    assert {"bearerAuth", "apiKey", "refreshCookie", "metricsToken"} <= set(doc["components"]["securitySchemes"])


def test_the_test_client_rejects_a_response_the_document_does_not_describe():
    """The check every request of the suite goes through finds what is wrong."""
    ok = json.dumps({"status": "ok"}).encode()
    assert openapi_check.problems(CHATD_BIN, "GET", "/healthz", 200, "application/json", ok) == []
    wrong = openapi_check.problems(CHATD_BIN, "GET", "/healthz", 200, "application/json", b'{"status": 1}')
    assert wrong and "/healthz" in wrong[0]
    missing = openapi_check.problems(CHATD_BIN, "GET", "/auth/me", 200, "application/json", b'{"user": {}}')
    assert any("'email' is a required property" in p for p in missing)
    media = openapi_check.problems(CHATD_BIN, "DELETE", "/api-keys/k1", 204, "application/json", b"{}")
    assert media
    problem = openapi_check.problems(CHATD_BIN, "GET", "/conversations/x", 404, "application/problem+json", b"{}")
    assert any("'code' is a required property" in p for p in problem)


def test_docs_page_is_served_under_the_strict_policy(chatd):
    res = chatd.request("GET", "/docs", headers={"Accept": "text/html"})
    assert res.status == 200, res.body
    assert res.header("content-type").startswith("text/html")
    csp = res.header("content-security-policy")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = res.body.decode()
    assert "<script>" not in page and "/docs/init.js" in page
    script = chatd.request("GET", "/docs/init.js")
    assert script.status == 200 and b"/openapi.json" in script.body


def test_every_example_matches_its_schema():
    doc = chatd_json("openapi")
    checked = 0
    for (method, path), op in operations(doc).items():
        for status, reply in op["responses"].items():
            for media, body in reply.get("content", {}).items():
                if "example" in body:
                    errors = list(openapi_check._validator(doc, body["schema"]["$ref"]).iter_errors(body["example"]))
                    assert errors == [], (method, path, status, media, [e.message for e in errors])
                    checked += 1
    for name, schema in doc["components"]["schemas"].items():
        for example in schema.get("examples", []):
            errors = list(openapi_check._validator(doc, f"#/components/schemas/{name}").iter_errors(example))
            assert errors == [], (name, [e.message for e in errors])
            checked += 1
    assert checked > 100
