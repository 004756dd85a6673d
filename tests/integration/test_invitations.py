"""Invitations (POST/GET /invitations) and registration with an invitation code through
the real binary, on SQLite and PostgreSQL, with a real SMTP server receiving the e-mails."""

import hashlib
import json
import re
from urllib.parse import unquote

import pytest

from smtp_sink import SmtpSink
from test_auth import STRONG, login, new_identity, problem, register, register_verified

CODE_RE = re.compile(r"inv_[A-Za-z0-9_-]{32}")
ITEM_FIELDS = {"id", "code_prefix", "email", "created_at", "expires_at", "accepted_at", "invitee_id"}
COMMON = {"CHATD_PUBLIC_URL": "http://chat.example.test",
          "CHATD_RATE_LIMITS": "login=1000/60s,register=1000/60s,verify=1000/60s,refresh=1000/60s,"
                               "global=100000/60s"}


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def start(make_chatd, smtp):
    """start(env, like=None): a server; with `like`, that server is stopped and the new one
    takes over its database (how an invite-only instance gets its first users)."""
    def start(env=None, like=None):
        settings = {**COMMON, "CHATD_SMTP_URL": smtp.url, **(env or {})}
        if like is not None:
            like.stop()
            settings["CHATD_DATABASE_URL"] = like.env["CHATD_DATABASE_URL"]
        return make_chatd(settings)
    return start


@pytest.fixture
def server(start):
    return start()


def with_inviter(start, smtp, **env):
    """A server started with `env` whose database already holds a verified user, logged in."""
    first = start()
    _, username = register_verified(first, smtp)
    server = start(env, like=first)
    res = login(server, username)
    assert res.status == 200, res.body
    return server, res.json()


def invite(server, token, **body):
    return server.api("POST", "/invitations", body, token=token)


def invitations(server, token, query=""):
    res = server.api("GET", "/invitations" + query, token=token)
    assert res.status == 200, res.body
    return res.json()


def register_with(server, code, email=None, username=None):
    if email is None:
        email, username = new_identity()
    body = {"email": email, "username": username or "u" + hashlib.sha1(email.encode()).hexdigest()[:10],
            "password": STRONG}
    if code is not None:
        body["invite_code"] = code
    return server.api("POST", "/auth/register", body)


def make_admin(server, user_id, username):
    server.sql(f"INSERT INTO user_roles (user_id, role) VALUES ('{user_id}', 'admin')")
    res = login(server, username)  # roles travel in the access token
    assert res.status == 200 and "admin" in res.json()["user"]["roles"]
    return res.json()["access_token"]


# --- creating and listing ---------------------------------------------------------------

def test_create_and_list(server, smtp):
    _, username = register_verified(server, smtp)
    me = login(server, username).json()
    token = me["access_token"]
    res = invite(server, token)
    assert res.status == 201, res.body
    assert res.header("cache-control") == "no-store"
    created = res.json()
    assert set(created) == {"id", "code", "expires_at"}
    assert CODE_RE.fullmatch(created["code"]), created["code"]

    listing = server.api("GET", "/invitations", token=token)
    assert listing.status == 200
    body = listing.json()
    assert body["next_cursor"] is None
    assert body["can_create"] is True
    [item] = body["items"]
    assert set(item) == ITEM_FIELDS
    assert item["id"] == created["id"] and item["expires_at"] == created["expires_at"]
    assert item["code_prefix"] == created["code"][:12] and created["code"].startswith("inv_")
    assert item["email"] is None and item["accepted_at"] is None and item["invitee_id"] is None
    # The code is shown once: the list has only its prefix.
    assert created["code"].encode() not in listing.body

    # Stored hashed, with the hash registration computes.
    [(code_hash, prefix, inviter, created_ms, expires_ms)] = server.sql(
        "SELECT code_hash, code_prefix, inviter_id, created_at, expires_at FROM invitations")
    assert code_hash == hashlib.sha256(created["code"].encode()).hexdigest()
    assert prefix == created["code"][:12] and inviter == me["user"]["id"]
    assert int(expires_ms) - int(created_ms) == 72 * 3600 * 1000  # the default
    assert created["code"] not in server.log()

    [(user_id, actor_id, detail)] = server.sql(
        "SELECT user_id, actor_id, detail FROM audit_log WHERE event = 'invitation.created'")
    assert user_id == actor_id == me["user"]["id"]
    assert json.loads(detail) == {"invitation_id": created["id"]}


