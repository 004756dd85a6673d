"""API.md conventions through the real binary: problem bodies, request ids, security
headers, CORS, health checks."""

import json
import re

from conftest import parse_raw_response

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def assert_problem(res, status, code):
    assert res.status == status, res.body
    assert res.header("content-type") == "application/problem+json"
    body = res.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str)
    return body


def test_healthz(chatd):
    res = chatd.request("GET", "/healthz")
    assert res.status == 200
    assert res.header("content-type") == "application/json"
    assert res.json() == {"status": "ok"}


def test_head_healthz_has_no_body(chatd):
    res = chatd.request("HEAD", "/healthz")
    assert res.status == 200
    assert res.body == b""
    assert res.header("content-length") == str(len(b'{"status":"ok"}'))


def test_readyz_checks_database(chatd):
    res = chatd.request("GET", "/readyz")
    assert res.status == 200
    assert res.json() == {"status": "ok", "checks": {"database": "ok", "redis": "disabled"}}


def test_unknown_route_is_404_problem(chatd):
    assert_problem(chatd.request("GET", "/no/such/thing"), 404, "not_found")


def test_wrong_method_is_405_with_allow(chatd):
    res = chatd.request("DELETE", "/healthz")
    # HTTP's status, the contract's nearest code: no resource answers that method.
    assert_problem(res, 405, "not_found")
    assert res.header("allow") == "GET, HEAD"


