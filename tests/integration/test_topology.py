"""The scale-out topology of deploy/, run on loopback without containers: the shipped nginx
configuration (deploy/nginx/chatd.conf, with a self-signed certificate) in front of two chatd
processes on one PostgreSQL database and one Redis server, and a fake LLM upstream.

Checked through nginx (and on each instance directly where the test must pick one): a
token issued by one instance works on the other; a session revoked on one is refused by
the other within 100 ms; a rate limit is exact across both; an answer streams delta by delta;
an instance killed with SIGKILL under load leaves the other serving and loses no
acknowledged write; a rolling restart of both fails no request; Redis stopped and started
again mid-run degrades and recovers by itself."""

import http.client
import json
import os
import shutil
import signal
import ssl
import threading
import time

import pytest

import deploy_support
from chat_support import ANTHROPIC_KEY, AWS, OPENAI_KEY, FakeUpstream, marker, providers_file
from conftest import PG_URL, Chatd, Response, json_request, new_pg_database, sanitizer_report, wait_for
from redis_support import RedisServer
from test_auth import STRONG, login, new_identity, register

MASTER_KEY = "5f" * 32  # one master key for every instance (docs/deploy.md)
EXACT = 12  # the `verify` bucket: 12 requests per hour per client address, shared
LIMITS = ("login=100000/60s,register=100000/60s,refresh=100000/60s,otp=100000/60s,message=100000/60s,"
          f"global=1000000/60s,verify={EXACT}/3600s")


