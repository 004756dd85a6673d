"""API keys (POST/GET /api-keys, DELETE /api-keys/{id}) through the real binary, on SQLite
and PostgreSQL."""

import hashlib
import re

import pytest

from smtp_sink import SmtpSink
from test_auth import logged_in, problem

KEY_RE = re.compile(r"ck_[a-z2-7]{8}_[A-Za-z0-9_-]{43}")
LIST_FIELDS = {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"}


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def server(make_chatd, smtp):
    return make_chatd({"CHATD_SMTP_URL": smtp.url, "CHATD_PUBLIC_URL": "http://chat.example.test",
                       "CHATD_RATE_LIMITS": "login=1000/60s,register=1000/60s,verify=1000/60s,refresh=1000/60s,"
                                            "global=100000/60s"})


def create_key(server, token, name="laptop", **extra):
    return server.api("POST", "/api-keys", {"name": name, **extra}, token=token)


def list_keys(server, token):
    res = server.api("GET", "/api-keys", token=token)
    assert res.status == 200, res.body
    return res.json()["items"]


def test_create_list_delete(server, smtp):
    token = logged_in(server, smtp)["access_token"]
    res = create_key(server, token, "laptop")
    assert res.status == 201, res.body
    assert res.header("cache-control") == "no-store"
    first = res.json()
    assert set(first) == {"id", "name", "prefix", "key", "created_at", "expires_at"}
    assert KEY_RE.fullmatch(first["key"]), first["key"]
    assert first["prefix"] == first["key"][:11]
    assert first["name"] == "laptop" and first["expires_at"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["created_at"])
    second = create_key(server, token, "ci runner").json()
    assert second["key"] != first["key"]
    # Two keys made within one millisecond are ordered by id; make "newest" unambiguous.
    server.sql(f"UPDATE api_keys SET created_at = created_at - 1000 WHERE id = '{first['id']}'")

    res = server.api("GET", "/api-keys", token=token)
    assert res.status == 200
    items = res.json()["items"]
    assert [k["id"] for k in items] == [second["id"], first["id"]]  # newest first
    for item in items:
        assert set(item) == LIST_FIELDS
        assert item["last_used_at"] is None
    # The key is shown once: never again in a list.
    assert first["key"].encode() not in res.body and second["key"].encode() not in res.body
    assert {k: items[1][k] for k in ("id", "name", "prefix", "expires_at")} == \
        {k: first[k] for k in ("id", "name", "prefix", "expires_at")}

    res = server.api("DELETE", f"/api-keys/{first['id']}", token=token)
    assert res.status == 204 and res.body == b""
    assert [k["id"] for k in list_keys(server, token)] == [second["id"]]
    problem(server.api("DELETE", f"/api-keys/{first['id']}", token=token), 404, "not_found")
    # The row stays (usage history keeps its key), marked revoked.
    assert server.sql(f"SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = '{first['id']}'")[0][0] in ("1", "t")

    events = sorted(r[0] for r in server.sql("SELECT event FROM audit_log WHERE event LIKE 'api_key.%'"))
    assert events == ["api_key.created", "api_key.created", "api_key.deleted"]
    detail = server.sql("SELECT detail FROM audit_log WHERE event = 'api_key.deleted'")[0][0]
    assert first["id"] in detail


def test_key_is_stored_hashed(server, smtp):
    token = logged_in(server, smtp)["access_token"]
    key = create_key(server, token).json()["key"]
    rows = server.sql("SELECT id, user_id, name, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at "
                      "FROM api_keys")
    assert len(rows) == 1
    assert rows[0][4] == hashlib.sha256(key.encode()).hexdigest()
    assert not any(key in value or key[12:] in value for value in rows[0])
    # Nor is it in the audit log or the server's log.
    assert not any(key in r[0] for r in server.sql("SELECT detail FROM audit_log"))
    assert key not in server.log()


@pytest.mark.parametrize("expires_at", ["2001-01-01T00:00:00Z", "1970-01-01T00:00:01Z"])
def test_expires_at_in_the_past_is_422(server, smtp, expires_at):
    token = logged_in(server, smtp)["access_token"]
    body = problem(create_key(server, token, expires_at=expires_at), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["expires_at"]
    assert list_keys(server, token) == []


@pytest.mark.parametrize("expires_at", ["tomorrow", "2031-13-01T00:00:00Z", "2031-01-01", "", 1924992000, True])
def test_malformed_expires_at_is_422(server, smtp, expires_at):
    token = logged_in(server, smtp)["access_token"]
    body = problem(create_key(server, token, expires_at=expires_at), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["expires_at"]


def test_expires_at_in_the_future(server, smtp):
    token = logged_in(server, smtp)["access_token"]
    res = create_key(server, token, expires_at="2031-01-01T02:00:00+02:00")
    assert res.status == 201, res.body
    assert res.json()["expires_at"] == "2031-01-01T00:00:00Z"
    assert list_keys(server, token)[0]["expires_at"] == "2031-01-01T00:00:00Z"
    res = create_key(server, token, "no expiry", expires_at=None)
    assert res.status == 201 and res.json()["expires_at"] is None


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": 5},
                                  {"name": None}, {"name": ["a"]}, {"name": "line\nbreak"},
                                  {"name": "nul\u0000byte"}])
def test_bad_names_are_422(server, smtp, body):
    token = logged_in(server, smtp)["access_token"]
    res = problem(server.api("POST", "/api-keys", body, token=token), 422, "validation_failed")
    assert [e["field"] for e in res["errors"]] == ["name"]
    assert list_keys(server, token) == []


def test_names_are_trimmed_and_counted_in_characters(server, smtp):
    token = logged_in(server, smtp)["access_token"]
    res = create_key(server, token, "  deploy bot  ")
    assert res.status == 201 and res.json()["name"] == "deploy bot"
    res = create_key(server, token, "\u00e9" * 100)  # 100 characters, 200 bytes
    assert res.status == 201, res.body
    assert res.json()["name"] == "\u00e9" * 100


def test_other_users_key_is_404(server, smtp):
    alice = logged_in(server, smtp)["access_token"]
    bob = logged_in(server, smtp)["access_token"]
    key = create_key(server, alice).json()
    problem(server.api("DELETE", f"/api-keys/{key['id']}", token=bob), 404, "not_found")
    problem(server.api("DELETE", "/api-keys/0190c9b4-0000-7000-8000-000000000000", token=bob), 404, "not_found")
    problem(server.api("DELETE", "/api-keys/not-an-id", token=bob), 404, "not_found")
    assert list_keys(server, bob) == []
    assert [k["id"] for k in list_keys(server, alice)] == [key["id"]]
    assert server.sql("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL")[0][0] == "1"


def test_api_key_is_not_an_access_token(server, smtp):
    token = logged_in(server, smtp)["access_token"]
    key = create_key(server, token).json()["key"]
    for method, path in [("GET", "/auth/me"), ("GET", "/api-keys"), ("GET", "/invitations")]:
        res = server.api(method, path, token=key)
        problem(res, 401, "unauthorized")
        assert res.header("www-authenticate").startswith("Bearer")
    problem(create_key(server, key), 401, "unauthorized")


def test_routes_need_a_token(server):
    problem(server.api("POST", "/api-keys", {"name": "x"}), 401, "unauthorized")
    problem(server.api("GET", "/api-keys"), 401, "unauthorized")
    problem(server.api("DELETE", "/api-keys/0190c9b4-0000-7000-8000-000000000000"), 401, "unauthorized")
