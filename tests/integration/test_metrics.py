"""GET /metrics: the Prometheus exposition, what it counts, its token, and that its labels stay
bounded (route patterns and fixed sets, never ids or addresses). promtool (Debian package
`prometheus`) checks the text when it is installed; scripts/install-deps installs it."""

import re
import shutil
import subprocess
import time

import pytest

from conftest import CHATD_BIN
from chat_support import SseStream, chat_env, fake, marker, new_user, server  # noqa: F401
from test_auth import login, new_identity, problem, register

TOKEN = "metrics-token-0123456789abcdef"


def scrape(server, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    res = server.request("GET", "/metrics", headers=headers)
    assert res.status == 200, res.body
    assert res.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    return res.body.decode()


def samples(text):
    """{(name, frozenset(labels)): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(text, name, **labels):
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_pattern(server):  # noqa: F811
    token = new_user(server)["access_token"]
    before = scrape(server)
    for _ in range(3):
        assert server.api("GET", "/healthz").status == 200
    assert server.api("GET", "/conversations/no-such-id", token=token).status == 404
    assert server.api("GET", "/no/such/path").status == 404
    after = scrape(server)
    assert value(after, "chatd_http_requests_total", route="/healthz", method="GET", status="200") == \
        value(before, "chatd_http_requests_total", route="/healthz", method="GET", status="200") + 3
    # The pattern, never the id.
    assert value(after, "chatd_http_requests_total", route="/conversations/{id}", method="GET", status="404") == 1
    assert value(after, "chatd_http_requests_total", route="unmatched", method="any", status="404") >= 1
    assert value(after, "chatd_http_request_duration_seconds_count", route="/healthz", method="GET") >= 3
    [version] = re.findall(r'^chatd_build_info\{version="([^"]+)"\} 1$', after, re.M)
    assert version == subprocess.run([CHATD_BIN, "--version"], capture_output=True, text=True).stdout.split()[-1]
    assert "no-such-id" not in after and "/no/such/path" not in after


def test_auth_events_and_rate_limits(make_chatd, tmp_path, fake):  # noqa: F811
    server = make_chatd(chat_env(tmp_path, fake, CHATD_RATE_LIMITS="login=3/60s"))
    email, username = new_identity()
    assert register(server, email, username).status == 201
    assert login(server, username).status == 200
    for _ in range(2):
        problem(login(server, username, "wrong password here"), 401, "invalid_credentials")
    problem(login(server, username, "wrong password here"), 429, "rate_limited")
    text = scrape(server)
    assert value(text, "chatd_auth_events_total", event="login_succeeded") == 1
    assert value(text, "chatd_auth_events_total", event="login_failed") == 2
    assert value(text, "chatd_rate_limited_total", bucket="login") == 1
    assert value(text, "chatd_rate_limited_total", bucket="message") == 0
    # Every event is listed, also at zero, so that rates can be taken from the start.
    for event in ("login_locked", "otp_failed", "refresh_succeeded", "refresh_reused"):
        assert ("chatd_auth_events_total", frozenset({("event", event)})) in samples(text)


def test_llm_requests_tokens_and_open_streams(server, fake):  # noqa: F811
    token = new_user(server)["access_token"]
    conv = server.api("POST", "/conversations", {}, token=token).json()
    assert server.api("POST", f"/conversations/{conv['id']}/messages", {"content": "a b c"}, token=token).status == 201
    text = scrape(server)
    assert value(text, "chatd_llm_requests_total", provider="fake-openai", model="gpt-test", outcome="complete") == 1
    assert value(text, "chatd_llm_tokens_total", provider="fake-openai", model="gpt-test", kind="prompt") == 3
    assert value(text, "chatd_llm_tokens_total", provider="fake-openai", model="gpt-test", kind="completion") > 0
    # The prices of providers_file(): 1000 and 2000 dollars per million prompt and completion tokens.
    completion = value(text, "chatd_llm_tokens_total", provider="fake-openai", model="gpt-test", kind="completion")
    assert value(text, "chatd_llm_cost_usd_total", provider="fake-openai", model="gpt-test") == \
        pytest.approx((3 * 1000 + completion * 2000) / 1e6)
    assert value(text, "chatd_llm_request_duration_seconds_count", provider="fake-openai", model="gpt-test") == 1
    assert value(text, "chatd_llm_time_to_first_token_seconds_count", provider="fake-openai", model="gpt-test") == 1
    assert value(text, "chatd_open_streams") == 0
    # An answer that hangs upstream: its stream is open until the client goes.
    stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": "#hang " + marker()}, token)
    assert next(stream.events())[0] == "message"
    assert value(scrape(server), "chatd_open_streams") == 1
    stream.close()
    deadline = time.monotonic() + 10
    while value(scrape(server), "chatd_open_streams") != 0:
        assert time.monotonic() < deadline, "the stream was still counted 10 s after the client left"
        time.sleep(0.05)


def test_pools_mail_and_process(server):  # noqa: F811
    text = scrape(server)
    for pool in ("worker", "hash", "usage"):
        assert ("chatd_worker_queue_depth", frozenset({("pool", pool)})) in samples(text)
        assert value(text, "chatd_worker_queue_capacity", pool=pool) >= 1
    assert value(text, "chatd_db_pool_connections", state="max") >= 1
    assert ("chatd_db_pool_waiting", frozenset()) in samples(text)
    assert ("chatd_mail_total", frozenset({("outcome", "sent")})) in samples(text)
    assert value(text, "process_resident_memory_bytes") > 1_000_000
    assert value(text, "process_open_fds") > 3
    assert value(text, "process_cpu_seconds_total") > 0
    assert value(text, "process_start_time_seconds") > 1_700_000_000


def test_labels_hold_no_ids_or_addresses(server):  # noqa: F811
    session = new_user(server)
    token = session["access_token"]
    conv = server.api("POST", "/conversations", {}, token=token).json()
    server.api("GET", f"/conversations/{conv['id']}/messages", token=token)
    server.api("DELETE", f"/auth/sessions/{session['session_id']}", token=token)
    text = scrape(server)
    for (name, labels), _ in samples(text).items():
        for key, val in labels:
            assert conv["id"] not in val and session["session_id"] not in val, (name, key, val)
            assert "@" not in val and not re.fullmatch(r"[0-9a-f-]{36}", val), (name, key, val)
            assert not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", val), (name, key, val)


def test_token_is_required_when_set(make_chatd, tmp_path, fake):  # noqa: F811
    server = make_chatd(chat_env(tmp_path, fake, CHATD_METRICS_TOKEN=TOKEN))
    res = server.request("GET", "/metrics")
    assert res.status == 401 and res.header("www-authenticate") == "Bearer"
    assert res.json()["code"] == "unauthorized"
    assert server.request("GET", "/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status == 401
    assert server.request("GET", "/metrics", headers={"Authorization": TOKEN}).status == 401
    assert "chatd_build_info" in scrape(server, TOKEN)
    assert TOKEN not in server.log()


@pytest.mark.parametrize("bad", ["short", "has a space in it 0123456789"])
def test_a_weak_token_stops_startup(tmp_path, bad):
    res = subprocess.run([CHATD_BIN, "config", "check"], env={"CHATD_METRICS_TOKEN": bad, "PATH": "/usr/bin:/bin"},
                         cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert res.returncode != 0
    assert "CHATD_METRICS_TOKEN" in res.stdout + res.stderr
    assert bad not in res.stdout + res.stderr


def test_promtool_accepts_the_exposition(server):  # noqa: F811
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: scripts/install-deps installs the Debian package prometheus")
    token = new_user(server)["access_token"]
    conv = server.api("POST", "/conversations", {}, token=token).json()
    server.api("POST", f"/conversations/{conv['id']}/messages", {"content": "x"}, token=token)
    text = scrape(server)
    res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0 and res.stdout.strip() == "" and res.stderr.strip() == "", res.stdout + res.stderr
