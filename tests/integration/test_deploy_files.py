"""deploy/: the nginx configuration (nginx -t, then nginx itself on loopback in front of a
stand-in for chatd), the systemd unit (systemd-analyze), the compose file (docker-compose
config) and the Dockerfile, plus what they must keep saying: settings that exist, streaming
routes unbuffered, /metrics kept inside, TLS 1.2/1.3 only, a non-root image."""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import deploy_support
from conftest import CHATD_BIN, ROOT

DEPLOY = os.path.join(ROOT, "deploy")
NGINX_CONF = os.path.join(DEPLOY, "nginx", "chatd.conf")
COMPOSE = os.path.join(DEPLOY, "docker-compose.yml")
ENV_EXAMPLE = os.path.join(DEPLOY, ".env.example")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")
UNIT = os.path.join(DEPLOY, "systemd", "chatd.service")
UNIT_ENV = os.path.join(DEPLOY, "systemd", "chatd.env.example")
PROMETHEUS = os.path.join(DEPLOY, "prometheus", "prometheus.yml")
CONFIGURATION_MD = os.path.join(ROOT, "docs", "configuration.md")
DEPLOY_MD = os.path.join(ROOT, "docs", "deploy.md")

STREAM_PATHS = ["/conversations/0190a1b2-c3d4/messages", "/v1/chat/completions"]


def read(path):
    with open(path) as f:
        return f.read()


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: scripts/install-deps installs it")
    return path


# ---------------------------------------------------------------------------------------
# Settings: every CHATD_* name the deploy files use is one chatd knows.

def documented_settings():
    """The variables of docs/configuration.md's tables (the contract's and chatd's own),
    with their defaults."""
    settings = {}
    for line in read(CONFIGURATION_MD).splitlines():
        m = re.match(r"\|\s*`((?:CHATD|AWS)_[A-Z0-9_]+)`\s*\|\s*([^|]*)\|", line)
        if m:
            settings[m.group(1)] = m.group(2).strip()
    assert len(settings) > 40, "docs/configuration.md's tables were not found"
    return settings