def test_body_over_limit_is_413_before_it_is_read(make_chatd):
    server = make_chatd({"CHATD_MAX_BODY_BYTES": "2048", "CHATD_MAX_MESSAGE_CHARS": "1000"})
    # Only the head is sent: the answer must come without the server waiting for the body.
    raw = server.raw(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 5000000\r\n\r\n")
    status, headers, body = parse_raw_response(raw)
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert b'"code":"payload_too_large"' in body
    assert headers["connection"].lower() == "close"


def test_chunked_body_over_limit_is_413(make_chatd):
    server = make_chatd({"CHATD_MAX_BODY_BYTES": "2048", "CHATD_MAX_MESSAGE_CHARS": "1000"})
    chunk = b"a" * 1500
    raw = server.raw(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" +
                     (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2 + b"0\r\n\r\n")
    status, _, body = parse_raw_response(raw)
    assert status == 413
    assert b"payload_too_large" in body


def test_body_that_is_not_json_is_415(chatd):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        res = chatd.request("GET", "/healthz", body=b"hello", headers=headers)
        assert_problem(res, 415, "unsupported_media_type")
    assert chatd.request("GET", "/healthz", body=b"{}", headers={"Content-Type": "application/json"}).status == 200


def test_invalid_json_is_400_and_wrong_type_is_415_on_a_json_route(make_chatd):
    chatd = make_chatd({"CHATD_RATE_LIMITS": "login=1000/60s"})
    for body in (b"{", b'{"login": }', b"nul", b'{"a": 1} trailing'):
        res = chatd.request("POST", "/auth/login", body=body, headers={"Content-Type": "application/json"})
        assert_problem(res, 400, "invalid_json")
    # Valid JSON that is not an object is a field error, not a parse error.
    for body in (b"[]", b"[1, 2]", b'"a"', b"42", b"null", b"true"):
        res = chatd.request("POST", "/auth/login", body=body, headers={"Content-Type": "application/json"})
        problem = assert_problem(res, 422, "validation_failed")
        assert problem["errors"] == [{"field": "body", "message": "must be a JSON object"}], body
    res = chatd.request("POST", "/auth/login", body=b"login=a&password=b",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(res, 415, "unsupported_media_type")
    body = assert_problem(chatd.request("POST", "/auth/login", body=b"{}",
                                        headers={"Content-Type": "application/json"}), 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"login", "password"}


def test_text_holding_nul_is_422_naming_the_field(make_chatd):
    server = make_chatd({"CHATD_REQUIRE_EMAIL_VERIFICATION": "false"})
    res = server.api("POST", "/auth/register", {"email": "nul@example.com", "username": "nul\u0000user",
                                                "password": "correct horse battery staple"})
    problem = assert_problem(res, 422, "validation_failed")
    assert problem["errors"] == [{"field": "username", "message": "must not contain NUL characters"}]
    assert server.sql("SELECT count(*) FROM users") == [("0",)]  # nothing changed
    assert server.api("POST", "/auth/register", {"email": "nul@example.com", "username": "nuluser",
                                                 "password": "correct horse battery staple"}).status == 201
    token = server.api("POST", "/auth/login", {"login": "nuluser", "password": "correct horse battery staple"}
                       ).json()["access_token"]
    problem = assert_problem(server.api("POST", "/conversations", {"title": "a\u0000b"}, token=token),
                             422, "validation_failed")
    assert problem["errors"][0]["field"] == "title"
    problem = assert_problem(server.request("GET", "/conversations?q=a%00b",
                                            headers={"Authorization": "Bearer " + token}), 422, "validation_failed")
    assert problem["errors"][0]["field"] == "q"
    # /v1 answers in OpenAI's error shape, naming the parameter.
    res = server.api("POST", "/v1/chat/completions",
                     {"model": "demo", "messages": [{"role": "user", "content": "hi\u0000"}]}, token=token)
    assert res.status == 422
    error = res.json()["error"]
    assert error["code"] == "validation_failed" and error["param"] == "messages[0].content"


def test_request_id_echoed_when_valid(chatd):
    res = chatd.request("GET", "/healthz", headers={"X-Request-Id": "client-id_1.2"})
    assert res.header("x-request-id") == "client-id_1.2"
    chatd.wait_log(lambda l: l.get("request_id") == "client-id_1.2" and l.get("event") == "http.request")


def test_request_id_generated_when_missing_or_invalid(chatd):
    seen = set()
    for value in [None, "has spaces", "x" * 129, "bad;chars", ""]:
        headers = {} if value is None else {"X-Request-Id": value}
        rid = chatd.request("GET", "/healthz", headers=headers).header("x-request-id")
        assert rid and rid != value
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", rid)
        seen.add(rid)
    assert len(seen) == 5


def test_request_id_on_errors_too(chatd):
    res = chatd.request("GET", "/missing", headers={"X-Request-Id": "err-1"})
    assert res.header("x-request-id") == "err-1"


def test_security_headers_on_every_response(chatd):
    for method, path in [("GET", "/healthz"), ("GET", "/nope"), ("POST", "/healthz"), ("GET", "/readyz")]:
        res = chatd.request(method, path)
        for name, value in SECURITY_HEADERS.items():
            assert res.header(name) == value, (path, name)
        assert "default-src 'none'" in res.header("content-security-policy")
        assert res.header("strict-transport-security") is None


def test_hsts_only_via_trusted_proxy_https(make_chatd):
    server = make_chatd({"CHATD_TRUSTED_PROXIES": "127.0.0.1"})
    res = server.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https",
                                                     "X-Forwarded-For": "203.0.113.7"})
    assert "max-age=" in res.header("strict-transport-security")
    line = server.wait_log(lambda l: l.get("event") == "http.request")
    assert line["ip"] == "203.0.113.7"
    # Every response behind the proxy carries it, the proxy's own health checks (no
    # X-Forwarded-For) and every kind of answer included.
    for method, path, forwarded in [("GET", "/healthz", None), ("GET", "/readyz", None),
                                    ("GET", "/readyz", "127.0.0.1"), ("GET", "/nope", None),
                                    ("DELETE", "/healthz", None), ("POST", "/auth/login", None)]:
        headers = {"X-Forwarded-Proto": "https"}
        if forwarded:
            headers["X-Forwarded-For"] = forwarded
        res = server.request(method, path, headers=headers)
        assert "max-age=" in (res.header("strict-transport-security") or ""), (method, path, res.status)
        for name, value in SECURITY_HEADERS.items():
            assert res.header(name) == value, (path, name)
    # Plain http through the proxy: none.
    res = server.request("GET", "/healthz", headers={"X-Forwarded-Proto": "http"})
    assert res.header("strict-transport-security") is None


def test_forwarded_for_ignored_from_untrusted_peer(chatd):
    chatd.request("GET", "/healthz", headers={"X-Forwarded-For": "203.0.113.7", "X-Request-Id": "xff-1"})
    line = chatd.wait_log(lambda l: l.get("request_id") == "xff-1")
    assert line["ip"] == "127.0.0.1"


def test_access_log_line_fields(chatd):
    chatd.request("GET", "/healthz", headers={"X-Request-Id": "log-1"})
    line = chatd.wait_log(lambda l: l.get("request_id") == "log-1")
    assert line["event"] == "http.request"
    assert line["method"] == "GET"
    assert line["route"] == "/healthz"
    assert line["status"] == 200
    assert line["bytes"] == len(b'{"status":"ok"}')
    assert line["ip"] == "127.0.0.1"
    assert isinstance(line["duration_us"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])


def test_cors_preflight_for_listed_origin(make_chatd):
    server = make_chatd({"CHATD_CORS_ORIGINS": "https://app.example.com,http://localhost:5173"})
    res = server.request("OPTIONS", "/healthz", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert res.status == 204
    assert res.header("access-control-allow-origin") == "http://localhost:5173"
    assert "GET" in res.header("access-control-allow-methods")
    assert "Authorization" in res.header("access-control-allow-headers")
    assert res.header("vary") == "Origin"

    res = server.request("GET", "/healthz", headers={"Origin": "https://app.example.com"})
    assert res.status == 200
    assert res.header("access-control-allow-origin") == "https://app.example.com"
    assert "X-Request-Id" in res.header("access-control-expose-headers")


def test_cors_preflight_refused_for_other_origins(make_chatd):
    server = make_chatd({"CHATD_CORS_ORIGINS": "https://app.example.com"})
    res = server.request("OPTIONS", "/healthz", headers={
        "Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"})
    assert_problem(res, 403, "forbidden")
    assert res.header("access-control-allow-origin") is None
    res = server.request("GET", "/healthz", headers={"Origin": "https://evil.example.com"})
    assert res.status == 200
    assert res.header("access-control-allow-origin") is None


def test_cors_off_by_default(chatd):
    res = chatd.request("OPTIONS", "/healthz", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
    assert res.status == 403
    assert res.header("access-control-allow-origin") is None


def test_keep_alive_serves_several_requests(chatd):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", chatd.port, timeout=5)
    for i in range(5):
        conn.request("GET", "/healthz", headers={"X-Request-Id": f"ka-{i}"})
        res = conn.getresponse()
        assert res.status == 200
        res.read()
    conn.close()


def test_oversized_head_is_refused(make_chatd):
    server = make_chatd({"CHATD_MAX_HEADER_BYTES": "2048"})
    raw = server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4000 + b"\r\n\r\n")
    status, headers, body = parse_raw_response(raw)
    assert status == 431
    assert headers["content-type"] == "application/problem+json"
    # HTTP's precise status; the contract's code for "too large" (API.md has no other).
    assert json.loads(body)["code"] == "payload_too_large"
