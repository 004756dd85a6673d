"""Accounts and authentication through the real binary, on SQLite and PostgreSQL, with a
real SMTP server receiving the e-mails."""

import base64
import hashlib
import hmac
import http.client
import json
import statistics
import threading
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

from smtp_sink import SmtpSink

STRONG = "correct horse battery staple"
STRONG2 = "violet tractor umbrella sings"
STRONG3 = "seven quiet lanterns drift home"


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


def new_identity():
    name = "u" + uuid.uuid4().hex[:10]
    return f"{name}@Example.com", name


def register(server, email, username, password=STRONG):
    return server.api("POST", "/auth/register", {"email": email, "username": username, "password": password})


def register_verified(server, smtp, password=STRONG):
    email, username = new_identity()
    res = register(server, email, username, password)
    assert res.status == 201, res.body
    token = smtp.token_in(smtp.wait_for(email.lower()))
    res = server.api("POST", "/auth/email/verify/confirm", {"token": token})
    assert res.status == 200, res.body
    return email.lower(), username


def login(server, login_name, password=STRONG, **extra):
    return server.api("POST", "/auth/login", {"login": login_name, "password": password, **extra},
                      headers={"User-Agent": "pytest-client/1.0"})


def logged_in(server, smtp):
    email, username = register_verified(server, smtp)
    res = login(server, username)
    assert res.status == 200, res.body
    return res.json()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def problem(res, status, code):
    assert res.status == status, res.body
    assert res.header("content-type") == "application/problem+json"
    body = res.json()
    assert body["code"] == code, body
    return body


# --- registration and e-mail verification -------------------------------------------

def test_register_verify_login_me(server, smtp):
    email, username = new_identity()
    res = register(server, email, username)
    assert res.status == 201
    user = res.json()["user"]
    assert set(user) == {"id", "email", "username", "email_verified", "roles", "totp_enabled", "created_at",
                         "last_login_at"}
    assert user["email"] == email.lower() and user["username"] == username
    assert user["email_verified"] is False and user["roles"] == ["user"] and user["totp_enabled"] is False

    mail = smtp.wait_for(email.lower())
    text = SmtpSink.text_of(mail)
    assert "http://chat.example.test/verify?token=" in text
    html = mail["message"].get_body(preferencelist=("html",)).get_content()
    assert "/verify?token=" in html

    problem(login(server, username), 403, "email_not_verified")
    token = SmtpSink.token_in(mail)
    res = server.api("POST", "/auth/email/verify/confirm", {"token": token})
    assert res.status == 200 and res.json()["user"]["email_verified"] is True
    problem(server.api("POST", "/auth/email/verify/confirm", {"token": token}), 400, "invalid_token")

    res = login(server, email)  # by e-mail, any case
    assert res.status == 200, res.body
    body = res.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert len(b64url_decode(body["refresh_token"].split("_", 1)[1])) >= 32
    assert res.header("cache-control") == "no-store"
    me = server.api("GET", "/auth/me", token=body["access_token"])
    assert me.status == 200
    assert me.json()["user"]["id"] == user["id"] and me.json()["user"]["last_login_at"] is not None


def test_register_conflicts_and_validation(server, smtp):
    email, username = new_identity()
    assert register(server, email, username).status == 201
    problem(register(server, email.upper(), "other" + username), 409, "conflict")
    problem(register(server, "x" + email, username.upper()), 409, "conflict")
    body = problem(register(server, "not-an-email", "a", "password1234"), 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"email", "username", "password"}
    body = problem(register(server, "ok-" + email, "ok" + username, "short"), 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"password"}
    body = problem(server.api("POST", "/auth/register", {"email": 5, "username": None}), 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"email", "username", "password"}
    # The failed attempts created nothing.
    assert server.sql("SELECT count(*) FROM users")[0][0] == "1"