def binary_settings(tmp_path):
    """The settings `chatd config check` prints (every one it has)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CHATD_DATA_DIR": str(tmp_path / "data")}
    res = subprocess.run([CHATD_BIN, "config", "check"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    return {line.split("=", 1)[0] for line in res.stdout.splitlines() if "=" in line}


def test_every_chatd_setting_named_in_the_deploy_files_exists(tmp_path):
    documented = documented_settings()
    known = binary_settings(tmp_path)
    files = [COMPOSE, ENV_EXAMPLE, DOCKERFILE, UNIT, UNIT_ENV, NGINX_CONF, PROMETHEUS, DEPLOY_MD]
    used = {}
    for path in files:
        for name in re.findall(r"\bCHATD_[A-Z0-9_]*[A-Z0-9]\b", read(path)):
            used.setdefault(name, set()).add(os.path.relpath(path, ROOT))
    assert "CHATD_MASTER_KEY" in used and "CHATD_TRUSTED_PROXIES" in used
    undocumented = {n: sorted(f) for n, f in used.items() if n not in documented}
    assert not undocumented, f"not in docs/configuration.md: {undocumented}"
    unknown = {n: sorted(f) for n, f in used.items() if n not in known}
    assert not unknown, f"chatd config check does not know: {unknown}"


# ---------------------------------------------------------------------------------------
# nginx: the shipped file's content.

def nginx_blocks(text):
    """(kind, argument, body) of every `location` and `server` block, comments removed,
    body being the block's own directives (nested blocks left out)."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    blocks = []
    for m in re.finditer(r"\b(location|server)\s*([^{;]*)\{", code):
        depth, i = 1, m.end()
        own = []
        while depth:
            ch = code[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif depth == 1:
                own.append(ch)
            i += 1
        blocks.append((m.group(1), m.group(2).strip(), "".join(own)))
    return blocks


def directives(body, name):
    return [m.group(1).strip() for m in re.finditer(rf"(?:^|[;\s]){name}\s+([^;]*);", body)]


def location_for(path, locations):
    """The location nginx picks for `path`: an exact match, else the first matching regex,
    else the longest prefix (no ^~ here)."""
    for arg, body in locations:
        if arg.startswith("= ") and arg[2:].strip() == path:
            return arg, body
    for arg, body in locations:
        if arg.startswith("~ ") and re.search(arg[2:].strip(), path):
            return arg, body
    prefixes = [(arg, body) for arg, body in locations if not arg.startswith(("=", "~", "@"))]
    return max((p for p in prefixes if path.startswith(p[0])), key=lambda p: len(p[0]))


def test_nginx_config_content():
    text = read(NGINX_CONF)
    blocks = nginx_blocks(text)
    servers = [body for kind, _, body in blocks if kind == "server" and "ssl_certificate" in body]
    assert len(servers) == 1, "one TLS server"
    tls = servers[0]
    locations = [(arg, body) for kind, arg, body in blocks if kind == "location"]

    # TLS 1.2 and 1.3 only, everywhere; forward-secret AEAD suites for 1.2; HTTP/2.
    protocols = re.findall(r"ssl_protocols\s+([^;]*);", text)
    assert protocols and all(p.split() == ["TLSv1.2", "TLSv1.3"] for p in protocols), protocols
    ciphers = directives(tls, "ssl_ciphers")[0].split(":")
    assert all(c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c) for c in ciphers), ciphers
    assert all(re.search(r"\bhttp2\b", l) for l in directives(tls, "listen"))

    # What chatd needs to trust the proxy.
    assert directives(tls, "proxy_http_version") == ["1.1"]
    set_headers = {h.split()[0].lower(): h.split(None, 1)[1] for h in directives(tls, "proxy_set_header")}
    assert set_headers["x-forwarded-for"] == "$proxy_add_x_forwarded_for"
    assert set_headers["x-forwarded-proto"] == "$scheme"
    assert set_headers["x-forwarded-host"] == "$host"
    assert set_headers["connection"] == '""', "keep-alive to the upstream"

    # The body limit is chatd's default CHATD_MAX_BODY_BYTES, and CHATD_MAX_V1_BODY_BYTES on
    # the /v1 routes that take bodies.
    def size_bytes(size):
        units = {"k": 1024, "m": 1024 * 1024, "g": 1024 ** 3}
        return int(size[:-1]) * units[size[-1].lower()] if size[-1].isalpha() else int(size)
    default_body = int(documented_settings()["CHATD_MAX_BODY_BYTES"].strip("`"))
    v1_body = int(documented_settings()["CHATD_MAX_V1_BODY_BYTES"].strip("`"))
    server_level = re.sub(r"location\s[^{]*\{[^}]*\}", "", tls)
    (size,) = directives(server_level, "client_max_body_size")
    assert size_bytes(size) == default_body, (size, default_body)
    for path in ("/v1/chat/completions", "/v1/embeddings"):
        (size,) = directives(location_for(path, locations)[1], "client_max_body_size")
        assert size_bytes(size) == v1_body, (path, size, v1_body)

    # Retries: never for non-idempotent requests.
    (next_upstream,) = directives(tls, "proxy_next_upstream")
    assert "non_idempotent" not in next_upstream

    # Upstream keep-alive with both compose instances.
    upstream = re.search(r"upstream\s+chatd\s*\{([^}]*)\}", text).group(1)
    assert re.findall(r"^\s*server\s+(\S+)", upstream, re.M) == ["chatd1:8080", "chatd2:8080"]
    assert re.search(r"^\s*keepalive\s+\d+;", upstream, re.M)

    # Streaming routes unbuffered with a long read timeout; they proxy to chatd.
    for path in STREAM_PATHS:
        arg, body = location_for(path, locations)
        assert "proxy_pass" in body, (path, arg)
        assert directives(body, "proxy_buffering") == ["off"], (path, arg)
        (timeout,) = directives(body, "proxy_read_timeout")
        assert int(timeout.rstrip("s")) >= 300, (path, timeout)
    # ... and ordinary routes still go to chatd.
    for path in ("/auth/login", "/conversations", "/conversations/x", "/healthz", "/"):
        arg, body = location_for(path, locations)
        assert "proxy_pass http://chatd;" in body, (path, arg)

    # /metrics is answered by nginx itself.
    arg, body = location_for("/metrics", locations)
    assert "proxy_pass" not in body
    assert re.search(r"\breturn\s+(404|403)\b", body) or re.search(r"\bdeny\s+all\b", body)

    # chatd sets its security headers itself: nginx adds none to what it proxies.
    for arg, body in locations:
        if "proxy_pass" in body:
            assert "add_header" not in body, arg
    assert "add_header" not in tls

    # Plain HTTP only redirects.
    (plain,) = [body for kind, _, body in blocks if kind == "server" and "ssl_certificate" not in body]
    assert "return 301 https://$host$request_uri;" in plain
    assert "proxy_pass" not in plain


