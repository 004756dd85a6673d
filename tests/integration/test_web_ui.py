"""The web UI as the binary serves it (API.md, Operations): its files with ETags, caching and
gzip, its page for browser navigations to its own paths, and JSON for everything else."""

import gzip
import re

import pytest

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.fixture
def server(make_chatd):
    srv = make_chatd()
    res = srv.request("GET", "/")
    assert res.status == 200, "this chatd has no web UI built in: run scripts/web build, then rebuild"
    return srv


def page_assets(html):
    """The same-origin files index.html loads (scripts, styles, icons)."""
    return sorted(set(re.findall(r'(?:src|href)="(/[^"]+)"', html)))


def test_index_is_served_with_the_spa_policy(server):
    res = server.request("GET", "/")
    assert res.header("content-type") == "text/html; charset=utf-8"
    assert res.header("cache-control") == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', res.header("etag"))
    csp = res.header("content-security-policy")
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("style-src")[0] and "unsafe-eval" not in csp
    html = res.body.decode()
    # No inline script: every <script> loads a file.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/' in tag, tag
    for text in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S):
        assert text.strip() == "", "inline script text"
    assert res.header("x-frame-options") == "DENY" and res.header("x-content-type-options") == "nosniff"
    assert server.request("GET", "/index.html").body == res.body


def test_every_file_the_page_loads_is_served_and_cached_for_good(server):
    html = server.request("GET", "/").body.decode()
    files = page_assets(html)
    assert any(f.endswith(".js") for f in files), files
    for path in files:
        res = server.request("GET", path)
        assert res.status == 200, path
        if path.startswith("/assets/"):
            assert res.header("cache-control") == "public, max-age=31536000, immutable", path
        if path.endswith(".js"):
            assert res.header("content-type") == "text/javascript; charset=utf-8"
        if path.endswith(".css"):
            assert res.header("content-type") == "text/css; charset=utf-8"


def test_gzip_when_accepted_and_the_same_bytes(server):
    html = server.request("GET", "/").body.decode()
    script = next(f for f in page_assets(html) if f.endswith(".js"))
    plain = server.request("GET", script)
    packed = server.request("GET", script, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert plain.header("content-encoding") is None
    assert packed.header("content-encoding") == "gzip"
    assert packed.header("vary") == "Accept-Encoding"
    assert len(packed.body) < len(plain.body)
    assert gzip.decompress(packed.body) == plain.body
    assert packed.header("etag") == plain.header("etag")
    refused = server.request("GET", script, headers={"Accept-Encoding": "gzip;q=0, br"})
    assert refused.header("content-encoding") is None and refused.body == plain.body


def test_conditional_get_is_304(server):
    etag = server.request("GET", "/").header("etag")
    res = server.request("GET", "/", headers={"If-None-Match": etag})
    assert res.status == 304 and res.body == b""
    assert res.header("etag") == etag
    assert server.request("GET", "/", headers={"If-None-Match": '"stale"'}).status == 200


def test_head_has_the_headers_and_no_body(server):
    get = server.request("GET", "/")
    head = server.request("HEAD", "/")
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == str(len(get.body))
    assert head.header("etag") == get.header("etag")


@pytest.mark.parametrize("path", ["/login", "/register", "/verify?token=abc", "/forgot", "/reset?token=x",
                                  "/chat/0192e4d4-aaaa-7bbb-8ccc-123456789abc", "/settings", "/nowhere/at/all"])
def test_browser_navigation_to_a_spa_path_gets_the_page(server, path):
    index = server.request("GET", "/").body
    res = server.request("GET", path, headers={"Accept": BROWSER_ACCEPT})
    assert res.status == 200, (path, res.body[:200])
    assert res.body == index
    assert res.header("cache-control") == "no-cache"
    assert "script-src 'self'" in res.header("content-security-policy")


def test_everything_else_keeps_its_json(server):
    # The same paths asked for as JSON, or with no preference, or not with GET: the 404 problem.
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}, {"Accept": "text/html, application/json"}):
        res = server.request("GET", "/login", headers=headers)
        assert res.status == 404, headers
        assert res.header("content-type") == "application/problem+json"
    res = server.request("POST", "/login", body="{}", headers={"Accept": BROWSER_ACCEPT,
                                                               "Content-Type": "application/json"})
    assert res.status == 404 and res.json()["code"] == "not_found"
    # API paths stay the API's, whatever the browser asks for.
    res = server.request("GET", "/conversations", headers={"Accept": BROWSER_ACCEPT})
    assert res.status == 401 and res.json()["code"] == "unauthorized"
    res = server.request("GET", "/healthz", headers={"Accept": BROWSER_ACCEPT})
    assert res.json() == {"status": "ok"}
    # An API response keeps the API's strict policy.
    assert "script-src" not in res.header("content-security-policy")


def test_files_are_not_rate_limited(make_chatd):
    srv = make_chatd({"CHATD_RATE_LIMITS": "global=3/60s"})
    for _ in range(6):
        res = srv.request("GET", "/")
        assert res.status == 200
        assert res.header("ratelimit-limit") is None
    statuses = [srv.request("GET", "/auth/keys/jwks.json").status for _ in range(5)]
    assert statuses.count(200) <= 3 and 429 in statuses