def test_email_compatibility_forms_are_one_address(server, smtp):
    email, username = new_identity()  # u...@Example.com
    assert register(server, email, username).status == 201
    local, domain = email.split("@")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in local)  # ｕ１２...
    problem(register(server, fullwidth + "@" + domain.upper(), "x" + username), 409, "conflict")
    problem(register(server, local + "\uff20" + domain, "y" + username), 409, "conflict")  # full-width @
    assert server.sql("SELECT email FROM users") == [(email.lower(),)]
    # The same forms find the account everywhere an address is typed.
    token = smtp.token_in(smtp.wait_for(email.lower()))
    assert server.api("POST", "/auth/email/verify/confirm", {"token": token}).status == 200
    res = login(server, fullwidth + "@" + domain)
    assert res.status == 200, res.body
    assert res.json()["user"]["email"] == email.lower()
    assert server.api("POST", "/auth/password-reset/request", {"email": fullwidth + "@" + domain}).status == 202
    smtp.wait_for(email.lower(), count=2)  # the verification e-mail, then the reset one


@pytest.mark.parametrize("password", ["password1234", "123456789012", "qwertyuiopasdf", "iloveyou1234",
                                      "passwordpassword", "football1234"])
def test_common_passwords_refused(server, password):
    email, username = new_identity()
    body = problem(register(server, email, username, password), 422, "validation_failed")
    assert body["errors"][0]["field"] == "password"
    assert password not in json.dumps(body)


def test_unicode_password_is_normalised(server, smtp):
    email, username = new_identity()
    composed = "caf\u00e9 z\u00fcrich m\u00f6bel grande"
    decomposed = "cafe\u0301 zu\u0308rich mo\u0308bel grande"
    assert register(server, email, username, composed).status == 201
    token = SmtpSink.token_in(smtp.wait_for(email.lower()))
    assert server.api("POST", "/auth/email/verify/confirm", {"token": token}).status == 200
    assert login(server, username, decomposed).status == 200


def test_verification_request_does_not_enumerate(server, smtp):
    email, username = register_verified(server, smtp)
    unverified, name2 = new_identity()
    assert register(server, unverified, name2).status == 201
    for address in (email, unverified, "nobody-" + unverified):
        res = server.api("POST", "/auth/email/verify/request", {"email": address})
        assert res.status == 202 and res.json() == {"status": "accepted"}
    second = smtp.wait_for(unverified.lower(), count=2)  # a new link for the unverified one only
    assert smtp.count(email) == 1
    token = SmtpSink.token_in(second)
    first_token = SmtpSink.token_in(smtp.wait_for(unverified.lower(), count=1))
    problem(server.api("POST", "/auth/email/verify/confirm", {"token": first_token}), 400, "invalid_token")
    assert server.api("POST", "/auth/email/verify/confirm", {"token": token}).status == 200


def test_verification_token_expires(server, smtp):
    email, username = new_identity()
    assert register(server, email, username).status == 201
    token = SmtpSink.token_in(smtp.wait_for(email.lower()))
    server.sql("UPDATE one_time_tokens SET expires_at = 1")
    problem(server.api("POST", "/auth/email/verify/confirm", {"token": token}), 400, "invalid_token")
    problem(server.api("POST", "/auth/email/verify/confirm", {"token": "ev_garbage"}), 400, "invalid_token")


def test_mail_retried_when_smtp_is_down_and_account_kept(make_chatd):
    sink = SmtpSink()  # port reserved, not listening yet
    server = make_chatd({"CHATD_SMTP_URL": sink.url})
    email, username = new_identity()
    assert register(server, email, username).status == 201  # answered without waiting for mail
    server.wait_log(lambda l: l.get("event") == "mail.failed", timeout=10)
    sink.start()
    try:
        mail = sink.wait_for(email.lower(), timeout=30)  # a retry delivers it
        token = SmtpSink.token_in(mail)
        assert server.api("POST", "/auth/email/verify/confirm", {"token": token}).status == 200
    finally:
        sink.stop()
    assert server.sql("SELECT count(*) FROM users")[0][0] == "1"


# --- login, lockout, enumeration ----------------------------------------------------

def test_wrong_password_and_unknown_user_look_the_same(server, smtp):
    email, username = register_verified(server, smtp)
    a = login(server, username, "wrong " + STRONG)
    b = login(server, "nobody" + username, STRONG)
    assert a.status == b.status == 401
    assert a.body == b.body
    assert a.json()["code"] == "invalid_credentials"