def require_postgres():
    if not PG_URL:
        if os.environ.get("CHATD_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail("CHATD_TEST_REQUIRE_POSTGRES=1 but CHATD_TEST_DATABASE_URL is not set")
        pytest.skip("several instances need PostgreSQL: set CHATD_TEST_DATABASE_URL (scripts/pg start DIR PORT)")


class Edge:
    """HTTPS to nginx, the way clients reach the service. The same api()/request() as a
    Chatd, so that the auth helpers work through it."""

    def __init__(self, port, cert):
        self.port = port
        self.context = ssl.create_default_context(cafile=cert)

    def connection(self, timeout=10):
        return http.client.HTTPSConnection("localhost", self.port, timeout=timeout, context=self.context)

    def api(self, method, path, body=None, token=None, headers=None):
        return self.request(method, path, **json_request(body, token, headers))

    def request(self, method, path, body=None, headers=None, timeout=10, conn=None):
        own = conn is None
        conn = conn or self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return Response(res.status, res.getheaders(), res.read())
        finally:
            if own:
                conn.close()


class Stack:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.workdir = deploy_support.make_workdir("chatd-topology-")
        self.redis = RedisServer(self.workdir)
        self.fake = None
        self.nginx = None
        self.ports = [deploy_support.free_port(), deploy_support.free_port()]
        self.instances = [None, None]
        self.retired = []  # stopped instances, for the sanitizer check of their logs

    def start(self):
        self.redis.start()
        self.fake = FakeUpstream(openai_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, aws=AWS).__enter__()
        self.edge_port = deploy_support.free_port()
        self.env = {
            "CHATD_DATABASE_URL": new_pg_database(),
            "CHATD_REDIS_URL": self.redis.url,
            "CHATD_MASTER_KEY": MASTER_KEY,
            "CHATD_TRUSTED_PROXIES": "127.0.0.1",
            "CHATD_PUBLIC_URL": f"https://localhost:{self.edge_port}",
            "CHATD_REQUIRE_EMAIL_VERIFICATION": "false",
            "CHATD_RATE_LIMITS": LIMITS,
            "CHATD_PROVIDERS_FILE": providers_file(self.tmp_path, self.fake),
            "CHATD_SHUTDOWN_GRACE_MS": "10000",
        }
        for i in range(2):
            self.start_instance(i)
        cert, key = deploy_support.make_self_signed(self.workdir)
        conf = deploy_support.render_nginx(self.workdir, self.edge_port,
                                           [f"127.0.0.1:{p}" for p in self.ports], cert, key)
        self.nginx = deploy_support.start_nginx(conf, [self.edge_port])
        self.edge = Edge(self.edge_port, cert)
        return self

    def start_instance(self, i):
        directory = self.tmp_path / f"instance{i}"
        directory.mkdir(exist_ok=True)
        env = dict(self.env, CHATD_ADDR=f"127.0.0.1:{self.ports[i]}")
        server = Chatd(directory, "sqlite", env)
        self.instances[i] = server.start()
        return server

    def stop(self):
        if self.nginx:
            deploy_support.stop_nginx(self.nginx)
        for s in self.instances + self.retired:
            if s:
                s.stop()
        if self.fake:
            self.fake.__exit__(None, None, None)
        self.redis.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def reports(self):
        out = []
        for s in self.instances + self.retired:
            if s and (report := sanitizer_report(s.log())):
                out.append(f"{s.log_path.name}:\n{report}")
        return out

    @property
    def a(self):
        return self.instances[0]

    @property
    def b(self):
        return self.instances[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_postgres()
    s = Stack(tmp_path_factory.mktemp("topology"))
    try:
        yield s.start()
    finally:
        s.stop()
    reports = s.reports()
    if reports:
        pytest.fail("a sanitizer reported a problem in chatd:\n" + "\n\n".join(reports), pytrace=False)


def new_account(stack):
    email, username = new_identity()
    res = register(stack.edge, email, username)
    assert res.status == 201, res.body
    return username


def signed_in(server, username):
    res = login(server, username)
    assert res.status == 200, res.body
    return res.json()["access_token"]


def test_a_token_issued_by_one_instance_works_on_the_other(stack):
    username = new_account(stack)
    token = signed_in(stack.edge, username)
    for server in (stack.a, stack.b):
        res = server.api("GET", "/auth/me", token=token)
        assert res.status == 200, res.body
        assert res.json()["user"]["username"] == username
    # Through nginx, whichever instance answers.
    for _ in range(4):
        assert stack.edge.api("GET", "/auth/me", token=token).status == 200
    for server in (stack.a, stack.b):
        ready = server.request("GET", "/readyz")
        assert ready.status == 200 and ready.json()["checks"] == {"database": "ok", "redis": "ok"}


def revocation_delays(stack, tries):
    """Seconds from the end of a logout on A to B's first refusal of the token, per try. B
    has the session cached (checked less than a second before), so only an announcement
    makes it refuse sooner than its next database check."""
    username = new_account(stack)
    delays = []
    for _ in range(tries):
        token = signed_in(stack.a, username)
        assert stack.b.api("GET", "/auth/me", token=token).status == 200
        assert stack.a.api("POST", "/auth/logout", token=token).status == 204
        ended = time.monotonic()
        while stack.b.api("GET", "/auth/me", token=token).status == 200:
            assert time.monotonic() - ended < 5, "the other instance never refused the revoked token"
        delays.append(time.monotonic() - ended)
    return sorted(delays)


def test_a_session_revoked_on_one_instance_is_refused_by_the_other_within_100_ms(stack):
    delays = revocation_delays(stack, 100)
    p99 = delays[98]
    assert p99 < 0.1, f"p50 {delays[50] * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms"


def refused_by_b_soon_after(stack, token, action, path="/auth/me", expect=401):
    """Runs `action` (on A), then polls B with `token` until it answers `expect`; B had the
    session cached just before, so only an announcement makes it answer within 0.5 s (its
    own database check comes after a second)."""
    assert stack.b.api("GET", path, token=token).status != expect
    action()
    ended = time.monotonic()
    while stack.b.api("GET", path, token=token).status != expect:
        assert time.monotonic() - ended < 0.5, f"B still answers {path} the old way after 0.5 s"


def test_every_kind_of_revocation_and_a_role_change_reach_the_other_instance_at_once(stack):
    admin_name = new_account(stack)
    admin_id = stack.edge.api("GET", "/auth/me", token=signed_in(stack.edge, admin_name)).json()["user"]["id"]
    stack.a.sql(f"INSERT INTO user_roles (user_id, role) VALUES ('{admin_id}', 'admin')")
    admin = signed_in(stack.a, admin_name)
    username = new_account(stack)
    user_id = stack.edge.api("GET", "/auth/me", token=signed_in(stack.edge, username)).json()["user"]["id"]

    token = signed_in(stack.a, username)
    refused_by_b_soon_after(stack, token, lambda: stack.a.api("POST", "/auth/logout-all", token=token))
    token = signed_in(stack.a, username)
    refused_by_b_soon_after(stack, token, lambda: stack.a.api(
        "POST", f"/admin/users/{user_id}/sessions/revoke", token=admin))
    # A role granted on A holds on B at once (and the user's sessions stay).
    token = signed_in(stack.a, username)
    refused_by_b_soon_after(stack, token, lambda: stack.a.api(
        "PATCH", f"/admin/users/{user_id}", {"roles": ["admin"]}, token=admin), path="/admin/ping", expect=200)
    # An API key deleted on A stops working on B at once (B would trust it for 5 s).
    key = stack.a.api("POST", "/api-keys", {"name": "topology"}, token=token)
    assert key.status == 201, key.body
    refused_by_b_soon_after(stack, key.json()["key"], lambda: stack.a.api(
        "DELETE", f"/api-keys/{key.json()['id']}", token=token), path="/v1/models")
    # A password change ends the user's other sessions.
    other = signed_in(stack.a, username)
    refused_by_b_soon_after(stack, token, lambda: stack.a.api(
        "POST", "/auth/password/change", {"current_password": STRONG, "new_password": STRONG + " again"},
        token=other))
    # Disabling the account ends every session.
    refused_by_b_soon_after(stack, other, lambda: stack.a.api(
        "PATCH", f"/admin/users/{user_id}", {"disabled": True}, token=admin))


def test_a_rate_limit_is_exact_across_both_instances(stack):
    # The `verify` bucket of this client's address (X-Forwarded-For from nginx): nginx sends
    # the requests to both instances in turn; together they allow exactly EXACT.
    answered = []
    for i in range(EXACT + 6):
        res = stack.edge.api("POST", "/auth/email/verify/request", {"email": f"nobody{i}-{marker()}@example.com"})
        answered.append((res.status, res.header("ratelimit-remaining")))
    assert [s for s, _ in answered] == [202] * EXACT + [429] * 6, answered
    # The headers count down as one, whichever instance answered.
    assert [r for _, r in answered[:EXACT]] == [str(EXACT - 1 - i) for i in range(EXACT)], answered
    # Both instances really answered (round robin), and they agree now.
    direct = [s.api("POST", "/auth/email/verify/request", {"email": f"x-{marker()}@example.com"}) for s in stack.instances]
    assert [r.status for r in direct] == [429, 429]


def test_an_answer_streams_through_nginx_delta_by_delta(stack):
    username = new_account(stack)
    token = signed_in(stack.edge, username)
    conv = stack.edge.api("POST", "/conversations", {}, token=token)
    assert conv.status == 201, conv.body
    conn = stack.edge.connection(timeout=30)
    body = json.dumps({"content": "#slow " + marker()})
    started = time.monotonic()
    conn.request("POST", f"/conversations/{conv.json()['id']}/messages", body=body,
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json",
                          "Accept": "text/event-stream"})
    res = conn.getresponse()
    assert res.status == 200 and res.getheader("content-type") == "text/event-stream"
    arrivals = []
    while True:
        line = res.readline()
        if not line:
            break
        if line.startswith(b"event: delta"):
            arrivals.append(time.monotonic() - started)
        if line.startswith(b"event: done"):
            break
    conn.close()
    ended = time.monotonic() - started
    # "#slow" sends one delta every 200 ms, at least 30: about 6 s in all.
    assert len(arrivals) >= 30
    assert arrivals[0] < 2.0 and ended > 5.0, (arrivals[:3], ended)
    assert arrivals[0] < ended - 3.0
    # Spread out as they were sent, not delivered in one burst at the end.
    assert arrivals[len(arrivals) // 2] - arrivals[0] > 2.0, arrivals


class Load:
    """Writes through nginx from several threads: each creates a conversation (a write that
    is acknowledged by its 201) and reads it back. Records every acknowledged id and every
    failed request with when it started."""

    def __init__(self, stack, token, threads=4):
        self.stack = stack
        self.token = token
        self.acknowledged = []
        self.failures = []
        self.done = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join()

    def call(self, conn, method, path, body=None):
        started = time.monotonic()
        try:
            res = self.stack.edge.request(method, path, body=None if body is None else json.dumps(body),
                                          headers={"Authorization": "Bearer " + self.token,
                                                   "Content-Type": "application/json"}, conn=conn)
            ok = 200 <= res.status < 300
            detail = f"{res.status} {res.body[:200]!r}"
        except (OSError, http.client.HTTPException) as e:
            res, ok, detail = None, False, repr(e)
            conn.close()
        with self.lock:
            self.done += 1
            if not ok:
                self.failures.append((started, f"{method} {path}: {detail}"))
        return res if ok else None

    def run(self):
        conn = self.stack.edge.connection()
        while not self.stopping.is_set():
            created = self.call(conn, "POST", "/conversations", {"title": marker()})
            if created is None:
                continue
            cid = created.json()["id"]
            with self.lock:
                self.acknowledged.append(cid)
            self.call(conn, "GET", f"/conversations/{cid}")
        conn.close()

    def wait_for_requests(self, n, what):
        start = self.done
        wait_for(lambda: self.done - start >= n, 20, what)


def test_an_instance_killed_under_load_leaves_the_other_serving_and_loses_no_acknowledged_write(stack):
    token = signed_in(stack.edge, new_account(stack))
    with Load(stack, token) as load:
        load.wait_for_requests(40, "the load to get going")
        killed_at = time.monotonic()
        stack.b.proc.send_signal(signal.SIGKILL)
        stack.b.proc.wait()
        load.wait_for_requests(100, "the surviving instance to serve")
    stack.retired.append(stack.b)
    # Only requests that were on the killed instance at that moment may fail; everything
    # after is served by the other.
    late = [f for started, f in load.failures if started > killed_at + 0.25]
    assert late == [], late
    assert len(load.failures) <= len(load.threads), load.failures
    # Every acknowledged write is there.
    for cid in load.acknowledged:
        res = stack.a.api("GET", f"/conversations/{cid}", token=token)
        assert res.status == 200, (cid, res.status)
    stack.start_instance(1)
    wait_for(lambda: stack.b.request("GET", "/readyz").status == 200, 10, "the restarted instance to be ready")


def served_through_nginx(server):
    return server.log().count('"event":"http.request"')


def wait_until_both_serve(stack, what):
    """Under load, until nginx sends requests to both instances (after a failure it leaves an
    instance alone for fail_timeout, 3 s): an operator restarts the next instance only then."""
    for server in stack.instances:
        before = served_through_nginx(server)
        wait_for(lambda server=server, before=before: served_through_nginx(server) >= before + 10, 15, what)


def test_a_rolling_restart_fails_no_request(stack):
    token = signed_in(stack.edge, new_account(stack))
    with Load(stack, token) as load:
        wait_until_both_serve(stack, "both instances to serve")
        for i in range(2):
            old = stack.instances[i]
            old.signal(signal.SIGTERM)
            assert old.wait(timeout=20) == 0, old.log()[-2000:]
            stack.retired.append(old)
            stack.start_instance(i)
            wait_until_both_serve(stack, f"instance {i} to get traffic again")
    assert load.failures == [], load.failures[:10]
    assert len(load.acknowledged) > 50
    for cid in load.acknowledged[-20:]:
        assert stack.a.api("GET", f"/conversations/{cid}", token=token).status == 200


def test_redis_stopped_and_started_again_degrades_and_recovers_by_itself(stack):
    username = new_account(stack)
    token = signed_in(stack.edge, username)
    stack.redis.stop()
    for server in (stack.a, stack.b):
        def says_error(server=server):
            res = server.request("GET", "/readyz")
            return res.status == 503 and res.json()["checks"]["redis"].startswith("error: ")
        wait_for(says_error, 5, "/readyz to report Redis")
    # Serving goes on: reads, writes and sign-ins, through nginx.
    assert stack.edge.api("GET", "/auth/me", token=token).status == 200
    assert stack.edge.api("POST", "/conversations", {}, token=token).status == 201
    assert login(stack.edge, username).status == 200
    # Limits hold per instance: the in-process limiter's EXACT on each (the shared bucket is
    # already spent, but it cannot be read now).
    for server in (stack.a, stack.b):
        statuses = [server.api("POST", "/auth/email/verify/request", {"email": f"r-{marker()}@example.com"}).status
                    for _ in range(EXACT + 2)]
        assert statuses == [202] * EXACT + [429] * 2, statuses
    # Revocation falls back to the database check: refused within about a second.
    other = signed_in(stack.a, username)
    assert stack.b.api("GET", "/auth/me", token=other).status == 200
    assert stack.a.api("POST", "/auth/logout", token=other).status == 204
    wait_for(lambda: stack.b.api("GET", "/auth/me", token=other).status == 401, 3, "the database check to refuse")

    stack.redis.start()
    for server in (stack.a, stack.b):
        wait_for(lambda server=server: server.request("GET", "/readyz").status == 200, 10, "/readyz to recover")
    # Shared again: a revoked session is refused elsewhere at once, and a fresh Redis holds a
    # fresh bucket that both instances count together.
    wait_for(lambda: max(revocation_delays(stack, 3)) < 0.1, 10, "revocations to be announced again")
    statuses = [stack.edge.api("POST", "/auth/email/verify/request", {"email": f"s-{marker()}@example.com"}).status
                for _ in range(EXACT + 2)]
    assert statuses == [202] * EXACT + [429] * 2, statuses