def test_rendered_nginx_config_differs_only_in_marked_lines(tmp_path):
    cert, key = str(tmp_path / "c.pem"), str(tmp_path / "k.pem")
    shipped = read(NGINX_CONF).splitlines()
    rendered = deploy_support.render_site(read(NGINX_CONF), 8443, ["127.0.0.1:1", "127.0.0.1:2"], cert, key,
                                          http_port=8080).splitlines()
    unmarked = [l for l in shipped if "# deploy:" not in l or "deploy:http-server" in l]
    assert [l for l in rendered if l in unmarked] == unmarked
    extra = [l for l in rendered if l not in shipped]
    assert sorted(l.strip() for l in extra) == sorted([
        "listen 127.0.0.1:8080 default_server;", "listen 127.0.0.1:8443 ssl http2 default_server;",
        "server 127.0.0.1:1 max_fails=1 fail_timeout=3s;", "server 127.0.0.1:2 max_fails=1 fail_timeout=3s;",
        f"ssl_certificate     {cert};", f"ssl_certificate_key {key};"])


@pytest.fixture
def nginx_workdir():
    if deploy_support.nginx_binary() is None:
        pytest.fail("nginx is missing: scripts/install-deps installs the Debian package nginx-light")
    workdir = deploy_support.make_workdir()
    yield workdir
    shutil.rmtree(workdir, ignore_errors=True)


def test_nginx_accepts_the_configuration(nginx_workdir):
    cert, key = deploy_support.make_self_signed(nginx_workdir)
    conf = deploy_support.render_nginx(nginx_workdir, deploy_support.free_port(), ["127.0.0.1:9", "127.0.0.1:10"],
                                       cert, key, http_port=deploy_support.free_port())
    res = deploy_support.check_nginx(conf)
    assert res.returncode == 0, res.stdout + res.stderr + deploy_support.nginx_log(nginx_workdir)
    assert "test is successful" in res.stderr
    assert "[emerg]" not in res.stderr and "[warn]" not in res.stderr, res.stderr
    if os.geteuid() == 0:
        assert os.stat(conf).st_uid != 0, "nginx -t ran unprivileged"


# ---------------------------------------------------------------------------------------
# nginx for real: TLS on loopback in front of a stand-in for chatd.