def test_delete_stops_the_code_at_once(start, smtp):
    first = start()
    _, other_name = register_verified(first, smtp)
    server, me = with_inviter(lambda env=None, like=None: first if like is None else start(env, like=like), smtp,
                              CHATD_REGISTRATION="invite_only")
    token = me["access_token"]
    created = invite(server, token).json()
    kept = invite(server, token).json()
    other = login(server, other_name).json()["access_token"]
    # Another user's invitation, or an unknown one, is 404 and stays.
    problem(server.api("DELETE", f"/invitations/{created['id']}", token=other), 404, "not_found")
    problem(server.api("DELETE", "/invitations/nope", token=token), 404, "not_found")
    assert server.api("DELETE", f"/invitations/{created['id']}", token=token).status == 204
    assert [i["id"] for i in invitations(server, token)["items"]] == [kept["id"]]
    problem(server.api("DELETE", f"/invitations/{created['id']}", token=token), 404, "not_found")
    email, name = new_identity()
    problem(register_with(server, created["code"], email, name), 403, "forbidden")
    assert register_with(server, kept["code"], email, name).status == 201
    [(detail,)] = server.sql("SELECT detail FROM audit_log WHERE event = 'invitation.deleted'")
    assert json.loads(detail) == {"invitation_id": created["id"]}


def test_list_is_own_newest_first_and_paginated(server, smtp):
    _, alice_name = register_verified(server, smtp)
    _, bob_name = register_verified(server, smtp)
    alice = login(server, alice_name).json()["access_token"]
    bob = login(server, bob_name).json()["access_token"]
    ids = [invite(server, alice).json()["id"] for _ in range(3)]
    invite(server, bob)
    server.sql("UPDATE invitations SET created_at = created_at - 1000 WHERE id = '%s'" % ids[0])
    # Newest first; invitations made within one millisecond are ordered by id.
    items = invitations(server, alice)["items"]
    assert sorted(i["id"] for i in items) == sorted(ids)
    assert items[-1]["id"] == ids[0]
    keys = [(int(r[0]), r[1]) for r in server.sql(
        "SELECT created_at, id FROM invitations WHERE inviter_id = (SELECT inviter_id FROM invitations "
        f"WHERE id = '{ids[0]}') ORDER BY created_at DESC, id DESC")]
    assert [i["id"] for i in items] == [k[1] for k in keys]
    assert len(invitations(server, bob)["items"]) == 1

    page = invitations(server, alice, "?limit=2")
    assert [i["id"] for i in page["items"]] == [i["id"] for i in items[:2]] and page["next_cursor"]
    rest = invitations(server, alice, "?limit=2&cursor=" + page["next_cursor"])
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    # A cursor names a position, not an owner: bob's list from alice's cursor is still bob's.
    assert all(i["id"] not in ids for i in invitations(server, bob, "?cursor=" + page["next_cursor"])["items"])

    for query in ["?limit=0", "?limit=101", "?limit=abc", "?limit=", "?cursor=nonsense", "?cursor=MTIzOmFiYw"]:
        body = problem(server.api("GET", "/invitations" + query, token=alice), 422, "validation_failed")
        assert body["errors"][0]["field"] in ("limit", "cursor")


@pytest.mark.parametrize("hours", [1, 720])
def test_expires_in_hours(server, smtp, hours):
    _, username = register_verified(server, smtp)
    token = login(server, username).json()["access_token"]
    res = invite(server, token, expires_in_hours=hours)
    assert res.status == 201, res.body
    [(span,)] = server.sql("SELECT expires_at - created_at FROM invitations")
    assert int(span) == hours * 3600 * 1000


