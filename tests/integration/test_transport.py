"""Transport hardening: slow clients, request smuggling, graceful shutdown."""

import json
import os
import re
import signal
import socket
import sqlite3
import threading
import time

import pytest

from conftest import Chatd, parse_raw_response, wait_for


def test_slowloris_does_not_block_others_and_is_cut_off(make_chatd):
    server = make_chatd({"CHATD_HTTP_HEADER_TIMEOUT_MS": "1500", "CHATD_THREADS": "1"})
    slow = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the head never completes
        slow.append(s)
    # Other clients are served at once while the slow ones hang on one network thread.
    for _ in range(10):
        assert server.request("GET", "/healthz", timeout=2).status == 200
    # Dribbling bytes does not extend the deadline: the whole head must arrive in time.
    start = time.monotonic()
    closed = []
    for s in slow:
        s.settimeout(0.2)

    def all_closed():
        for s in slow:
            if s in closed:
                continue
            try:
                s.sendall(b"X-Drip: 1\r\n")
                data = s.recv(4096)
                if data == b"":
                    closed.append(s)
            except socket.timeout:
                pass
            except OSError:
                closed.append(s)
        return len(closed) == len(slow)

    wait_for(all_closed, 10, "the server to close slow connections")
    elapsed = time.monotonic() - start
    assert elapsed < 8, elapsed
    for s in slow:
        s.close()
    assert server.request("GET", "/healthz").status == 200


def _voluntary_switches(pid):
    """Context switches each of chatd's threads has made by sleeping, by thread id, and the
    threads found asleep in nanosleep: chatd's own threads wait on epoll or futexes, and a
    sanitizer runtime's helper thread (ThreadSanitizer's) sleeps and wakes on its own."""
    counts, napping = {}, set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/wchan") as f:
                wchan = f.read()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read()
        except OSError:
            continue  # the thread ended meanwhile
        if "nanosleep" in wchan:
            napping.add(tid)
        counts[tid] = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    return counts, napping


def test_an_idle_server_wakes_no_cpu(make_chatd):
    """With no connection open and nothing to do, no thread of chatd wakes up: no timer ticks
    for nothing (the log writer and the network threads' sweepers used to wake 10 to 50 times
    a second each), which on a laptop or a small VM is power and a vCPU woken through the
    hypervisor."""
    server = make_chatd({"CHATD_THREADS": "2"})
    for _ in range(4):  # connections on both network threads, lines for the log writer
        assert server.request("GET", "/healthz").status == 200
    time.sleep(0.5)  # the connections' ends are noticed, the log lines written
    before, napping = _voluntary_switches(server.proc.pid)
    assert len(before) >= 6, before  # the network threads, the pools, the log writer
    time.sleep(1.5)
    after, napping_after = _voluntary_switches(server.proc.pid)
    napping |= napping_after  # seen asleep in nanosleep once: not one of chatd's threads
    woken = {tid: after[tid] - before[tid] for tid in before
             if tid in after and tid not in napping and after[tid] != before[tid]}
    # A periodic job (every 30 s) may fall in the window; a ticking timer would show 15 or more.
    assert sum(woken.values()) <= 3, woken


def test_idle_keep_alive_connection_is_closed(make_chatd):
    server = make_chatd({"CHATD_HTTP_IDLE_TIMEOUT_MS": "500"})
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b'{"status":"ok"}' not in data:
        data += s.recv(4096)
    s.settimeout(5)
    assert s.recv(4096) == b""  # closed by the server after the idle timeout
    s.close()