class Upstream:
    """A tiny HTTP/1.1 server standing in for one chatd instance. It records every request
    and answers: SSE (three events 300 ms apart, without X-Accel-Buffering, so that only
    nginx's configuration keeps them unbuffered) on the streaming paths, 503 on /flaky when
    `flaky`, else a small JSON body with chatd's security headers."""

    def __init__(self, name, flaky=False):
        self.name = name
        self.flaky = flaky
        self.requests = []
        self.sent = []
        self.lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with upstream.lock:
                    upstream.requests.append((self.command, self.path, dict(self.headers)))
                path = self.path.split("?")[0]
                if path in STREAM_PATHS:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(3):
                        event = f"event: delta\ndata: {{\"i\": {i}}}\n\n".encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                        self.wfile.flush()
                        with upstream.lock:
                            upstream.sent.append(time.monotonic())
                        if i < 2:
                            time.sleep(0.3)
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                status = 503 if upstream.flaky and path == "/flaky" else 200
                body = json.dumps({"upstream": upstream.name}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def seen(self, method=None, path=None):
        with self.lock:
            return [r for r in self.requests if (method is None or r[0] == method) and (path is None or r[1] == path)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(nginx_workdir):
    """nginx running the rendered configuration in front of two stand-ins (the first answers
    503 on /flaky)."""
    upstreams = [Upstream("a", flaky=True), Upstream("b")]
    cert, key = deploy_support.make_self_signed(nginx_workdir)
    https_port, http_port = deploy_support.free_port(), deploy_support.free_port()
    conf = deploy_support.render_nginx(nginx_workdir, https_port, [f"127.0.0.1:{u.port}" for u in upstreams],
                                       cert, key, http_port=http_port)
    proc = deploy_support.start_nginx(conf, [https_port, http_port])

    class Proxy:
        pass

    p = Proxy()
    p.upstreams, p.https_port, p.http_port, p.cert, p.workdir = upstreams, https_port, http_port, cert, nginx_workdir
    p.context = ssl.create_default_context(cafile=cert)

    def request(method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPSConnection("127.0.0.1", https_port, context=p.context, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, res.headers, res.read()
        finally:
            conn.close()

    p.request = request
    yield p
    deploy_support.stop_nginx(proc)
    for u in upstreams:
        u.close()


def all_seen(proxy, method=None, path=None):
    return [r for u in proxy.upstreams for r in u.seen(method, path)]


def test_streams_pass_through_nginx_event_by_event(proxy):
    for path in STREAM_PATHS:
        conn = http.client.HTTPSConnection("127.0.0.1", proxy.https_port, context=proxy.context, timeout=10)
        try:
            conn.request("POST", path, body=b'{"content":"hi"}',
                         headers={"Content-Type": "application/json", "Accept": "text/event-stream"})
            res = conn.getresponse()
            assert res.status == 200
            assert res.headers["Content-Type"] == "text/event-stream"
            arrivals, events = [], []
            while True:
                line = res.readline()
                if not line:
                    break
                if line.startswith(b"data:"):
                    arrivals.append(time.monotonic())
                    events.append(json.loads(line[5:])["i"])
        finally:
            conn.close()
        (upstream,) = [u for u in proxy.upstreams if u.seen("POST", path)]
        sent = upstream.sent[-3:]
        assert events == [0, 1, 2]
        # Each event reached the client before the next one was written upstream.
        assert arrivals[0] < sent[1] and arrivals[1] < sent[2], (path, arrivals, sent)
        assert arrivals[2] - arrivals[0] > 0.45


def test_forwarded_headers_reach_chatd(proxy):
    status, _, _ = proxy.request("GET", "/auth/me", headers={"Host": "chat.example.test"})
    assert status == 200
    (_, _, headers), = all_seen(proxy, "GET", "/auth/me")
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "https"
    assert headers["X-Forwarded-Host"] == "chat.example.test"
    assert headers["Host"] == "chat.example.test"
    # A client's own X-Forwarded-For stays to the left of the address nginx saw, which is the
    # right-most entry chatd reads.
    proxy.request("GET", "/auth/sessions", headers={"X-Forwarded-For": "203.0.113.9"})
    (_, _, headers), = all_seen(proxy, "GET", "/auth/sessions")
    assert headers["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "https"


def test_metrics_is_not_reachable_through_nginx(proxy):
    for path in ("/metrics", "/metrics?x=1", "//metrics", "/%6Detrics", "/./metrics"):
        status, headers, body = proxy.request("GET", path, headers={"Authorization": "Bearer metrics-token-0123456789"})
        assert status in (403, 404), path
        assert json.loads(body)["code"] in ("not_found", "forbidden")
        assert headers["Content-Type"] == "application/problem+json"
    assert not [r for r in all_seen(proxy) if "etrics" in r[1]]


def test_oversized_bodies_are_refused_before_chatd(proxy):
    limit = int(documented_settings()["CHATD_MAX_BODY_BYTES"].strip("`"))
    status, headers, body = proxy.request("POST", "/auth/register", body=b"x" * (limit + 1),
                                          headers={"Content-Type": "application/json"})
    assert status == 413
    assert json.loads(body)["code"] == "payload_too_large"
    assert not all_seen(proxy, "POST", "/auth/register")
    status, _, _ = proxy.request("POST", "/auth/login", body=b"x" * limit, headers={"Content-Type": "application/json"})
    assert status == 200
    assert all_seen(proxy, "POST", "/auth/login")


def test_proxied_answers_keep_chatds_headers_only(proxy):
    status, headers, _ = proxy.request("GET", "/healthz")
    assert status == 200
    assert headers.get_all("X-Content-Type-Options") == ["nosniff"]
    assert "Server" not in headers or "/" not in headers["Server"], "no version in Server"


def test_both_instances_serve_and_idempotent_requests_move_on_503(proxy):
    for _ in range(4):
        assert proxy.request("GET", "/ping")[0] == 200
    assert all(u.seen("GET", "/ping") for u in proxy.upstreams), "round robin over both"
    # Round robin sends one of two requests to the instance that answers 503 ("a"); nginx
    # then asks the other one, and the client sees only its 200.
    for _ in range(2):
        status, _, body = proxy.request("GET", "/flaky")
        assert status == 200 and json.loads(body)["upstream"] == "b"
    assert proxy.upstreams[0].seen("GET", "/flaky"), "the 503 instance was asked first once"


def test_non_idempotent_requests_are_never_sent_twice(proxy):
    statuses = [proxy.request("POST", "/flaky", body=b"{}", headers={"Content-Type": "application/json"})[0]
                for _ in range(2)]
    # One of the two reached the instance answering 503: the client gets that 503, and the
    # POST is not repeated on the other instance.
    assert sorted(statuses) == [200, 503]
    assert len(all_seen(proxy, "POST", "/flaky")) == 2, "a POST was sent twice"


def test_http_redirects_and_tls_is_modern(proxy):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=5)
    conn.request("GET", "/chat/42?x=1", headers={"Host": "chat.example.test"})
    res = conn.getresponse()
    assert res.status == 301
    assert res.headers["Location"] == "https://chat.example.test/chat/42?x=1"
    conn.close()
    assert not all_seen(proxy, path="/chat/42?x=1")
    # HTTP/2 by ALPN, TLS 1.3 and 1.2.
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx = ssl.create_default_context(cafile=proxy.cert)
        ctx.minimum_version = ctx.maximum_version = version
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", proxy.https_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() == {ssl.TLSVersion.TLSv1_3: "TLSv1.3", ssl.TLSVersion.TLSv1_2: "TLSv1.2"}[version]
                assert tls.selected_alpn_protocol() == "h2"


def test_nginx_answers_unavailable_when_no_instance_answers(nginx_workdir):
    cert, key = deploy_support.make_self_signed(nginx_workdir)
    port = deploy_support.free_port()
    conf = deploy_support.render_nginx(nginx_workdir, port, [f"127.0.0.1:{deploy_support.free_port()}"], cert, key)
    proc = deploy_support.start_nginx(conf, [port])
    try:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=cert),
                                           timeout=10)
        conn.request("GET", "/healthz")
        res = conn.getresponse()
        body = res.read()
        conn.close()
    finally:
        deploy_support.stop_nginx(proc)
    assert res.status == 503
    assert res.headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "unavailable"


# ---------------------------------------------------------------------------------------
# systemd

def unit_settings():
    out = {}
    for line in read(UNIT).splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def env_file_values(path):
    values = {}
    for line in read(path).splitlines():
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def test_systemd_unit_verifies_and_is_hardened(tmp_path):
    analyze = tool("systemd-analyze")
    unit = tmp_path / "chatd.service"
    # verify checks that ExecStart's program exists: point it at the binary under test.
    text = read(UNIT)
    assert "ExecStart=/usr/local/bin/chatd serve" in text
    unit.write_text(text.replace("/usr/local/bin/chatd", os.path.abspath(CHATD_BIN)))
    # Offline: it loads the unit file alone and needs no running systemd.
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="notice")
    res = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, env=env,
                         timeout=60)
    # A bad or unknown setting is only a warning with status 0: any output fails.
    assert res.returncode == 0 and not res.stderr.strip() and not res.stdout.strip(), res.stdout + res.stderr
    res = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", str(unit)], capture_output=True,
                         text=True, env=env, timeout=60)
    m = re.search(r"Overall exposure level for chatd\.service: ([0-9.]+)", res.stdout + res.stderr)
    assert m, res.stdout + res.stderr
    assert float(m.group(1)) <= 2.0, res.stdout

    s = unit_settings()
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "CapabilityBoundingSet": "", "MemoryDenyWriteExecute": "yes",
                       "StateDirectory": "chatd", "EnvironmentFile": "/etc/chatd/chatd.env",
                       "Restart": "on-failure", "KillSignal": "SIGTERM", "User": "chatd"}.items():
        assert s.get(key) == [value], (key, s.get(key))
    assert "@system-service" in s["SystemCallFilter"]
    assert set(s["RestrictAddressFamilies"][0].split()) <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    assert "CHATD_DATA_DIR=%S/chatd" in s["Environment"]
    grace_ms = int(documented_settings()["CHATD_SHUTDOWN_GRACE_MS"].strip("`"))
    stop = s["TimeoutStopSec"][0]
    assert int(stop.rstrip("s")) * 1000 > grace_ms + 5000, "TimeoutStopSec leaves chatd time to drain"


