"""Administration, chatd create-admin, and the authorization matrix generated from the
route table (`chatd routes`): a route without an expectation here fails the test."""

import json
import subprocess
import time
import uuid

import pytest

from conftest import CHATD_BIN
from test_auth import STRONG, login, logged_in, new_identity, problem, register, register_verified, smtp  # noqa: F401

LOOSE_LIMITS = ("login=100000/60s,register=100000/60s,verify=100000/60s,refresh=100000/60s,otp=100000/60s,"
                "global=1000000/60s")

# Every route and who may call it. Adding a route to the server without adding it here
# fails test_route_table_matches.
EXPECTED = {
    ("GET", "/healthz"): "anonymous",
    ("GET", "/readyz"): "anonymous",
    ("GET", "/metrics"): "anonymous",
    ("GET", "/openapi.json"): "anonymous",
    ("GET", "/docs"): "anonymous",
    ("POST", "/auth/register"): "anonymous",
    ("POST", "/auth/email/verify/request"): "anonymous",
    ("POST", "/auth/email/verify/confirm"): "anonymous",
    ("POST", "/auth/login"): "anonymous",
    ("POST", "/auth/refresh"): "anonymous",
    ("POST", "/auth/logout"): "optional_user",
    ("POST", "/auth/logout-all"): "user",
    ("GET", "/auth/me"): "user",
    ("GET", "/auth/sessions"): "user",
    ("DELETE", "/auth/sessions/{id}"): "user",
    ("POST", "/auth/password/change"): "user",
    ("POST", "/auth/password-reset/request"): "anonymous",
    ("POST", "/auth/password-reset/confirm"): "anonymous",
    ("POST", "/auth/2fa/setup"): "user",
    ("POST", "/auth/2fa/verify"): "user",
    ("POST", "/auth/2fa/disable"): "user",
    ("GET", "/auth/keys/jwks.json"): "anonymous",
    ("GET", "/.well-known/jwks.json"): "anonymous",
    ("POST", "/auth/keys/rotate"): "admin",
    ("POST", "/invitations"): "user",
    ("GET", "/invitations"): "user",
    ("DELETE", "/invitations/{id}"): "user",
    ("POST", "/api-keys"): "user",
    ("GET", "/api-keys"): "user",
    ("DELETE", "/api-keys/{id}"): "user",
    ("GET", "/admin/ping"): "admin",
    ("GET", "/admin/users"): "admin",
    ("GET", "/admin/users/{id}"): "admin",
    ("PATCH", "/admin/users/{id}"): "admin",
    ("POST", "/admin/users/{id}/sessions/revoke"): "admin",
    ("GET", "/admin/audit"): "admin",
    ("GET", "/admin/usage"): "admin",
    ("GET", "/admin/keys"): "admin",
    ("GET", "/models"): "user",
    ("POST", "/conversations"): "user",
    ("GET", "/conversations"): "user",
    ("GET", "/conversations/{id}"): "user",
    ("PATCH", "/conversations/{id}"): "user",
    ("DELETE", "/conversations/{id}"): "user",
    ("GET", "/conversations/{id}/messages"): "user",
    ("POST", "/conversations/{id}/messages"): "user",
    ("GET", "/usage"): "user",
    ("GET", "/v1/models"): "api",
    ("POST", "/v1/chat/completions"): "api",
    ("POST", "/v1/embeddings"): "api",
}
# Routes whose {id} names an object owned by a user: another user gets 404.
OWNED = {("DELETE", "/auth/sessions/{id}"), ("DELETE", "/api-keys/{id}")}


@pytest.fixture
def server(make_chatd, smtp):  # noqa: F811
    return make_chatd({"CHATD_SMTP_URL": smtp.url, "CHATD_RATE_LIMITS": LOOSE_LIMITS,
                       "CHATD_LOCKOUT_THRESHOLD": "3"})


def make_admin(server, smtp):  # noqa: F811
    session = logged_in(server, smtp)
    server.sql(f"INSERT INTO user_roles (user_id, role) VALUES ('{session['user']['id']}', 'admin')")
    again = login(server, session["user"]["username"]).json()
    assert "admin" in again["user"]["roles"]
    return again


