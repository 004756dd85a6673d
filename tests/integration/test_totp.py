"""Two-factor login (RFC 6238) through the real binary. Codes are computed here with an
independent implementation (hmac + RFC 6238), not with the server's."""

import base64
import hashlib
import hmac
import struct
import time

import pytest

from test_auth import (STRONG, STRONG3, SmtpSink, logged_in, login, problem,  # noqa: F401
                       register_verified, smtp)


@pytest.fixture
def server(make_chatd, smtp):  # noqa: F811
    return make_chatd({"CHATD_SMTP_URL": smtp.url, "CHATD_LOCKOUT_THRESHOLD": "3",
                       "CHATD_RATE_LIMITS": "login=100000/60s,otp=100000/60s,verify=100000/60s,global=1000000/60s"})


def code_at(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1000000:06d}"


def safe_step():
    """The current 30 s step, waiting out the last seconds of a step so that the server
    sees the same step as the test."""
    while time.time() % 30 > 24:
        time.sleep(0.2)
    return int(time.time()) // 30


def enable_2fa(server, smtp):  # noqa: F811
    session = logged_in(server, smtp)
    token = session["access_token"]
    setup = server.api("POST", "/auth/2fa/setup", token=token)
    assert setup.status == 200, setup.body
    secret = setup.json()["secret"]
    step = safe_step()
    res = server.api("POST", "/auth/2fa/verify", {"code": code_at(secret, step)}, token=token)
    assert res.status == 200, res.body
    return session, secret, res.json()["recovery_codes"], step


def test_setup_material(server, smtp):  # noqa: F811
    session = logged_in(server, smtp)
    res = server.api("POST", "/auth/2fa/setup", token=session["access_token"])
    assert res.status == 200
    body = res.json()
    assert len(base64.b32decode(body["secret"] + "=" * (-len(body["secret"]) % 8))) >= 20  # >= 160 bits
    uri = body["otpauth_uri"]
    assert uri.startswith("otpauth://totp/chatd:") and f"secret={body['secret']}" in uri
    for part in ("issuer=chatd", "algorithm=SHA1", "digits=6", "period=30"):
        assert part in uri
    assert body["qr_svg"].startswith("<svg") and "<script" not in body["qr_svg"]
    assert res.header("cache-control") == "no-store"
    # Stored sealed, never as the secret itself.
    (stored,) = server.sql("SELECT secret_encrypted FROM totp")[0]
    assert stored.startswith("v1.") and body["secret"] not in stored
    problem(server.api("POST", "/auth/2fa/verify", {"code": "000000"}, token=session["access_token"]), 401,
            "invalid_otp")
    assert server.api("GET", "/auth/me", token=session["access_token"]).json()["user"]["totp_enabled"] is False


def test_enable_and_login_with_codes(server, smtp):  # noqa: F811
    session, secret, codes, step = enable_2fa(server, smtp)
    username = session["user"]["username"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert server.api("GET", "/auth/me", token=session["access_token"]).json()["user"]["totp_enabled"] is True
    problem(server.api("POST", "/auth/2fa/setup", token=session["access_token"]), 409, "conflict")
    problem(login(server, username), 401, "otp_required")
    problem(login(server, username, otp="123456" if code_at(secret, step + 1) != "123456" else "654321"), 401,
            "invalid_otp")
    # The step used to enable 2FA is spent; the next one (one step of skew) works once.
    problem(login(server, username, otp=code_at(secret, step)), 401, "invalid_otp")
    assert login(server, username, otp=code_at(secret, step + 1)).status == 200
    problem(login(server, username, otp=code_at(secret, step + 1)), 401, "invalid_otp")  # replay
    problem(login(server, username, otp=code_at(secret, step + 3)), 401, "invalid_otp")  # too far ahead
    assert server.sql("SELECT count(*) FROM recovery_codes WHERE used_at IS NULL")[0][0] == "10"
    for code in codes:  # stored hashed
        assert server.sql(f"SELECT count(*) FROM recovery_codes WHERE code_hash = '{code}'")[0][0] == "0"


def test_recovery_code_works_once(server, smtp):  # noqa: F811
    session, secret, codes, _ = enable_2fa(server, smtp)
    username = session["user"]["username"]
    assert login(server, username, otp=codes[0].upper()).status == 200
    problem(login(server, username, otp=codes[0]), 401, "invalid_otp")
    assert login(server, username, otp=codes[1].replace("-", "")).status == 200
    events = [r[0] for r in server.sql("SELECT event FROM audit_log WHERE event = 'recovery_code.used'")]
    assert len(events) == 2


def test_wrong_codes_count_toward_lockout(server, smtp):  # noqa: F811
    session, secret, codes, step = enable_2fa(server, smtp)
    username = session["user"]["username"]
    for _ in range(3):
        problem(login(server, username, otp="000000" if code_at(secret, step + 1) != "000000" else "111111"), 401,
                "invalid_otp")
    problem(login(server, username, otp=codes[0]), 423, "account_locked")


def test_disable_needs_password_and_code(server, smtp):  # noqa: F811
    session, secret, codes, step = enable_2fa(server, smtp)
    token = session["access_token"]
    problem(server.api("POST", "/auth/2fa/disable", {"password": "wrong " + STRONG, "code": codes[0]}, token=token),
            401, "invalid_credentials")
    problem(server.api("POST", "/auth/2fa/disable", {"password": STRONG, "code": "000000"}, token=token), 401,
            "invalid_otp")
    assert server.api("POST", "/auth/2fa/disable", {"password": STRONG, "code": codes[2]}, token=token).status == 204
    assert login(server, session["user"]["username"]).status == 200  # no code needed any more
    assert server.sql("SELECT count(*) FROM totp")[0][0] == "0"
    events = {r[0] for r in server.sql("SELECT event FROM audit_log")}
    assert {"totp.enabled", "totp.disabled", "recovery_code.used"} <= events


def test_password_reset_keeps_2fa(server, smtp):  # noqa: F811
    session, secret, codes, step = enable_2fa(server, smtp)
    email = session["user"]["email"]
    assert server.api("POST", "/auth/password-reset/request", {"email": email}).status == 202
    token = SmtpSink.token_in(smtp.wait_for(email, count=2))
    assert server.api("POST", "/auth/password-reset/confirm", {"token": token, "new_password": STRONG3}).status == 204
    problem(login(server, session["user"]["username"], STRONG3), 401, "otp_required")
    assert login(server, session["user"]["username"], STRONG3, otp=codes[3]).status == 200