SMUGGLING = [
    ("content-length and chunked",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("chunked then content-length",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
     b"0\r\n\r\n"),
    ("gzip transfer-encoding then content-length",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd"),
    ("duplicate content-length, same value",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd"),
    ("duplicate content-length, different values",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd"),
    ("content-length list",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd"),
    ("negative content-length",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
    ("non-numeric content-length",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4x\r\n\r\nabcd"),
    ("transfer-encoding not ending in chunked",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
    ("obfuscated transfer-encoding",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
    ("transfer-encoding in HTTP/1.0",
     b"POST /healthz HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("bad chunk size",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
    ("space before colon",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\nabcd"),
    ("bare LF line endings mixed",
     b"GET /healthz HTTP/1.1\nHost: x\r\n\r\n"),
    ("a coding before chunked",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("no Host in HTTP/1.1",
     b"GET /healthz HTTP/1.1\r\n\r\n"),
    ("two Hosts",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
    ("two Authorizations",
     b"GET /auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"),
    ("obsolete line folding",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("two Content-Types",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n"
     b"Content-Length: 2\r\n\r\n{}"),
]


@pytest.mark.parametrize("name,payload", SMUGGLING, ids=[s[0] for s in SMUGGLING])
def test_smuggling_attempt_is_400_and_connection_closed(chatd, name, payload):
    raw = chatd.raw(payload)
    status, headers, body = parse_raw_response(raw)
    assert status == 400, (name, raw[:200])
    assert headers["content-type"] == "application/problem+json"
    assert headers.get("connection", "").lower() == "close"
    # Exactly one response: nothing smuggled behind the first request was answered.
    assert raw.count(b"HTTP/1.1 ") == 1, raw
    assert chatd.request("GET", "/healthz").status == 200


@pytest.mark.parametrize("fold", [b" ", b"\t"], ids=["space", "tab"])
def test_folded_header_line_is_400_and_connection_closed(chatd, fold):
    # RFC 9112 section 5.2: Beast would join the lines; a proxy in front may read them otherwise.
    raw = chatd.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n" + fold + b"b\r\n\r\n")
    status, headers, body = parse_raw_response(raw)
    assert status == 400, raw[:200]
    assert json.loads(body)["code"] == "invalid_json"  # API.md's code for a request that cannot be read
    assert headers.get("connection", "").lower() == "close"


CHUNKED_HEAD = (b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")


@pytest.mark.parametrize("body", [b"zz", b"2\n{}\n0\n\n", b"2\r\n{}\r\n-1"], ids=["not hex", "bare LF", "second chunk"])
@pytest.mark.parametrize("half_close", [False, True], ids=["client waits", "client half-closes"])
def test_malformed_chunk_size_is_answered_400_before_close(make_chatd, body, half_close):
    # The size line never ends (or ends with a bare LF): the answer must not wait for a CRLF.
    server = make_chatd({"CHATD_HTTP_BODY_TIMEOUT_MS": "30000"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(CHUNKED_HEAD + body)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        raw = b""
        while True:
            chunk = s.recv(65536)  # a socket.timeout here: no answer within 5 s
            if not chunk:
                break
            raw += chunk
    status, headers, payload = parse_raw_response(raw)
    assert status == 400, raw[:200]
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(payload)["code"] == "invalid_json"
    assert headers.get("connection", "").lower() == "close"


def test_compressed_request_body_is_415(chatd):
    body = b'{"login":"a","password":"b"}'
    raw = chatd.raw(b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Encoding: gzip\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    status, headers, payload = parse_raw_response(raw)
    assert status == 415, raw[:300]
    assert json.loads(payload)["code"] == "unsupported_media_type"
    # "identity" is no coding at all.
    raw = chatd.raw(b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Encoding: identity\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert parse_raw_response(raw)[0] == 401


def test_http10_without_host_is_served(chatd):
    status, _, _ = parse_raw_response(chatd.raw(b"GET /healthz HTTP/1.0\r\n\r\n"))
    assert status == 200


def test_garbage_request_line_is_400(chatd):
    status, _, body = parse_raw_response(chatd.raw(b"HELLO\r\n\r\n"))
    assert status == 400
    assert chatd.request("GET", "/healthz").status == 200


def test_sigterm_finishes_in_flight_request_and_exits_0(make_chatd):
    server = make_chatd({"CHATD_SHUTDOWN_GRACE_MS": "10000"})
    # An idle keep-alive connection must not hold the shutdown up.
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = b""
    while b'{"status":"ok"}' not in first:
        first += idle.recv(4096)
    # A request in flight: its head and half of its body are in, the rest comes later. A
    # first request on the same connection proves the server has accepted it.
    busy = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    busy.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = b""
    while b'{"status":"ok"}' not in first:
        first += busy.recv(4096)
    busy.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 10\r\n\r\n{\"a\":")
    # Bytes already delivered to the server's socket make the connection busy, not idle.
    server.signal(signal.SIGTERM)
    wait_for(lambda: "server.draining" in server.log(), 5, "the server to start draining")
    # The idle connection is closed after the drain's idle grace (2 s).
    idle.settimeout(5)
    assert idle.recv(4096) == b""
    # New connections are refused while draining.
    wait_for(lambda: _refused(server.port), 5, "the listener to close")
    busy.sendall(b"12345")
    busy.settimeout(5)
    raw = b""
    while True:
        chunk = busy.recv(4096)
        if not chunk:
            break
        raw += chunk
    status, headers, _ = parse_raw_response(raw)
    assert status == 405  # POST /healthz: answered, not dropped
    assert headers["connection"].lower() == "close"
    assert server.wait(timeout=15) == 0
    assert "server.stopped" in server.log()


def test_a_request_on_an_idle_connection_while_draining_is_answered_then_closed(make_chatd):
    # A load balancer may send its next request on a kept-alive connection just as the
    # drain begins: it is answered (with Connection: close), never dropped.
    server = make_chatd({"CHATD_SHUTDOWN_GRACE_MS": "10000"})
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = b""
    while b'{"status":"ok"}' not in first:
        first += conn.recv(4096)
    server.signal(signal.SIGTERM)
    wait_for(lambda: "server.draining" in server.log(), 5, "the server to start draining")
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    raw = b""
    conn.settimeout(5)
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            break
        raw += chunk
    status, headers, _ = parse_raw_response(raw)
    assert status == 200
    assert headers["connection"].lower() == "close"
    assert server.wait(timeout=15) == 0


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def test_sigint_with_nothing_in_flight_exits_0_quickly(chatd):
    chatd.signal(signal.SIGINT)
    assert chatd.wait(timeout=5) == 0


def test_many_concurrent_clients(chatd):
    errors = []

    def worker():
        try:
            for _ in range(20):
                assert chatd.request("GET", "/healthz").status == 200
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_client_stuck_mid_body_past_the_drain_deadline_exits_1_cleanly(make_chatd):
    server = make_chatd({"CHATD_SHUTDOWN_GRACE_MS": "300", "CHATD_HTTP_BODY_TIMEOUT_MS": "60000"})
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    conn.sendall(b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"log")  # 5 of 100 body bytes, then nothing
    server.signal(signal.SIGTERM)
    # The session still suspended at the deadline is destroyed with its network thread:
    # chatd says so and exits 1, instead of crashing on the way out.
    assert server.wait(timeout=30) == 1, server.log()
    assert "server.drain_timeout" in server.log()
    conn.close()


def test_request_stuck_in_the_database_past_the_drain_deadline_exits_1_cleanly(tmp_path):
    server = Chatd(tmp_path, "sqlite", {"CHATD_SHUTDOWN_GRACE_MS": "500"}).start()
    outside = sqlite3.connect(server.env["CHATD_DATABASE_URL"][len("sqlite:"):], timeout=10, isolation_level=None)
    try:
        outside.execute("BEGIN IMMEDIATE")  # chatd's writes wait (busy timeout 5 s)
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b'{"status":"ok"}' not in first:
            first += conn.recv(4096)
        body = json.dumps({"email": "late@example.com", "username": "late",
                           "password": "correct horse battery staple"}).encode()
        conn.sendall(b"POST /auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        server.signal(signal.SIGTERM)
        wait_for(lambda: "server.drain_timeout" in server.log(), 15, "the drain deadline to pass")
    finally:
        outside.execute("ROLLBACK")
        outside.close()
    try:
        # The pool's job finishes once the lock is gone, while what it uses still exists.
        assert server.wait(timeout=30) == 1, server.log()
    finally:
        server.stop()
    conn.close()