def test_systemd_env_example_passes_config_check(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(env_file_values(UNIT_ENV))
    env["CHATD_DATA_DIR"] = str(tmp_path / "state")  # the unit's %S/chatd
    res = subprocess.run([CHATD_BIN, "config", "check"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "CHATD_ENV=production" in res.stdout


# ---------------------------------------------------------------------------------------
# docker-compose and the Dockerfile

@pytest.fixture(scope="module")
def compose_config():
    """`docker-compose config` of the compose file with the example .env, parsed."""
    compose = tool("docker-compose")
    import yaml  # python3-yaml, a dependency of Debian's docker-compose
    # Only the example's values: variables of the caller's environment would override them.
    example = set(re.findall(r"^([A-Z0-9_]+)=", read(ENV_EXAMPLE), re.M))
    env = {k: v for k, v in os.environ.items()
           if k not in example and not k.startswith(("CHATD_", "AWS_", "COMPOSE_", "DOCKER_"))}
    res = subprocess.run([compose, "--env-file", ENV_EXAMPLE, "-f", COMPOSE, "config"], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "WARNING" not in res.stderr, res.stderr
    return yaml.safe_load(res.stdout)


def test_compose_file_is_valid_and_complete(compose_config):
    services = compose_config["services"]
    assert set(services) >= {"nginx", "chatd1", "chatd2", "postgres", "redis", "prometheus", "grafana"}
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    chatd = [services["chatd1"], services["chatd2"]]
    e1, e2 = chatd[0]["environment"], chatd[1]["environment"]
    assert e1 == e2, "every instance has the same settings"
    assert e1["CHATD_MASTER_KEY"], "one master key for every instance"
    assert e1["CHATD_DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in e1["CHATD_DATABASE_URL"]
    assert re.fullmatch(r"redis://(:[^@]+@)?redis:6379/0", e1["CHATD_REDIS_URL"])
    assert e1["CHATD_ENV"] == "production" and e1["CHATD_PUBLIC_URL"].startswith("https://")
    # chatd trusts exactly nginx's fixed address; nginx knows the instances' fixed addresses.
    assert e1["CHATD_TRUSTED_PROXIES"] == services["nginx"]["networks"]["chatd"]["ipv4_address"]
    hosts = dict(h.split(":") for h in services["nginx"]["extra_hosts"])
    assert hosts == {name: services[name]["networks"]["chatd"]["ipv4_address"] for name in ("chatd1", "chatd2")}
    grace_ms = int(documented_settings()["CHATD_SHUTDOWN_GRACE_MS"].strip("`"))
    for service in chatd:
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert int(service["stop_grace_period"].rstrip("s")) * 1000 > grace_ms
        assert "healthcheck" in service and "/healthz" in " ".join(service["healthcheck"]["test"])
        assert {d: c["condition"] for d, c in service["depends_on"].items()} == \
            {"postgres": "service_healthy", "redis": "service_healthy"}
        assert not service.get("ports"), "chatd is reached through nginx only"
        assert any(v.endswith(":/var/lib/chatd:rw") for v in service["volumes"])
    # Only nginx is published beyond the host's loopback.
    for name, service in services.items():
        for port in service.get("ports", []):
            if name != "nginx":
                assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
    # nginx runs the shipped configuration; Prometheus the shipped scrape config and rules;
    # Grafana the provisioning and the dashboard where the provisioning looks for it.
    assert f"{NGINX_CONF}:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]
    prom_volumes = services["prometheus"]["volumes"]
    assert f"{PROMETHEUS}:/etc/prometheus/prometheus.yml:ro" in prom_volumes
    assert f"{os.path.join(DEPLOY, 'prometheus', 'chatd-alerts.yml')}:/etc/prometheus/chatd-alerts.yml:ro" in prom_volumes
    assert "/etc/prometheus/chatd-metrics-token" in " ".join(services["prometheus"]["entrypoint"])
    assert services["prometheus"]["environment"]["CHATD_METRICS_TOKEN"] == e1["CHATD_METRICS_TOKEN"]
    grafana_volumes = services["grafana"]["volumes"]
    provisioning = os.path.join(DEPLOY, "grafana", "provisioning")
    assert f"{provisioning}:/etc/grafana/provisioning:ro" in grafana_volumes
    (dashboard_target,) = [v.split(":")[1] for v in grafana_volumes if "chatd-dashboard.json" in v]
    provider = read(os.path.join(provisioning, "dashboards", "chatd.yml"))
    assert f"path: {os.path.dirname(dashboard_target)}\n" in provider
    assert "url: http://prometheus:9090" in read(os.path.join(provisioning, "datasources", "prometheus.yml"))
    # Stateful services keep their data in named volumes.
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("prometheus", "/prometheus"),
                       ("grafana", "/var/lib/grafana")):
        (volume,) = [v for v in services[name]["volumes"] if v.endswith(f":{path}:rw")]
        assert volume.split(":")[0] in compose_config["volumes"], name
    # Prometheus scrapes the compose instances.
    import yaml
    targets = yaml.safe_load(read(PROMETHEUS))["scrape_configs"][0]["static_configs"][0]["targets"]
    assert sorted(targets) == ["chatd1:8080", "chatd2:8080"]


def test_env_example_documents_every_compose_variable():
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", read(COMPOSE)))
    lines = read(ENV_EXAMPLE).splitlines()
    defined = {}
    for i, line in enumerate(lines):
        m = re.match(r"([A-Z0-9_]+)=", line)
        if m:
            defined[m.group(1)] = i
    assert used - set(defined) == set(), "variables of docker-compose.yml missing from .env.example"
    assert set(defined) - used == set(), "variables of .env.example that docker-compose.yml does not use"
    # Each is documented: a comment right above it or above its group.
    for name, i in defined.items():
        j = i - 1
        while j >= 0 and re.match(r"[A-Z0-9_]+=", lines[j]):
            j -= 1
        assert j >= 0 and lines[j].startswith("#"), name


def test_compose_settings_pass_config_check(compose_config, tmp_path):
    """chatd itself checks the settings compose gives an instance: only the example's master
    key, which is an instruction rather than a key, is refused, so the example cannot be
    deployed as it is."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({k: str(v) for k, v in compose_config["services"]["chatd1"]["environment"].items()})
    env["CHATD_DATA_DIR"] = str(tmp_path / "data")
    res = subprocess.run([CHATD_BIN, "config", "check"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 2
    problems = [l for l in res.stderr.splitlines() if l.startswith("chatd: CHATD_")]
    assert len(problems) == 1 and problems[0].startswith("chatd: CHATD_MASTER_KEY:"), res.stderr
    env["CHATD_MASTER_KEY"] = os.urandom(32).hex()
    res = subprocess.run([CHATD_BIN, "config", "check"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr


def dockerfile_stages():
    """[(base image, [(instruction, arguments)])] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", read(DOCKERFILE))
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages.append((args.split()[0], []))
        else:
            stages[-1][1].append((instruction, args.strip()))
    return stages


def test_dockerfile_builds_on_debian_and_runs_unprivileged():
    stages = dockerfile_stages()
    assert len(stages) >= 2 and all(base == "debian:12-slim" for base, _ in stages)
    build, runtime = stages[0][1], stages[-1][1]
    build_runs = " ".join(a for i, a in build if i == "RUN")
    assert "scripts/web build" in build_runs and "-DCMAKE_BUILD_TYPE=Release" in build_runs
    users = [a for i, a in runtime if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    healthchecks = [a for i, a in runtime if i == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/healthz" in healthchecks[0]
    assert ("EXPOSE", "8080") in runtime
    assert any(i == "VOLUME" for i, _ in runtime)
    assert any(i == "COPY" and a.startswith("--from=") for i, a in runtime)
    runtime_runs = " ".join(a for i, a in runtime if i == "RUN")
    assert "-dev" not in runtime_runs and "build-essential" not in runtime_runs
    healthcheck_tool = healthchecks[0].split(" CMD ", 1)[1].split()[0]
    assert re.search(rf"\b{healthcheck_tool}\b", runtime_runs), "the health check's tool is installed"


def test_dockerfile_installs_every_library_chatd_links():
    """The runtime stage installs the Debian package of every shared library the binary
    names (readelf's NEEDED), or the package is part of debian:12-slim already."""
    readelf, ldd, dpkg = tool("readelf"), tool("ldd"), tool("dpkg")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run([readelf, "-d", CHATD_BIN], capture_output=True, text=True).stdout)
    assert needed
    resolved = {}
    for line in subprocess.run([ldd, CHATD_BIN], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            resolved[m.group(1)] = os.path.realpath(m.group(2))
    runtime = " ".join(a for i, a in dockerfile_stages()[-1][1] if i == "RUN")
    base = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g"}  # in debian:12-slim
    # A sanitizer build links its runtimes; they are not the image's business.
    needed = [n for n in needed if not re.match(r"lib(a|ub|t|l)san\.", n)]
    missing = []
    for soname in needed:
        path = resolved.get(soname)
        assert path, f"ldd does not resolve {soname}"
        out = subprocess.run([dpkg, "-S", path], capture_output=True, text=True).stdout
        if not out:
            out = subprocess.run([dpkg, "-S", path.replace("/usr/lib/", "/lib/", 1)], capture_output=True,
                                 text=True).stdout
        package = out.split(":", 1)[0].strip()
        assert package, f"no Debian package owns {path}"
        if package not in base and not re.search(rf"(?<![\w.+-]){re.escape(package)}(?![\w.+-])", runtime):
            missing.append(f"{soname} ({package})")
    assert not missing, "the runtime stage does not install: " + ", ".join(missing)
    assert "cracklib-runtime" in runtime and "ca-certificates" in runtime


def test_dockerignore_keeps_build_trees_and_secrets_out():
    patterns = [l.strip() for l in read(os.path.join(ROOT, ".dockerignore")).splitlines()
                if l.strip() and not l.startswith("#")]
    for needed in ("build*/", ".tools/", "**/node_modules/", "web/dist/", "data/", ".env", "deploy/", ".git"):
        assert needed in patterns, needed


def test_deploy_guide_is_linked():
    guide = read(DEPLOY_MD)
    assert "docs/deploy.md" in read(os.path.join(ROOT, "README.md"))
    for topic in ("CHATD_MASTER_KEY", "CHATD_TRUSTED_PROXIES", "pg_dump", "CHATD_REDIS_URL", "docker-compose",
                  "systemctl", "chatd-alerts.yml"):
        assert topic in guide, topic
