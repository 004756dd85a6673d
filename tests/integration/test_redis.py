"""One chatd with Redis (on SQLite, so that the sanitizer builds run this too): the Redis
check of /readyz through an outage, limits that go on holding while Redis is away, a clean
shutdown with Redis connections open, and rediss:// refused with a line that says why.
Several instances: test_topology.py."""

import signal
import subprocess

import pytest

from conftest import CHATD_BIN, Chatd, wait_for
from redis_support import RedisServer

LIMITS = "verify=3/3600s,login=1000/60s,register=1000/60s,global=100000/60s"


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(str(tmp_path))
    server.start()
    yield server
    server.stop()


def readiness(server):
    res = server.request("GET", "/readyz")
    return res.status, res.json()["checks"]


def metric(server, sample):
    for line in server.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{sample} is not in /metrics")


def resend(server, n):
    return [server.api("POST", "/auth/email/verify/request", {"email": f"x{i}@example.com"}).status
            for i in range(n)]


def test_readiness_follows_redis_and_limits_hold_throughout(make_chatd, redis):
    server = make_chatd({"CHATD_REDIS_URL": redis.url, "CHATD_RATE_LIMITS": LIMITS})
    wait_for(lambda: readiness(server) == (200, {"database": "ok", "redis": "ok"}), 10, "Redis to be ready")
    # One connection per network thread (CHATD_THREADS=2) and the subscriber.
    wait_for(lambda: metric(server, 'chatd_redis_connections{state="ready"}') == 3, 5, "every connection")
    assert metric(server, 'chatd_redis_connections{state="configured"}') == 3
    assert resend(server, 4) == [202, 202, 202, 429]
    # The count is Redis's: the key is there, with its expiry.
    assert redis.call("EXISTS", "chatd:rl:verify:ip:127.0.0.1") == 1

    redis.stop()
    def degraded():
        status, checks = readiness(server)
        return status == 503 and checks["redis"].startswith("error: ") and checks["database"] == "ok"
    wait_for(degraded, 5, "/readyz to report Redis")
    # Still limited while Redis is away: the in-process limiter counts on its own.
    assert resend(server, 4) == [202, 202, 202, 429]
    server.wait_log(lambda line: line.get("event") == "limits.in_process")
    assert metric(server, "chatd_rate_limit_fallbacks_total") >= 4
    assert metric(server, 'chatd_redis_connections{state="ready"}') == 0

    redis.start()
    wait_for(lambda: readiness(server)[0] == 200, 10, "/readyz to recover")
    # Back on Redis: a fresh server, a fresh bucket.
    assert resend(server, 4) == [202, 202, 202, 429]
    server.wait_log(lambda line: line.get("event") == "limits.shared_again")
    server.signal(signal.SIGTERM)
    assert server.wait(timeout=20) == 0


def test_shutdown_is_clean_while_redis_is_unreachable(make_chatd, tmp_path):
    gone = RedisServer(str(tmp_path))  # never started: nothing listens on its port
    server = make_chatd({"CHATD_REDIS_URL": gone.url})
    status, checks = readiness(server)
    assert status == 503 and checks["redis"].startswith("error: ")
    assert server.request("GET", "/healthz").status == 200
    server.signal(signal.SIGTERM)
    assert server.wait(timeout=20) == 0


def test_tls_redis_is_refused_with_a_clear_line(tmp_path):
    server = Chatd(tmp_path, "sqlite", {"CHATD_REDIS_URL": "rediss://:secret@cache.example.com:6380/0"})
    res = subprocess.run([CHATD_BIN, "serve"], env=server.env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2
    assert "CHATD_REDIS_URL: uses rediss:// (TLS)" in res.stderr and "redis://" in res.stderr
    assert "secret" not in res.stderr + res.stdout