def route_table(server):
    out = subprocess.run([CHATD_BIN, "routes"], env={**server.env, "CHATD_LOG_LEVEL": "error"},
                         cwd=server.tmp_path, capture_output=True, text=True, timeout=60, check=True)
    return {(r["method"], r["path"]): r["access"] for r in json.loads(out.stdout)}


def test_route_table_matches(server):
    assert route_table(server) == EXPECTED


def test_authorization_matrix(server, smtp):  # noqa: F811
    admin = make_admin(server, smtp)
    for (method, path), access in sorted(route_table(server).items()):
        target = path.replace("{id}", str(uuid.uuid4()))
        body = {} if method in ("POST", "PATCH") else None
        anonymous = server.api(method, target, body)
        # A fresh user session per route: some routes end the session they are called with.
        user = logged_in(server, smtp)
        as_user = server.api(method, target, body, token=user["access_token"])
        fresh_admin = login(server, admin["user"]["username"]).json()
        as_admin = server.api(method, target, body, token=fresh_admin["access_token"])
        where = f"{method} {path}"
        if access == "anonymous":
            assert anonymous.status not in (401, 403), (where, anonymous.body)
        else:
            assert anonymous.status == 401, where
            assert anonymous.header("www-authenticate").startswith("Bearer"), where
        if access == "admin":
            assert as_user.status == 403, (where, as_user.body)
            assert as_user.json()["code"] == "forbidden"
        else:
            assert as_user.status not in (401, 403), (where, as_user.body)
        assert as_admin.status not in (401, 403), (where, as_admin.body)


def test_owned_objects_of_another_user_are_404(server, smtp):  # noqa: F811
    owner = logged_in(server, smtp)
    other = logged_in(server, smtp)
    key = server.api("POST", "/api-keys", {"name": "mine"}, token=owner["access_token"]).json()
    # The session goes last: deleting it ends the owner's token.
    objects = {("DELETE", "/api-keys/{id}"): key["id"], ("DELETE", "/auth/sessions/{id}"): owner["session_id"]}
    assert set(objects) == OWNED
    for (method, path), object_id in objects.items():
        target = path.replace("{id}", object_id)
        problem(server.api(method, target, token=other["access_token"]), 404, "not_found")
    for (method, path), object_id in objects.items():
        target = path.replace("{id}", object_id)
        assert server.api(method, target, token=owner["access_token"]).status == 204, target


def test_fields_a_user_may_not_set_are_ignored(server, smtp):  # noqa: F811
    email, username = new_identity()
    res = server.api("POST", "/auth/register", {"email": email, "username": username, "password": STRONG,
                                                "roles": ["admin"], "email_verified": True, "id": "x"})
    assert res.status == 201
    user = res.json()["user"]
    assert user["roles"] == ["user"] and user["email_verified"] is False and user["id"] != "x"


def test_admin_ping_and_users(server, smtp):  # noqa: F811
    admin = make_admin(server, smtp)
    token = admin["access_token"]
    assert server.api("GET", "/admin/ping", token=token).json() == {"status": "ok"}
    names = []
    for _ in range(3):
        email, username = register_verified(server, smtp)
        names.append(username)
    res = server.api("GET", f"/admin/users?q={names[0][:11]}", token=token)
    assert res.status == 200
    items = res.json()["items"]
    assert [i["username"] for i in items] == [names[0]]
    assert items[0]["disabled"] is False and items[0]["locked_until"] is None
    # Keyset pagination walks every user once, newest first.
    seen, cursor = [], None
    while True:
        path = "/admin/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = server.api("GET", path, token=token).json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    total = int(server.sql("SELECT count(*) FROM users")[0][0])
    assert len(seen) == len(set(seen)) == total
    problem(server.api("GET", "/admin/users?limit=0", token=token), 422, "validation_failed")
    problem(server.api("GET", "/admin/users?limit=101", token=token), 422, "validation_failed")
    problem(server.api("GET", "/admin/users?cursor=garbage", token=token), 422, "validation_failed")
    # Search text is matched literally, never as a pattern.
    assert server.api("GET", "/admin/users?q=%25", token=token).json()["items"] == []
    one = server.api("GET", f"/admin/users/{seen[0]}", token=token)
    assert one.status == 200 and one.json()["id"] == seen[0]
    problem(server.api("GET", f"/admin/users/{uuid.uuid4()}", token=token), 404, "not_found")


