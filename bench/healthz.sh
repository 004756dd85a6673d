#!/usr/bin/env bash
# chatd GET /healthz versus nginx answering `return 200` with the same body and headers,
# one after the other in one run, same wrk connections, threads and duration, both
# writing an access log line per request. Records req/s, p50/p99 latency, CPU time per
# request and the ratios in bench/results/healthz.md.
#
#   bench/healthz.sh [DURATION=15s] [CONNECTIONS=64]
source "$(dirname "$0")/lib.sh"
duration=${1:-15s}
connections=${2:-64}
wrk_threads=2
server_threads=$(nproc)
cd "$bench_root"
[ -x build/chatd ] || { echo "build chatd first: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2; exit 1; }

work=$(mktemp -d /tmp/chatd-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# --- nginx: same body, same headers (request id, security headers), access log on.
nginx_port=$(free_port)
nginx_pid=$(start_nginx "$work/nginx" "$nginx_port" '{"status":"ok"}')
pids+=("$nginx_pid")
wait_http "http://127.0.0.1:$nginx_port/healthz"

# --- chatd: Release build, SQLite in a temp dir, JSON access log to a file.
chatd_port=$(free_port)
CHATD_ADDR="127.0.0.1:$chatd_port" CHATD_DATA_DIR="$work/data" CHATD_THREADS="$server_threads" \
  CHATD_DATABASE_URL="sqlite:$work/data/chatd.db" build/chatd serve 2>"$work/chatd.log" &
chatd_pid=$!
pids+=("$chatd_pid")
wait_http "http://127.0.0.1:$chatd_port/healthz"

measure() {  # measure NAME URL PIDS...
  local name=$1 url=$2
  shift 2
  wrk -t"$wrk_threads" -c"$connections" -d2s "$url" >/dev/null  # warm-up
  local cpu0 cpu1 line
  cpu0=$(cpu_seconds "$@")
  line=$(run_wrk "$url" "$connections" "$duration" "$wrk_threads")
  cpu1=$(cpu_seconds "$@")
  echo "$name $line $(python3 -c "print(($cpu1 - $cpu0) * 1e6 / ${line##* })")"
}

nginx_workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
n=$(measure nginx "http://127.0.0.1:$nginx_port/healthz" "$nginx_pid" $nginx_workers)
c=$(measure chatd "http://127.0.0.1:$chatd_port/healthz" "$chatd_pid")

mkdir -p bench/results
python3 - "$n" "$c" "$duration" "$connections" "$wrk_threads" "$server_threads" <<'PY' | tee bench/results/healthz.md
import datetime, platform, subprocess, sys
def parse(line):
    name, rps, p50, p99, reqs, cpu = line.split()
    return dict(name=name, rps=float(rps), p50=float(p50), p99=float(p99), reqs=int(reqs), cpu=float(cpu))
n, c = parse(sys.argv[1]), parse(sys.argv[2])
duration, conns, wrk_threads, server_threads = sys.argv[3:7]
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"# GET /healthz: chatd versus nginx `return 200`\n")
print(f"Recorded {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by `bench/healthz.sh` on {cpu_model}, "
      f"{subprocess.getoutput('nproc')} cores. wrk -t{wrk_threads} -c{conns} -d{duration} on loopback, "
      f"both servers with {server_threads} worker threads/processes and an access log line per request; "
      f"wrk runs on the same cores.\n")
print("| server | req/s | p50 ms | p99 ms | CPU µs/request |")
print("|---|---:|---:|---:|---:|")
for r in (n, c):
    print(f"| {r['name']} | {r['rps']:.0f} | {r['p50']:.3f} | {r['p99']:.3f} | {r['cpu']:.1f} |")
tput = c["rps"] / n["rps"]
p99 = c["p99"] / n["p99"] if n["p99"] else float("inf")
print(f"\nchatd/nginx throughput: **{tput:.1%}** (target >= 90%); p99 ratio: **{p99:.2f}x** (target <= 1.5x); "
      f"CPU per request ratio: {c['cpu'] / n['cpu']:.2f}x")
PY