def test_enumeration_timing(server, smtp):
    email, username = register_verified(server, smtp)
    known, unknown = [], []
    for i in range(12):
        for name, bucket in ((username, known), ("ghost" + username, unknown)):
            start = time.perf_counter()
            res = login(server, name, f"wrong password number {i}")
            bucket.append(time.perf_counter() - start)
            assert res.status == 401
        if i % 4 == 3:  # stay under the lockout threshold
            assert login(server, username).status == 200
    mk, mu = statistics.median(known), statistics.median(unknown)
    assert abs(mk - mu) / max(mk, mu) < 0.25, (mk, mu)


def test_lockout_after_threshold(make_chatd, smtp):
    server = make_chatd({"CHATD_SMTP_URL": smtp.url, "CHATD_LOCKOUT_THRESHOLD": "3",
                         "CHATD_LOCKOUT_SECONDS": "60"})
    email, username = register_verified(server, smtp)
    for _ in range(2):
        problem(login(server, username, "wrong " + STRONG), 401, "invalid_credentials")
    problem(login(server, username, "wrong " + STRONG), 401, "invalid_credentials")  # reaches the threshold
    res = login(server, username)
    problem(res, 423, "account_locked")  # even the right password
    # Retry-After says when the lock ends: the 60 s of the lock, less what has passed.
    assert 50 <= int(res.header("retry-after")) <= 60, res.header("retry-after")
    problem(login(server, username, "wrong " + STRONG), 423, "account_locked")
    events = [r[0] for r in server.sql("SELECT event FROM audit_log ORDER BY at, id")]
    assert "login.locked" in events and events.count("login.failed") >= 4
    # Each refusal is recorded with its reason; a locked account's password is not even checked.
    reasons = [r[0] for r in server.sql(
        "SELECT detail FROM audit_log WHERE event = 'login.failed' ORDER BY at, id")]
    assert [json.loads(r)["reason"] for r in reasons] == ["wrong_password"] * 3 + ["locked"] * 2
    problem(login(server, "nobody" + username), 401, "invalid_credentials")
    unknown = server.sql("SELECT user_id, detail FROM audit_log WHERE event = 'login.failed' "
                         "AND detail LIKE '%unknown_user%'")
    assert len(unknown) == 1 and unknown[0][0] == ""
    assert server.sql("SELECT locked_until FROM users")[0][0] != ""
    server.sql("UPDATE users SET locked_until = 1")  # time passes
    assert login(server, username).status == 200


def parallel_logins(server, attempts):
    """Sends every (login, password) at once, each on a connection opened beforehand;
    returns the answers in the same order."""
    conns = []
    for _ in attempts:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.connect()
        conns.append(conn)
    barrier = threading.Barrier(len(attempts))
    answers = [None] * len(attempts)

    def one(i):
        name, password = attempts[i]
        body = json.dumps({"login": name, "password": password})
        barrier.wait()
        conns[i].request("POST", "/auth/login", body=body, headers={"Content-Type": "application/json"})
        res = conns[i].getresponse()
        answers[i] = (res.status, json.loads(res.read() or b"{}").get("code"))
        conns[i].close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(a is not None for a in answers), answers
    return answers


RACE_LIMITS = {"CHATD_LOCKOUT_THRESHOLD": "5", "CHATD_LOCKOUT_SECONDS": "600",
               "CHATD_RATE_LIMITS": "login=1000/60s,register=1000/60s,verify=1000/60s,global=100000/60s"}


@pytest.mark.parametrize("parallel", [8, 32, 64])
def test_parallel_wrong_passwords_get_no_more_checks_than_the_threshold(make_chatd, smtp, parallel):
    server = make_chatd({"CHATD_SMTP_URL": smtp.url, **RACE_LIMITS})
    email, username = register_verified(server, smtp)
    answers = parallel_logins(server, [(username, "wrong " + STRONG)] * parallel)
    assert answers.count((401, "invalid_credentials")) == 5, answers
    assert answers.count((423, "account_locked")) == parallel - 5, answers
    # The audit log agrees: five passwords were checked, the rest refused unchecked.
    reasons = [json.loads(r[0])["reason"] for r in server.sql(
        "SELECT detail FROM audit_log WHERE event = 'login.failed'")]
    assert reasons.count("wrong_password") == 5 and reasons.count("locked") == parallel - 5
    assert len(server.sql("SELECT id FROM audit_log WHERE event = 'login.locked'")) == 1
    problem(login(server, username), 423, "account_locked")