def test_roles_disable_unlock(server, smtp):  # noqa: F811
    admin = make_admin(server, smtp)
    token = admin["access_token"]
    user = logged_in(server, smtp)
    uid = user["user"]["id"]

    problem(server.api("GET", "/admin/ping", token=user["access_token"]), 403, "forbidden")
    res = server.api("PATCH", f"/admin/users/{uid}", {"roles": ["admin"]}, token=token)
    assert res.status == 200 and res.json()["roles"] == ["admin", "user"]
    # The user's existing token carries the new role within a second.
    deadline = time.monotonic() + 3
    while server.api("GET", "/admin/ping", token=user["access_token"]).status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.api("PATCH", f"/admin/users/{uid}", {"roles": []}, token=token).json()["roles"] == ["user"]
    problem(server.api("PATCH", f"/admin/users/{uid}", {"roles": ["wizard"]}, token=token), 422, "validation_failed")
    problem(server.api("PATCH", f"/admin/users/{uid}", {"disabled": "yes"}, token=token), 422, "validation_failed")

    res = server.api("PATCH", f"/admin/users/{uid}", {"disabled": True}, token=token)
    assert res.status == 200 and res.json()["disabled"] is True
    problem(server.api("GET", "/auth/me", token=user["access_token"]), 401, "unauthorized")  # at once
    problem(login(server, user["user"]["username"]), 403, "account_disabled")
    assert server.api("PATCH", f"/admin/users/{uid}", {"disabled": False}, token=token).json()["disabled"] is False
    assert login(server, user["user"]["username"]).status == 200

    for _ in range(3):
        login(server, user["user"]["username"], "wrong " + STRONG)
    problem(login(server, user["user"]["username"]), 423, "account_locked")
    locked = server.api("GET", f"/admin/users/{uid}", token=token).json()
    assert locked["locked_until"] is not None
    assert server.api("PATCH", f"/admin/users/{uid}", {"unlock": True}, token=token).json()["locked_until"] is None
    assert login(server, user["user"]["username"]).status == 200

    me = admin["user"]["id"]
    problem(server.api("PATCH", f"/admin/users/{me}", {"roles": ["user"]}, token=token), 422, "validation_failed")
    problem(server.api("PATCH", f"/admin/users/{me}", {"disabled": True}, token=token), 422, "validation_failed")
    events = [r[0] for r in server.sql(f"SELECT event FROM audit_log WHERE user_id = '{uid}'")]
    for event in ("role.changed", "user.disabled", "user.enabled", "user.unlocked"):
        assert event in events, event


def test_admin_revokes_sessions(server, smtp):  # noqa: F811
    admin = make_admin(server, smtp)
    user = logged_in(server, smtp)
    assert server.api("GET", "/auth/me", token=user["access_token"]).status == 200
    assert server.api("POST", f"/admin/users/{user['user']['id']}/sessions/revoke",
                      token=admin["access_token"]).status == 204
    problem(server.api("GET", "/auth/me", token=user["access_token"]), 401, "unauthorized")
    problem(server.api("POST", "/auth/refresh", {"refresh_token": user["refresh_token"]}), 401, "unauthorized")


def test_audit_listing(server, smtp):  # noqa: F811
    admin = make_admin(server, smtp)
    token = admin["access_token"]
    user = logged_in(server, smtp)
    uid = user["user"]["id"]
    res = server.api("GET", f"/admin/audit?user_id={uid}", token=token)
    assert res.status == 200
    items = res.json()["items"]
    assert {i["event"] for i in items} >= {"user.registered", "email.verified", "login.succeeded"}
    assert all(i["user_id"] == uid for i in items)
    assert set(items[0]) == {"id", "at", "event", "user_id", "actor_id", "ip", "user_agent", "detail", "username",
                             "actor_username"}
    assert isinstance(items[0]["detail"], dict)
    assert {i["username"] for i in items} == {user["user"]["username"]}
    ats = [i["at"] for i in items]
    assert ats == sorted(ats, reverse=True)
    only = server.api("GET", "/admin/audit?event=login.succeeded", token=token).json()["items"]
    assert only and all(i["event"] == "login.succeeded" for i in only)
    seen, cursor = [], None
    while True:
        page = server.api("GET", "/admin/audit?limit=3" + (f"&cursor={cursor}" if cursor else ""), token=token).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == int(server.sql("SELECT count(*) FROM audit_log")[0][0])


