"""API.md, "Web sessions": a browser's refresh token in an HttpOnly SameSite=Strict cookie,
bound to a CSRF token; the access token never leaves the page's memory."""

import pytest

from test_auth import STRONG, login, problem, register_verified, server, smtp  # noqa: F401 (fixtures)

COOKIE = "chatd_refresh"


def set_cookie(res):
    """The chatd_refresh Set-Cookie of a response as (value, {attribute: value})."""
    header = res.header("set-cookie")
    assert header, f"no Set-Cookie in {res.status} {res.body}"
    first, *attrs = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    assert name == COOKIE, header
    parsed = {}
    for a in attrs:
        key, _, val = a.partition("=")
        parsed[key.lower()] = val
    return value, parsed


def cookie_login(server, smtp):
    email, username = register_verified(server, smtp)
    res = login(server, username, session="cookie")
    assert res.status == 200, res.body
    value, _ = set_cookie(res)
    return res.json(), value


def refresh(server, cookie, csrf=None, body=None):
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return server.api("POST", "/auth/refresh", body, headers=headers)


def logout(server, cookie=None, csrf=None, token=None):
    headers = {}
    if cookie is not None:
        headers["Cookie"] = f"other=1; {COOKIE}={cookie}"
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return server.api("POST", "/auth/logout", token=token, headers=headers)


