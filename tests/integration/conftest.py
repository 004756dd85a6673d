"""Integration test harness: starts the real chatd binary on a free loopback port
against SQLite (a temp directory) or PostgreSQL (a fresh database in the server that
the test script started; its URL is in CHATD_TEST_DATABASE_URL)."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from urllib.parse import urlparse, urlunparse

import pytest

import openapi_check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHATD_BIN = os.environ.get("CHATD_BIN", os.path.join(ROOT, "build", "chatd"))
PG_URL = os.environ.get("CHATD_TEST_DATABASE_URL", "")
START_TIMEOUT = float(os.environ.get("CHATD_TEST_START_TIMEOUT", "30"))


# The first line of a sanitizer's report (ThreadSanitizer, AddressSanitizer, LeakSanitizer,
# UndefinedBehaviorSanitizer) in chatd's output: a test whose server printed one fails.
SANITIZER_REPORT = re.compile(
    r"^(?:==\d+==)?(?:WARNING|ERROR|FATAL): (?:ThreadSanitizer|AddressSanitizer|LeakSanitizer)\b.*$"
    r"|^\S+:\d+:\d+: runtime error: .*$", re.M)


def sanitizer_report(text):
    """The report's first lines when `text` holds a sanitizer report, else None."""
    m = SANITIZER_REPORT.search(text)
    if not m:
        return None
    return "\n".join(text[m.start():].splitlines()[:40])


def wait_for(predicate, timeout, what):
    """Polls `predicate` until it returns a truthy value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def base_env(tmp_path):
    """A minimal environment: nothing of the developer's CHATD_* settings leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_") and not k.startswith("AWS_")}
    env.update({
        "CHATD_ADDR": "127.0.0.1:0",
        "CHATD_DATA_DIR": str(tmp_path / "data"),
        "CHATD_THREADS": "2",
        "CHATD_LOG_LEVEL": "info",
    })
    return env


def new_pg_database():
    """Creates an empty database next to CHATD_TEST_DATABASE_URL's and returns its URL."""
    name = "chatd_it_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", PG_URL, "-v", "ON_ERROR_STOP=1", "-qc", f'CREATE DATABASE "{name}"'],
                   check=True, capture_output=True)
    parts = urlparse(PG_URL)
    return urlunparse(parts._replace(path="/" + name))


def json_request(body=None, token=None, headers=None):
    """The body and headers of a JSON API request (request(**json_request(...)))."""
    h = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    return {"body": None if body is None else json.dumps(body), "headers": h}


class Chatd:
    """One running chatd process."""

    def __init__(self, tmp_path, db, env_overrides=None, args=("serve",)):
        self.tmp_path = tmp_path
        self.env = base_env(tmp_path)
        if db == "postgres":
            self.env["CHATD_DATABASE_URL"] = new_pg_database()
        else:
            self.env["CHATD_DATABASE_URL"] = "sqlite:" + str(tmp_path / "data" / "chatd.db")
        self.env.update(env_overrides or {})
        self.log_path = tmp_path / f"chatd-{uuid.uuid4().hex[:6]}.log"
        self.args = args
        self.proc = None
        self.port = None

    def start(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([CHATD_BIN, *self.args], env=self.env, cwd=self.tmp_path,
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"chatd exited with {self.proc.returncode}:\n{self.log()}")
            m = re.search(r'"event":"server.listening".*?"port":(\d+)', self.log())
            return int(m.group(1)) if m else None

        self.port = wait_for(listening, START_TIMEOUT, "chatd to listen")
        return self

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self):
        out = []
        for line in self.log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_log(self, predicate, timeout=5):
        """The last JSON log line matching `predicate`, polling: the log is written in batches."""
        def find():
            matches = [line for line in self.log_lines() if predicate(line)]
            return matches[-1] if matches else None
        return wait_for(find, timeout, "a matching log line")

    def sql(self, query):
        """Runs one SQL statement on this server's database; returns rows of strings."""
        url = self.env["CHATD_DATABASE_URL"]
        if url.startswith("sqlite:"):
            import sqlite3
            with sqlite3.connect(url[len("sqlite:"):], timeout=10) as conn:
                return [tuple("" if v is None else str(v) for v in row) for row in conn.execute(query).fetchall()]
        out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-tAF", "\t", "-c", query],
                             capture_output=True, text=True, check=True)
        return [tuple(line.split("\t")) for line in out.stdout.splitlines() if line]

    def api(self, method, path, body=None, token=None, headers=None):
        """JSON request helper: returns Response; body is JSON-encoded when given."""
        return self.request(method, path, **json_request(body, token, headers))

    def request(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            data = res.read()
            response = Response(res.status, res.getheaders(), data)
        finally:
            conn.close()
        found = openapi_check.problems(CHATD_BIN, method, path, response.status, response.header("content-type"), data)
        if found:
            raise AssertionError("the response does not match the OpenAPI document:\n" + "\n".join(found[:10]))
        return response

    def raw(self, data, timeout=5):
        """Sends raw bytes on a new connection; returns everything read until the server closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {}
        for k, v in headers:
            self.headers.setdefault(k.lower(), v)
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


def databases():
    dbs = ["sqlite"]
    if PG_URL:
        dbs.append("postgres")
    elif os.environ.get("CHATD_TEST_REQUIRE_POSTGRES") == "1":
        raise RuntimeError("CHATD_TEST_REQUIRE_POSTGRES=1 but CHATD_TEST_DATABASE_URL is not set")
    return dbs


@pytest.fixture(params=databases())
def db(request):
    return request.param


@pytest.fixture
def make_chatd(tmp_path, db):
    """Factory: make_chatd(env) starts a server on the parameterised database."""
    servers = []

    def make(env=None, start=True, args=("serve",)):
        server = Chatd(tmp_path, db, env, args)
        servers.append(server)
        return server.start() if start else server

    yield make
    reports = []
    for s in servers:
        s.stop()
        report = sanitizer_report(s.log())
        if report:
            reports.append(f"{s.log_path.name}:\n{report}")
    if reports:
        pytest.fail("a sanitizer reported a problem in chatd:\n" + "\n\n".join(reports), pytrace=False)


@pytest.fixture
def chatd(make_chatd):
    return make_chatd()


def parse_raw_response(data):
    """Splits the first HTTP response out of raw bytes: (status, headers dict, body bytes)."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    return status, headers, rest[:length]