def test_audit_names_the_actor_and_filters_by_time(server, smtp):  # noqa: F811
    admin = make_admin(server, smtp)
    token = admin["access_token"]
    user = logged_in(server, smtp)
    uid = user["user"]["id"]
    assert server.api("PATCH", f"/admin/users/{uid}", {"disabled": True}, token=token).status == 200
    row = server.api("GET", f"/admin/audit?user_id={uid}&event=user.disabled", token=token).json()["items"]
    assert len(row) == 1
    assert row[0]["actor_id"] == admin["user"]["id"]
    assert row[0]["actor_username"] == admin["user"]["username"]
    assert row[0]["username"] == user["user"]["username"]
    # A time range: `from` inclusive, `to` exclusive, dates or timestamps.
    at = row[0]["at"]
    one = server.api("GET", f"/admin/audit?event=user.disabled&from={at}&to=2100-01-01", token=token).json()
    assert [i["id"] for i in one["items"]] == [row[0]["id"]]
    assert server.api("GET", f"/admin/audit?event=user.disabled&to={at}", token=token).json()["items"] == []
    assert server.api("GET", "/admin/audit?from=2000-01-01&to=2000-01-02", token=token).json()["items"] == []
    for bad in ("from=yesterday", "to=13", "from=2026-12-02&to=2026-12-01", "event=" + "x" * 65):
        problem(server.api("GET", f"/admin/audit?{bad}", token=token), 422, "validation_failed")
    # Once the account is gone the row stays, without a name.
    server.sql(f"DELETE FROM users WHERE id = '{uid}'")
    gone = server.api("GET", f"/admin/audit?user_id={uid}&event=user.disabled", token=token).json()["items"]
    assert gone[0]["username"] is None and gone[0]["actor_username"] == admin["user"]["username"]


def test_signing_keys_listing(server, smtp):  # noqa: F811
    admin = make_admin(server, smtp)
    token = admin["access_token"]
    first = server.api("GET", "/admin/keys", token=token).json()
    assert [k["current"] for k in first["keys"]] == [True]
    assert first["keys"][0]["kid"] == first["current_kid"]
    rotated = server.api("POST", "/auth/keys/rotate", token=token).json()["kid"]
    after = server.api("GET", "/admin/keys", token=token).json()
    assert after["current_kid"] == rotated != first["current_kid"]
    assert {k["kid"]: k["current"] for k in after["keys"]} == {rotated: True, first["current_kid"]: False}
    jwks = {k["kid"] for k in server.api("GET", "/auth/keys/jwks.json").json()["keys"]}
    assert jwks == {k["kid"] for k in after["keys"]}


