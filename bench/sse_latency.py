#!/usr/bin/env python3
"""Time to first delta and to the end of a streamed chat completion, one request at a time.

    sse_latency.py URL TOKEN BODY REQUESTS

Sends REQUESTS streaming POSTs to URL one after another over one keep-alive connection and
prints one JSON line: p50/p99 (µs) of the time from sending the request to receiving the
first data line with non-empty delta content, and to receiving the whole response. The
same client measures the upstream directly and through chatd, so its own overhead cancels
out in the difference. Speaks just enough HTTP/1.1 for this: Content-Length or chunked.
"""
import json
import re
import socket
import statistics
import sys
import time
from urllib.parse import urlsplit

FIRST_CONTENT = re.compile(rb'"content":\s*"[^"]')


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n, seen):
        while len(self.buf) < n:
            before = len(self.buf)
            self.fill()
            seen(self.buf[before:])
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def one(conn, request, path):
    """Returns (µs to first content, µs to the end)."""
    first = None
    t0 = time.perf_counter_ns()

    def seen(data):
        nonlocal first
        if first is None and FIRST_CONTENT.search(data):
            first = time.perf_counter_ns()

    conn.sock.sendall(request)
    status = conn.line()
    if b" 200 " not in status + b" ":
        raise RuntimeError(f"{path}: {status!r}")
    headers = {}
    while True:
        line = conn.line()
        if not line:
            break
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    seen(conn.buf)
    if headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int(conn.line().split(b";")[0], 16)
            if size == 0:
                conn.line()
                break
            conn.exactly(size + 2, seen)
    else:
        conn.exactly(int(headers[b"content-length"]), seen)
    end = time.perf_counter_ns()
    if first is None:
        raise RuntimeError(f"{path}: no delta with content")
    return (first - t0) / 1000, (end - t0) / 1000


def main():
    url, token, body, requests = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
    u = urlsplit(url)
    request = (f"POST {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    conn = Conn(u.hostname, u.port)
    for _ in range(min(200, requests)):  # warm-up
        one(conn, request, u.path)
    firsts, ends = [], []
    for _ in range(requests):
        f, e = one(conn, request, u.path)
        firsts.append(f)
        ends.append(e)

    def pct(xs, p):
        return round(statistics.quantiles(xs, n=100, method="inclusive")[p - 1], 1)

    print(json.dumps({"requests": requests, "first_p50": pct(firsts, 50), "first_p99": pct(firsts, 99),
                      "end_p50": pct(ends, 50), "end_p99": pct(ends, 99)}))


if __name__ == "__main__":
    main()