@pytest.mark.parametrize("body,field", [
    ({"expires_in_hours": 0}, "expires_in_hours"),
    ({"expires_in_hours": 721}, "expires_in_hours"),
    ({"expires_in_hours": -5}, "expires_in_hours"),
    ({"expires_in_hours": 10 ** 30}, "expires_in_hours"),
    ({"expires_in_hours": 1.5}, "expires_in_hours"),
    ({"expires_in_hours": "24"}, "expires_in_hours"),
    ({"expires_in_hours": True}, "expires_in_hours"),
    ({"email": "not-an-address"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": 42}, "email"),
    ({"email": ""}, "email"),
])
def test_validation(server, smtp, body, field):
    _, username = register_verified(server, smtp)
    token = login(server, username).json()["access_token"]
    res = problem(invite(server, token, **body), 422, "validation_failed")
    assert [e["field"] for e in res["errors"]] == [field]
    assert server.sql("SELECT count(*) FROM invitations")[0][0] == "0"


def test_routes_need_a_token(server):
    problem(server.api("POST", "/invitations", {}), 401, "unauthorized")
    problem(server.api("GET", "/invitations"), 401, "unauthorized")


# --- who may invite ---------------------------------------------------------------------

def test_unverified_users_may_not_invite(start, smtp):
    server = start({"CHATD_REQUIRE_EMAIL_VERIFICATION": "false"})
    email, username = new_identity()
    assert register(server, email, username).status == 201
    res = login(server, username)
    assert res.status == 200, res.body
    user = res.json()
    problem(invite(server, user["access_token"]), 403, "forbidden")
    assert invitations(server, user["access_token"])["can_create"] is False
    # An administrator may, verified or not.
    admin = make_admin(server, user["user"]["id"], username)
    assert invite(server, admin).status == 201


def test_user_invites_off_leaves_it_to_admins(start, smtp):
    server = start({"CHATD_USER_INVITES": "false"})
    _, username = register_verified(server, smtp)
    user = login(server, username).json()
    problem(invite(server, user["access_token"]), 403, "forbidden")
    # Even an invalid body gets 403 first: validation would tell a non-inviter nothing useful.
    problem(invite(server, user["access_token"], expires_in_hours=0), 403, "forbidden")
    assert invitations(server, user["access_token"]) == {"items": [], "next_cursor": None, "can_create": False}
    admin = make_admin(server, user["user"]["id"], username)
    assert invitations(server, admin)["can_create"] is True
    res = invite(server, admin)
    assert res.status == 201, res.body
    assert len(invitations(server, admin)["items"]) == 1


def test_open_invitations_are_capped_for_users(server, smtp):
    _, username = register_verified(server, smtp)
    user = login(server, username).json()
    uid = user["user"]["id"]
    far = 4102444800000  # 2100
    values = ",".join(f"('seed-{i}', 'hash-{i}', 'seed{i:04d}', '{uid}', 1, {far})" for i in range(100))
    server.sql("INSERT INTO invitations (id, code_hash, code_prefix, inviter_id, created_at, expires_at) "
               f"VALUES {values}")
    problem(invite(server, user["access_token"]), 409, "conflict")
    # Used or expired ones do not count.
    server.sql("UPDATE invitations SET expires_at = 2 WHERE id = 'seed-0'")
    assert invite(server, user["access_token"]).status == 201


# --- registration with a code -----------------------------------------------------------

def test_invite_only_registration(start, smtp):
    server, inviter = with_inviter(start, smtp, CHATD_REGISTRATION="invite_only")
    token = inviter["access_token"]
    users_before = server.sql("SELECT count(*) FROM users")[0][0]

    problem(register_with(server, None), 403, "forbidden")
    problem(register_with(server, ""), 403, "forbidden")
    problem(register_with(server, "inv_" + "A" * 32), 403, "forbidden")
    assert server.sql("SELECT count(*) FROM users")[0][0] == users_before

    code = invite(server, token).json()["code"]
    email, username = new_identity()
    res = register_with(server, code, email, username)
    assert res.status == 201, res.body
    invitee = res.json()["user"]
    [item] = invitations(server, token)["items"]
    assert item["accepted_at"] is not None and item["invitee_id"] == invitee["id"]
    [(detail,)] = server.sql("SELECT detail FROM audit_log WHERE event = 'invitation.accepted'")
    assert json.loads(detail)["invitation_id"] == item["id"]

    # Single use.
    problem(register_with(server, code), 403, "forbidden")
    # The new account works like any other.
    token_mail = smtp.wait_for(email.lower())
    assert server.api("POST", "/auth/email/verify/confirm", {"token": SmtpSink.token_in(token_mail)}).status == 200
    assert login(server, username).status == 200


def test_expired_invitation_is_refused(start, smtp):
    server, inviter = with_inviter(start, smtp, CHATD_REGISTRATION="invite_only")
    created = invite(server, inviter["access_token"], expires_in_hours=1).json()
    server.sql(f"UPDATE invitations SET expires_at = 1 WHERE id = '{created['id']}'")
    problem(register_with(server, created["code"]), 403, "forbidden")
    [item] = invitations(server, inviter["access_token"])["items"]
    assert item["accepted_at"] is None and item["invitee_id"] is None


def test_email_bound_invitation(start, smtp):
    server, inviter = with_inviter(start, smtp, CHATD_REGISTRATION="invite_only")
    invited, username = new_identity()  # mixed case: "uXXXX@Example.com"
    res = invite(server, inviter["access_token"], email=invited, expires_in_hours=48)
    assert res.status == 201, res.body
    created = res.json()
    [item] = invitations(server, inviter["access_token"])["items"]
    assert item["email"] == invited.lower()
    [(detail,)] = server.sql("SELECT detail FROM audit_log WHERE event = 'invitation.created'")
    assert json.loads(detail) == {"invitation_id": created["id"], "email": invited.lower()}

    # The invitation is mailed to that address with a registration link carrying the code.
    mail = smtp.wait_for(invited.lower())
    text = SmtpSink.text_of(mail)
    m = re.search(r"http://chat\.example\.test/register\?invite=([A-Za-z0-9_%.-]+)", text)
    assert m, text
    assert unquote(m.group(1)) == created["code"]
    assert inviter["user"]["username"] in text

    # Another address cannot use it, and trying does not use it up.
    problem(register_with(server, created["code"]), 403, "forbidden")
    res = register_with(server, created["code"], invited.upper(), username)
    assert res.status == 201, res.body
    assert invitations(server, inviter["access_token"])["items"][0]["invitee_id"] == res.json()["user"]["id"]


def test_invitation_mails_are_limited_per_address(start, smtp):
    # The `verify` rule, per invited address and shared by every inviter, as for the other
    # e-mails chatd sends on request.
    server = start({"CHATD_RATE_LIMITS": "login=1000/60s,register=1000/60s,verify=2/3600s,global=100000/60s"})
    _, username = register_verified(server, smtp)
    token = login(server, username).json()["access_token"]
    target = "flood-target@example.com"
    assert invite(server, token, email=target).status == 201
    assert invite(server, token, email=target.upper()).status == 201
    res = invite(server, token, email=target)
    problem(res, 429, "rate_limited")
    assert int(res.header("retry-after")) > 0
    assert smtp.count(target) <= 2
    assert invite(server, token, email="someone-else@example.com").status == 201
    assert invite(server, token).status == 201  # no e-mail, no mail limit


def test_closed_registration_refuses_even_with_a_code(start, smtp):
    server, inviter = with_inviter(start, smtp, CHATD_REGISTRATION="closed")
    # Invitations can still be made (for when registration opens again) ...
    res = invite(server, inviter["access_token"])
    assert res.status == 201, res.body
    # ... but closed means closed: nobody registers, with or without one.
    problem(register_with(server, res.json()["code"]), 403, "forbidden")
    problem(register_with(server, None), 403, "forbidden")
    assert invitations(server, inviter["access_token"])["items"][0]["accepted_at"] is None


def test_open_registration_accepts_a_code_too(server, smtp):
    _, username = register_verified(server, smtp)
    token = login(server, username).json()["access_token"]
    code = invite(server, token).json()["code"]
    res = register_with(server, code)
    assert res.status == 201, res.body
    assert invitations(server, token)["items"][0]["invitee_id"] == res.json()["user"]["id"]
    # Without one, open registration works as ever.
    assert register_with(server, None).status == 201