def test_usage_aggregates(server, smtp):  # noqa: F811
    admin = make_admin(server, smtp)
    token = admin["access_token"]
    assert server.api("GET", "/admin/usage", token=token).json() == {"items": []}
    uid = admin["user"]["id"]
    day = 86400000
    base = 1795305600000  # 2026-11-22T00:00:00Z
    rows = [(base + 1000, "m1", 10, 5, 0.5), (base + 2000, "m2", 1, 2, 0.25), (base - day + 5, "m1", 3, 3, 1.0)]
    for i, (at, model, p, c, cost) in enumerate(rows):
        server.sql("INSERT INTO usage_events (id, user_id, provider, model, prompt_tokens, completion_tokens, cost_usd,"
                   f" latency_ms, status, created_at) VALUES ('ue{i}', '{uid}', 'test', '{model}', {p}, {c}, {cost},"
                   f" 5, 'complete', {at})")
    q = "from=2026-11-01&to=2026-11-30"
    by_model = server.api("GET", f"/admin/usage?{q}&group_by=model", token=token).json()["items"]
    assert by_model == [
        {"key": "m1", "requests": 2, "prompt_tokens": 13, "completion_tokens": 8, "cost_usd": 1.5},
        {"key": "m2", "requests": 1, "prompt_tokens": 1, "completion_tokens": 2, "cost_usd": 0.25}]
    by_day = server.api("GET", f"/admin/usage?{q}&group_by=day", token=token).json()["items"]
    assert [(d["key"], d["requests"]) for d in by_day] == [("2026-11-21", 1), ("2026-11-22", 2)]
    by_user = server.api("GET", f"/admin/usage?{q}&group_by=user", token=token).json()["items"]
    assert by_user == [{"key": uid, "username": admin["user"]["username"], "requests": 3, "prompt_tokens": 14,
                        "completion_tokens": 10, "cost_usd": 1.75}]
    # Two groups: the first is `key`, the next its own member (the stacked chart per model per day).
    by_day_model = server.api("GET", f"/admin/usage?{q}&group_by=day,model", token=token).json()["items"]
    assert [(d["key"], d["model"], d["requests"], d["prompt_tokens"]) for d in by_day_model] == [
        ("2026-11-21", "m1", 1, 3), ("2026-11-22", "m1", 1, 10), ("2026-11-22", "m2", 1, 1)]
    by_model_user = server.api("GET", f"/admin/usage?{q}&group_by=model,user", token=token).json()["items"]
    assert [(d["key"], d["user_id"], d["username"]) for d in by_model_user] == [
        ("m1", uid, admin["user"]["username"]), ("m2", uid, admin["user"]["username"])]
    # One user's usage only.
    assert server.api("GET", f"/admin/usage?{q}&group_by=model&user_id={uid}", token=token).json()["items"] == by_model
    assert server.api("GET", f"/admin/usage?{q}&group_by=model&user_id=nobody", token=token).json()["items"] == []
    narrow = server.api("GET", "/admin/usage?from=2026-11-22T00:00:01.500Z&to=2026-11-23&group_by=model",
                        token=token).json()["items"]
    assert narrow == [{"key": "m2", "requests": 1, "prompt_tokens": 1, "completion_tokens": 2, "cost_usd": 0.25}]
    for bad in ("week", "day,day", "day,", ",model", "", "model,day", "day,model,user"):
        problem(server.api("GET", f"/admin/usage?group_by={bad}", token=token), 422, "validation_failed")
    problem(server.api("GET", "/admin/usage?from=yesterday", token=token), 422, "validation_failed")
    problem(server.api("GET", "/admin/usage?from=2026-11-30&to=2026-11-01", token=token), 422, "validation_failed")


# --- chatd create-admin -----------------------------------------------------------------

def create_admin(server, email, username, password=None, stdin=None):
    env = dict(server.env)
    if password is not None:
        env["CHATD_ADMIN_PASSWORD"] = password
    return subprocess.run([CHATD_BIN, "create-admin", "--email", email, "--username", username], env=env,
                          cwd=server.tmp_path, input=stdin, capture_output=True, text=True, timeout=60)


def test_create_admin(server, smtp):  # noqa: F811
    res = create_admin(server, "Boss@Example.com", "boss", password=STRONG)
    assert res.returncode == 0, res.stderr
    assert "created boss@example.com" in res.stdout
    session = login(server, "boss")
    assert session.status == 200  # verified already
    assert "admin" in session.json()["user"]["roles"]
    assert server.api("GET", "/admin/ping", token=session.json()["access_token"]).status == 200

    weak = create_admin(server, "weak@example.com", "weakling", password="password1234")
    assert weak.returncode == 2 and "password" in weak.stderr
    assert server.sql("SELECT count(*) FROM users WHERE email = 'weak@example.com'")[0][0] == "0"

    email, username = new_identity()
    assert register(server, email, username).status == 201  # unverified, plain user
    res = create_admin(server, email, "ignored-name", stdin=STRONG + "\n")  # password from standard input
    assert res.returncode == 0, res.stderr
    assert "promoted" in res.stdout
    promoted = login(server, username)
    assert promoted.status == 200 and "admin" in promoted.json()["user"]["roles"]

    taken = create_admin(server, "new@example.com", "boss", password=STRONG)
    assert taken.returncode == 2