def test_a_right_password_in_the_race_does_not_unlock_the_account(make_chatd, smtp):
    server = make_chatd({"CHATD_SMTP_URL": smtp.url, **RACE_LIMITS})
    email, username = register_verified(server, smtp)
    for _ in range(3):  # several rounds: the right password lands at a different place each time
        server.sql("UPDATE users SET locked_until = NULL, failed_logins = 0")
        attempts = [(username, "wrong " + STRONG)] * 16
        attempts[8:8] = [(username, STRONG)]
        answers = parallel_logins(server, attempts)
        right = answers[8]
        wrong = answers[:8] + answers[9:]
        assert right in [(200, None), (423, "account_locked")], answers
        # A success resets the count, so it can give at most one more round of places.
        checked = wrong.count((401, "invalid_credentials"))
        assert checked <= (9 if right[0] == 200 else 5), answers
        assert checked + wrong.count((423, "account_locked")) == 16, answers
        # The account ends locked (16 wrong passwords are more than two rounds of places,
        # and a success never lifts another attempt's lock), unless the right password held
        # the last place itself: then the four wrong ones before it were all that was checked,
        # every other attempt was refused meanwhile, and its success ended its own lock.
        final = login(server, username)
        if final.status == 200:
            assert right[0] == 200 and checked == 4, answers
        else:
            problem(final, 423, "account_locked")


def test_per_ip_limit_applies_before_the_lockout(make_chatd, smtp):
    server = make_chatd({"CHATD_SMTP_URL": smtp.url, "CHATD_LOCKOUT_THRESHOLD": "5",
                         "CHATD_RATE_LIMITS": "login=3/60s,register=1000/60s,verify=1000/60s"})
    email, username = register_verified(server, smtp)
    answers = parallel_logins(server, [(username, "wrong " + STRONG)] * 8)
    assert answers.count((401, "invalid_credentials")) == 3, answers
    assert answers.count((429, "rate_limited")) == 5, answers
    assert server.sql("SELECT failed_logins FROM users") == [("3",)]


def test_success_resets_failure_count(make_chatd, smtp):
    server = make_chatd({"CHATD_SMTP_URL": smtp.url, "CHATD_LOCKOUT_THRESHOLD": "3"})
    email, username = register_verified(server, smtp)
    for _ in range(2):
        login(server, username, "wrong " + STRONG)
    assert login(server, username).status == 200
    for _ in range(2):
        login(server, username, "wrong " + STRONG)
    assert login(server, username).status == 200


def test_disabled_account(server, smtp):
    email, username = register_verified(server, smtp)
    server.sql("UPDATE users SET disabled_at = 1")
    problem(login(server, username), 403, "account_disabled")
    problem(login(server, username, "wrong " + STRONG), 401, "invalid_credentials")


def test_login_rate_limit_headers(make_chatd, smtp):
    server = make_chatd({"CHATD_SMTP_URL": smtp.url, "CHATD_RATE_LIMITS": "login=3/60s"})
    statuses = []
    for _ in range(4):
        res = login(server, "someone", "whatever password here")
        statuses.append(res.status)
        assert res.header("ratelimit-limit") == "3"
    assert statuses == [401, 401, 401, 429]
    assert int(res.header("retry-after")) >= 1
    assert res.header("ratelimit-remaining") == "0"
    assert res.json()["code"] == "rate_limited"


# --- access tokens, sessions ---------------------------------------------------------