def test_cookie_login_keeps_the_refresh_token_out_of_the_body(server, smtp):
    body, cookie = cookie_login(server, smtp)
    assert "refresh_token" not in body
    assert body["csrf_token"] and body["access_token"] and body["session_id"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert cookie.startswith("rt_") and len(cookie) > 40
    assert server.api("GET", "/auth/me", token=body["access_token"]).status == 200


def test_cookie_attributes(server, smtp):
    email, username = register_verified(server, smtp)
    res = login(server, username, session="cookie")
    _, attrs = set_cookie(res)
    assert "httponly" in attrs
    assert attrs["samesite"] == "Strict"
    assert attrs["path"] == "/auth"
    assert attrs["max-age"] == "2592000"  # the refresh token's 30 days
    assert "secure" not in attrs  # CHATD_PUBLIC_URL is http here
    assert res.header("cache-control") == "no-store"


def test_cookie_is_secure_when_the_public_url_is_https(make_chatd, smtp):
    srv = make_chatd({"CHATD_SMTP_URL": smtp.url, "CHATD_PUBLIC_URL": "https://chat.example.test"})
    email, username = register_verified(srv, smtp)
    _, attrs = set_cookie(login(srv, username, session="cookie"))
    assert "secure" in attrs


def test_body_mode_is_unchanged(server, smtp):
    email, username = register_verified(server, smtp)
    for extra in ({}, {"session": "body"}):
        res = login(server, username, **extra)
        assert res.status == 200
        assert res.json()["refresh_token"] and "csrf_token" not in res.json()
        assert res.header("set-cookie") is None


def test_unknown_session_mode_is_422(server, smtp):
    email, username = register_verified(server, smtp)
    body = problem(login(server, username, session="jar"), 422, "validation_failed")
    assert body["errors"][0]["field"] == "session"
    body = problem(login(server, username, session=5), 422, "validation_failed")
    assert body["errors"][0]["field"] == "session"


def test_refresh_by_cookie_rotates_it_and_keeps_the_csrf_token(server, smtp):
    body, cookie = cookie_login(server, smtp)
    res = refresh(server, cookie, body["csrf_token"])
    assert res.status == 200, res.body
    assert res.header("cache-control") == "no-store"
    fresh = res.json()
    assert "refresh_token" not in fresh
    assert fresh["csrf_token"] == body["csrf_token"]  # bound to the session, constant
    assert fresh["session_id"] == body["session_id"]
    new_cookie, attrs = set_cookie(res)
    assert new_cookie != cookie and attrs["max-age"] == "2592000"
    assert server.api("GET", "/auth/me", token=fresh["access_token"]).status == 200
    # The new cookie works in turn.
    assert refresh(server, new_cookie, body["csrf_token"]).status == 200


def test_refresh_by_cookie_without_the_csrf_token_is_403_and_changes_nothing(server, smtp):
    body, cookie = cookie_login(server, smtp)
    problem(refresh(server, cookie), 403, "forbidden")
    problem(refresh(server, cookie, "x" * 43), 403, "forbidden")
    # Another session's CSRF token is no better.
    other, _ = cookie_login(server, smtp)
    problem(refresh(server, cookie, other["csrf_token"]), 403, "forbidden")
    # The cookie was not rotated: it still refreshes (a reuse would be 401 token_reused).
    assert refresh(server, cookie, body["csrf_token"]).status == 200


def test_reused_cookie_revokes_the_session_and_clears_the_cookie(server, smtp):
    body, cookie = cookie_login(server, smtp)
    res = refresh(server, cookie, body["csrf_token"])
    assert res.status == 200
    new_cookie, _ = set_cookie(res)
    res = refresh(server, cookie, body["csrf_token"])
    problem(res, 401, "token_reused")
    value, attrs = set_cookie(res)
    assert value == "" and attrs["max-age"] == "0"
    problem(refresh(server, new_cookie, body["csrf_token"]), 401, "unauthorized")
    problem(server.api("GET", "/auth/me", token=body["access_token"]), 401, "unauthorized")


def test_body_token_wins_over_the_cookie_and_needs_no_csrf(server, smtp):
    email, username = register_verified(server, smtp)
    pair = login(server, username).json()
    body, cookie = cookie_login(server, smtp)
    res = refresh(server, cookie, None, {"refresh_token": pair["refresh_token"]})
    assert res.status == 200, res.body
    assert res.json()["session_id"] == pair["session_id"] and res.json()["refresh_token"]
    assert res.header("set-cookie") is None
    # The cookie's session was left alone.
    assert refresh(server, cookie, body["csrf_token"]).status == 200


def test_refresh_with_neither_token_nor_cookie_is_422(server, smtp):
    for res in (server.api("POST", "/auth/refresh", {}), server.api("POST", "/auth/refresh"),
                server.api("POST", "/auth/refresh", {"refresh_token": ""}),
                server.api("POST", "/auth/refresh", {}, headers={"Cookie": f"{COOKIE}="})):
        body = problem(res, 422, "validation_failed")
        assert body["errors"][0]["field"] == "refresh_token"


def test_refresh_with_a_csrf_token_but_no_cookie_is_401(server, smtp):
    # A browser whose cookie expired or was cleared still holds its CSRF token: its session
    # is over (401, so that the page signs out), not a malformed request.
    for headers in ({"X-CSRF-Token": "anything"}, {"X-CSRF-Token": "anything", "Cookie": f"{COOKIE}="}):
        problem(server.api("POST", "/auth/refresh", {}, headers=headers), 401, "unauthorized")


def test_logout_by_cookie_ends_the_session_everywhere(server, smtp):
    body, cookie = cookie_login(server, smtp)
    res = logout(server, cookie, body["csrf_token"])
    assert res.status == 204, res.body
    value, attrs = set_cookie(res)
    assert value == "" and attrs["max-age"] == "0" and attrs["path"] == "/auth"
    problem(server.api("GET", "/auth/me", token=body["access_token"]), 401, "unauthorized")
    problem(refresh(server, cookie, body["csrf_token"]), 401, "unauthorized")
    rows = server.sql("SELECT event FROM audit_log WHERE event = 'session.revoked'")
    assert rows, "a session.revoked audit row"


def test_logout_by_cookie_after_another_tab_refreshed(server, smtp):
    # The cookie a tab holds may be one rotation behind: signing out still works.
    body, cookie = cookie_login(server, smtp)
    assert refresh(server, cookie, body["csrf_token"]).status == 200
    assert logout(server, cookie, body["csrf_token"]).status == 204
    problem(server.api("GET", "/auth/me", token=body["access_token"]), 401, "unauthorized")


def test_logout_by_cookie_without_csrf_is_403_and_the_session_lives(server, smtp):
    body, cookie = cookie_login(server, smtp)
    res = logout(server, cookie)
    problem(res, 403, "forbidden")
    assert res.header("set-cookie") is None
    problem(logout(server, cookie, "forged"), 403, "forbidden")
    assert server.api("GET", "/auth/me", token=body["access_token"]).status == 200
    assert refresh(server, cookie, body["csrf_token"]).status == 200


def test_logout_with_the_access_token_clears_a_cookie_that_came_along(server, smtp):
    body, cookie = cookie_login(server, smtp)
    res = logout(server, cookie, None, token=body["access_token"])
    assert res.status == 204
    value, attrs = set_cookie(res)
    assert value == "" and attrs["max-age"] == "0"
    problem(refresh(server, cookie, body["csrf_token"]), 401, "unauthorized")


def test_logout_with_nothing_is_401(server, smtp):
    res = logout(server)
    problem(res, 401, "unauthorized")
    assert res.header("www-authenticate") == "Bearer"
    # A bad access token is 401 even when a cookie comes along: the token is checked first.
    body, cookie = cookie_login(server, smtp)
    problem(logout(server, cookie, body["csrf_token"], token="not-a-token"), 401, "unauthorized")
    assert refresh(server, cookie, body["csrf_token"]).status == 200


def test_logout_with_an_unknown_cookie_is_401_and_clears_it(server, smtp):
    res = logout(server, "rt_" + "A" * 43, "whatever")
    problem(res, 401, "unauthorized")
    value, attrs = set_cookie(res)
    assert value == "" and attrs["max-age"] == "0"
