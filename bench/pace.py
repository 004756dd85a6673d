"""A paced load generator: GET URL at a fixed rate over one keep-alive connection for a
duration, then print "p50_ms p99_ms max_ms count errors". Used to measure the latency of
cheap requests while something else saturates the server (wrk's closed loop would add a
saturating load of its own)."""

import http.client
import statistics
import sys
import time
from urllib.parse import urlparse

url, rate, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
u = urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
interval = 1.0 / rate
latencies, errors = [], 0
start = time.perf_counter()
next_at = start
while time.perf_counter() - start < duration:
    now = time.perf_counter()
    if now < next_at:
        time.sleep(next_at - now)
    t0 = time.perf_counter()
    try:
        conn.request("GET", u.path)
        res = conn.getresponse()
        res.read()
        if res.status != 200:
            errors += 1
    except OSError:
        errors += 1
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    latencies.append((time.perf_counter() - t0) * 1000)
    next_at += interval
latencies.sort()
p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
print(f"{statistics.median(latencies):.3f} {p99:.3f} {latencies[-1]:.3f} {len(latencies)} {errors}")