def test_protected_routes_need_a_token(server):
    for method, path in [("GET", "/auth/me"), ("POST", "/auth/logout"), ("GET", "/auth/sessions"),
                         ("POST", "/auth/logout-all"), ("DELETE", "/auth/sessions/x")]:
        res = server.api(method, path)
        problem(res, 401, "unauthorized")
        assert res.header("www-authenticate").startswith("Bearer")
    res = server.api("GET", "/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    problem(res, 401, "unauthorized")
    problem(server.api("GET", "/auth/me", token="not.a.jwt"), 401, "unauthorized")


def test_token_claims(server, smtp):
    session = logged_in(server, smtp)
    header_b64, payload_b64, _ = session["access_token"].split(".")
    header = json.loads(b64url_decode(header_b64))
    claims = json.loads(b64url_decode(payload_b64))
    assert header["alg"] == "EdDSA" and header["typ"] == "JWT" and header["kid"]
    assert {"iss", "sub", "aud", "exp", "iat", "jti", "sid", "roles"} <= set(claims)
    assert claims["iss"] == "http://chat.example.test" and claims["aud"] == "chatd"
    assert claims["sid"] == session["session_id"] and claims["sub"] == session["user"]["id"]
    assert claims["exp"] - claims["iat"] == 900


def test_refresh_rotates_and_reuse_revokes_the_session(server, smtp):
    session = logged_in(server, smtp)
    tokens = [session["refresh_token"]]
    access = session["access_token"]
    for _ in range(3):
        res = server.api("POST", "/auth/refresh", {"refresh_token": tokens[-1]})
        assert res.status == 200, res.body
        body = res.json()
        assert body["session_id"] == session["session_id"]
        tokens.append(body["refresh_token"])
        access = body["access_token"]
    assert len(set(tokens)) == 4
    assert server.api("GET", "/auth/me", token=access).status == 200
    problem(server.api("POST", "/auth/refresh", {"refresh_token": tokens[0]}), 401, "token_reused")
    # The whole family is gone: the newest refresh token and the access token too.
    problem(server.api("POST", "/auth/refresh", {"refresh_token": tokens[-1]}), 401, "unauthorized")
    problem(server.api("GET", "/auth/me", token=access), 401, "unauthorized")
    events = [r[0] for r in server.sql("SELECT event FROM audit_log")]
    assert "token.reused" in events and events.count("token.refreshed") == 3


def test_concurrent_refreshes_exactly_one_wins(server, smtp):
    session = logged_in(server, smtp)
    results = []
    barrier = threading.Barrier(50)

    def refresh():
        barrier.wait()
        results.append(server.api("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]}).status)

    threads = [threading.Thread(target=refresh) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(200) == 1, results
    assert all(s == 401 for s in results if s != 200)


def test_unknown_refresh_token(server):
    problem(server.api("POST", "/auth/refresh", {"refresh_token": "rt_nope"}), 401, "unauthorized")
    problem(server.api("POST", "/auth/refresh", {}), 422, "validation_failed")


def test_logout_revokes_at_once(server, smtp):
    session = logged_in(server, smtp)
    token = session["access_token"]
    assert server.api("GET", "/auth/me", token=token).status == 200  # now cached as valid
    assert server.api("POST", "/auth/logout", token=token).status == 204
    problem(server.api("GET", "/auth/me", token=token), 401, "unauthorized")
    problem(server.api("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]}), 401, "unauthorized")


def test_logout_all_and_sessions(server, smtp):
    email, username = register_verified(server, smtp)
    first = login(server, username).json()
    second = server.api("POST", "/auth/login", {"login": username, "password": STRONG},
                        headers={"User-Agent": "other-device/2"}).json()
    res = server.api("GET", "/auth/sessions", token=first["access_token"])
    assert res.status == 200
    items = res.json()["items"]
    assert len(items) == 2
    assert {i["id"] for i in items} == {first["session_id"], second["session_id"]}
    current = [i for i in items if i["current"]]
    assert len(current) == 1 and current[0]["id"] == first["session_id"]
    assert {"id", "created_at", "last_used_at", "expires_at", "ip", "user_agent", "current"} == set(items[0])
    assert {i["user_agent"] for i in items} == {"pytest-client/1.0", "other-device/2"}
    assert all(i["ip"] == "127.0.0.1" for i in items)

    assert server.api("DELETE", f"/auth/sessions/{second['session_id']}", token=first["access_token"]).status == 204
    problem(server.api("GET", "/auth/me", token=second["access_token"]), 401, "unauthorized")

    third = login(server, username).json()
    assert server.api("POST", "/auth/logout-all", token=first["access_token"]).status == 204
    for s in (first, third):
        problem(server.api("GET", "/auth/me", token=s["access_token"]), 401, "unauthorized")


def test_other_users_session_is_404(server, smtp):
    alice = logged_in(server, smtp)
    bob = logged_in(server, smtp)
    problem(server.api("DELETE", f"/auth/sessions/{bob['session_id']}", token=alice["access_token"]), 404,
            "not_found")
    assert server.api("GET", "/auth/me", token=bob["access_token"]).status == 200
    problem(server.api("DELETE", "/auth/sessions/does-not-exist", token=alice["access_token"]), 404, "not_found")


# --- passwords -----------------------------------------------------------------------

def test_password_change(server, smtp):
    email, username = register_verified(server, smtp)
    a = login(server, username).json()
    b = login(server, username).json()
    problem(server.api("POST", "/auth/password/change", {"current_password": "wrong " + STRONG,
                                                         "new_password": STRONG2}, token=a["access_token"]),
            401, "invalid_credentials")
    problem(server.api("POST", "/auth/password/change", {"current_password": STRONG, "new_password": "password1234"},
                       token=a["access_token"]), 422, "validation_failed")
    assert server.api("POST", "/auth/password/change", {"current_password": STRONG, "new_password": STRONG2},
                      token=a["access_token"]).status == 204
    assert server.api("GET", "/auth/me", token=a["access_token"]).status == 200  # this session stays
    problem(server.api("GET", "/auth/me", token=b["access_token"]), 401, "unauthorized")  # others end
    problem(login(server, username), 401, "invalid_credentials")
    assert login(server, username, STRONG2).status == 200


def test_password_reset(server, smtp):
    email, username = register_verified(server, smtp)
    session = login(server, username).json()
    assert server.api("POST", "/auth/password-reset/request", {"email": "nobody@example.com"}).status == 202
    assert server.api("POST", "/auth/password-reset/request", {"email": email.upper()}).status == 202
    mail = smtp.wait_for(email, count=2)
    assert "http://chat.example.test/reset?token=" in SmtpSink.text_of(mail)
    token = SmtpSink.token_in(mail)
    problem(server.api("POST", "/auth/password-reset/confirm", {"token": token, "new_password": "password1234"}),
            422, "validation_failed")
    assert server.api("POST", "/auth/password-reset/confirm",
                      {"token": token, "new_password": STRONG3}).status == 204
    problem(server.api("POST", "/auth/password-reset/confirm", {"token": token, "new_password": STRONG2}),
            400, "invalid_token")
    problem(server.api("GET", "/auth/me", token=session["access_token"]), 401, "unauthorized")
    assert login(server, username, STRONG3).status == 200
    events = [r[0] for r in server.sql("SELECT event FROM audit_log")]
    assert "password.reset_requested" in events and "password.reset" in events


def test_reset_token_expires_after_an_hour(server, smtp):
    email, username = register_verified(server, smtp)
    assert server.api("POST", "/auth/password-reset/request", {"email": email}).status == 202
    token = SmtpSink.token_in(smtp.wait_for(email, count=2))
    rows = server.sql("SELECT expires_at - created_at FROM one_time_tokens WHERE purpose = 'password_reset'")
    assert rows == [("3600000",)]
    server.sql("UPDATE one_time_tokens SET expires_at = 1 WHERE purpose = 'password_reset'")
    problem(server.api("POST", "/auth/password-reset/confirm", {"token": token, "new_password": STRONG3}),
            400, "invalid_token")


# --- signing keys ----------------------------------------------------------------------

def make_admin(server, user_id):
    server.sql(f"INSERT INTO user_roles (user_id, role) VALUES ('{user_id}', 'admin')")


def test_jwks_at_both_paths(server, smtp):
    a = server.api("GET", "/auth/keys/jwks.json")
    b = server.api("GET", "/.well-known/jwks.json")
    assert a.status == b.status == 200 and a.json() == b.json()
    keys = a.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519" and keys[0]["alg"] == "EdDSA"
    assert len(b64url_decode(keys[0]["x"])) == 32
    assert "d" not in keys[0]


def test_key_rotation(server, smtp):
    user = logged_in(server, smtp)
    problem(server.api("POST", "/auth/keys/rotate", token=user["access_token"]), 403, "forbidden")
    make_admin(server, user["user"]["id"])
    admin = login(server, user["user"]["username"]).json()  # roles are in the token
    old_kid = json.loads(b64url_decode(admin["access_token"].split(".")[0]))["kid"]
    res = server.api("POST", "/auth/keys/rotate", token=admin["access_token"])
    assert res.status == 200, res.body
    new_kid = res.json()["kid"]
    assert new_kid != old_kid
    assert server.api("GET", "/auth/me", token=admin["access_token"]).status == 200  # old token still valid
    kids = {k["kid"] for k in server.api("GET", "/auth/keys/jwks.json").json()["keys"]}
    assert kids == {old_kid, new_kid}
    fresh = login(server, user["user"]["username"]).json()
    assert json.loads(b64url_decode(fresh["access_token"].split(".")[0]))["kid"] == new_kid
    assert server.api("GET", "/auth/me", token=fresh["access_token"]).status == 200
    assert "key.rotated" in [r[0] for r in server.sql("SELECT event FROM audit_log")]
    # Private keys are stored sealed, never in the clear.
    for (sealed,) in server.sql("SELECT private_key_encrypted FROM signing_keys"):
        assert sealed.startswith("v1.")


# --- a negative JWT matrix --------------------------------------------------------------

def _sign(header, claims, key):
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{h}.{p}.{b64url(key.sign(f'{h}.{p}'.encode()))}"


def _parts(token):
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def test_negative_jwt_matrix(server, smtp):
    session = logged_in(server, smtp)
    good = session["access_token"]
    header, claims, sig = _parts(good)
    jwk = server.api("GET", "/auth/keys/jwks.json").json()["keys"][0]
    server_pub = b64url_decode(jwk["x"])
    attacker = Ed25519PrivateKey.generate()
    attacker_pub = attacker.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    now = int(time.time())
    h_b64, p_b64, s_b64 = good.split(".")

    def enc(obj):
        return b64url(json.dumps(obj, separators=(",", ":")).encode())

    def hs256(hdr, cl, key):
        h, p = enc(hdr), enc(cl)
        return f"{h}.{p}.{b64url(hmac.new(key, f'{h}.{p}'.encode(), hashlib.sha256).digest())}"

    tampered_sig = bytearray(b64url_decode(s_b64))
    tampered_sig[0] ^= 1
    cases = {
        "alg none": f"{enc({**header, 'alg': 'none'})}.{p_b64}.",
        "alg none with signature": f"{enc({**header, 'alg': 'none'})}.{p_b64}.{s_b64}",
        "HS256 keyed with the public key": hs256({**header, "alg": "HS256"}, claims, server_pub),
        "HS256 keyed with the JWK JSON": hs256({**header, "alg": "HS256"}, claims, json.dumps(jwk).encode()),
        "alg missing": f"{enc({k: v for k, v in header.items() if k != 'alg'})}.{p_b64}.{s_b64}",
        "tampered header": f"{enc({**header, 'typ': 'JWS'})}.{p_b64}.{s_b64}",
        "tampered payload": f"{h_b64}.{enc({**claims, 'roles': ['user', 'admin']})}.{s_b64}",
        "tampered signature": f"{h_b64}.{p_b64}.{b64url(bytes(tampered_sig))}",
        "truncated signature": f"{h_b64}.{p_b64}.{s_b64[:40]}",
        "wrong aud": _sign(header, {**claims, "aud": "someone-else"}, attacker),
        "attacker key, known kid": _sign(header, claims, attacker),
        "wrong iss (attacker)": _sign(header, {**claims, "iss": "https://evil"}, attacker),
        "expired (attacker)": _sign(header, {**claims, "exp": now - 3600}, attacker),
        "unknown kid": _sign({**header, "kid": "no-such-kid"}, claims, attacker),
        "kid path traversal": _sign({**header, "kid": "../../../../etc/passwd"}, claims, attacker),
        "kid sql": _sign({**header, "kid": "x' OR '1'='1"}, claims, attacker),
        "jku header": _sign({**header, "jku": "http://127.0.0.1:1/jwks.json"}, claims, attacker),
        "jwk header with attacker key": _sign({**header, "jwk": {"kty": "OKP", "crv": "Ed25519",
                                                                  "x": b64url(attacker_pub)}}, claims, attacker),
        "x5u header": _sign({**header, "x5u": "http://127.0.0.1:1/cert.pem"}, claims, attacker),
        "four parts": good + ".x",
        "two parts": f"{h_b64}.{p_b64}",
        "padding": f"{h_b64}.{p_b64}.{s_b64}==",
        "bad characters": f"{h_b64}.{p_b64}.{s_b64[:-2]}!!",
        "refresh token as access token": session["refresh_token"],
        "empty": "",
        "huge": "a" * 9000,
    }
    for name, token in cases.items():
        res = server.api("GET", "/auth/me", token=token) if token else server.api(
            "GET", "/auth/me", headers={"Authorization": "Bearer "})
        assert res.status == 401, (name, res.body)
        assert res.json()["code"] == "unauthorized", name
    assert server.api("GET", "/auth/me", token=good).status == 200  # the real one still works


def test_tokens_of_disabled_user_and_revoked_session_refused(server, smtp):
    session = logged_in(server, smtp)
    token = session["access_token"]
    assert server.api("GET", "/auth/me", token=token).status == 200
    # Revoked behind this instance's back (another instance, an admin tool): refused once
    # the session check is renewed, within a second.
    server.sql(f"UPDATE sessions SET revoked_at = 1 WHERE id = '{session['session_id']}'")
    deadline = time.monotonic() + 3
    while server.api("GET", "/auth/me", token=token).status == 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    other = logged_in(server, smtp)
    server.sql(f"UPDATE users SET disabled_at = 1 WHERE id = '{other['user']['id']}'")
    deadline = time.monotonic() + 3
    while server.api("GET", "/auth/me", token=other["access_token"]).status == 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)


# --- secrets stay secret ---------------------------------------------------------------

def test_no_secret_in_logs_or_responses(server, smtp):
    marker = "Marker Zebra Quantum Lantern 42"
    email, username = new_identity()
    assert register(server, email, username, marker).status == 201
    mail = smtp.wait_for(email.lower())
    verify_token = SmtpSink.token_in(mail)
    assert server.api("POST", "/auth/email/verify/confirm", {"token": verify_token}).status == 200
    session = login(server, username, marker).json()
    refreshed = server.api("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]}).json()
    login(server, username, "wrong " + marker)
    server.api("POST", "/auth/password-reset/request", {"email": email})
    reset_token = SmtpSink.token_in(smtp.wait_for(email.lower(), count=2))
    me = server.api("GET", "/auth/me", token=refreshed["access_token"])
    server.wait_log(lambda l: l.get("route") == "/auth/me")
    log = server.log()
    hashes = [r[0] for r in server.sql("SELECT password_hash FROM users")]
    for secret in [marker, session["refresh_token"], refreshed["refresh_token"], session["access_token"],
                   refreshed["access_token"], verify_token, reset_token, *hashes]:
        assert secret not in log, secret[:12]
        assert secret not in me.body.decode()
    assert "argon2id" not in me.body.decode()
    # Stored one-time and refresh tokens are hashes, not the tokens.
    stored = {r[0] for r in server.sql("SELECT token_hash FROM refresh_tokens")}
    stored |= {r[0] for r in server.sql("SELECT token_hash FROM one_time_tokens")}
    for token in (session["refresh_token"], verify_token, reset_token):
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert all(h.startswith("$argon2id$v=19$m=19456,t=2") for h in hashes)


def test_audit_rows_carry_ip_and_agent(server, smtp):
    email, username = register_verified(server, smtp)
    assert login(server, username).status == 200
    rows = server.sql("SELECT event, ip, user_agent FROM audit_log WHERE event = 'login.succeeded'")
    assert rows and rows[0][1] == "127.0.0.1" and rows[0][2] == "pytest-client/1.0"
    events = {r[0] for r in server.sql("SELECT event FROM audit_log")}
    assert {"user.registered", "email.verified", "login.succeeded"} <= events
