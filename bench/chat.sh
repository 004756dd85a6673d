#!/usr/bin/env bash
# The chat proxy's overhead: POST /v1/chat/completions through chatd (API-key auth, model
# lookup, quota check, upstream call over a pooled keep-alive connection, usage event
# written to the database) versus the same request sent straight to the upstream. The
# upstream is nginx answering instantly with a fixed OpenAI completion (and, for streaming,
# a fixed SSE body of 20 chunks). One run, same wrk settings for both; results in
# bench/results/chat.md. For scale, the concurrency-1 rounds also measure a second nginx
# doing nothing but proxying to the upstream over keep-alive connections: what the lightest
# proxy adds on this machine, and chatd_min_proxy (bench/min_proxy.cpp): chatd's event loop
# and coroutines passing bodies on and nothing else, which separates what chatd's
# architecture adds from what its work per request adds.
#
# Throughput at concurrency 64 is compared with a bare nginx reverse proxy (as many workers as
# chatd has network threads, keep-alive to the upstream) in the same run; so is the latency a
# proxy adds at concurrency 1. With BASELINE_CHATD=path/to/an/older/chatd, that build runs
# beside this one (same upstream, same settings) for a before/after comparison in one run.
#
#   bench/chat.sh [DURATION=10s]
#   BASELINE_CHATD=/path/to/old/chatd bench/chat.sh [DURATION]
#   PERF_OUT=/tmp/chatd.perf bench/chat.sh [DURATION]   # also perf record -g chatd at c=64
source "$(dirname "$0")/lib.sh"
duration=${1:-10s}
cd "$bench_root"
[ -x build/chatd ] && [ -x build/chatd_serial_load ] && [ -x build/chatd_min_proxy ] || { echo "build chatd first (Release)" >&2; exit 1; }

work=$(mktemp -d /tmp/chatd-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

completion='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}'
sse=""
for i in $(seq 1 20); do
  sse+="data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word$i \"},\"finish_reason\":null}]}\n\n"
done
sse+="data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":20,\"total_tokens\":29}}\n\ndata: [DONE]\n\n"

# start_nginx DIR < BLOCKS: runs an nginx with one worker, the http-level BLOCKS (upstreams,
# servers) read from stdin, and its files in DIR; sets last_nginx_pid.
start_nginx() {
  local dir=$1 workers=${2:-1}
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 1000000;
$(cat)
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
  pids+=($!)
  last_nginx_pid=$!
}

nginx_port=$(free_port)
mkdir -p "$work/nginx"
printf '%s' "$completion" > "$work/nginx/completion.json"
printf "$sse" > "$work/nginx/stream.sse"
start_nginx "$work/nginx" <<CONF
  server {
    listen 127.0.0.1:$nginx_port;
    # nginx serves files to GET only; answer POSTs with the file through the 405 handler.
    error_page 405 =200 \$uri.body;
    location = /plain/v1/chat/completions { default_type application/json; alias $work/nginx/completion.json; }
    location = /plain/v1/chat/completions.body { default_type application/json; alias $work/nginx/completion.json; }
    location = /sse/v1/chat/completions { default_type text/event-stream; alias $work/nginx/stream.sse; }
    location = /sse/v1/chat/completions.body { default_type text/event-stream; alias $work/nginx/stream.sse; }
  }
CONF
nginx_pid=$last_nginx_pid

# The lightest proxy, for scale: nginx passing requests to the upstream over keep-alive, with
# as many workers as chatd has network threads (CHATD_THREADS defaults to the cores).
threads=$(nproc)
proxy_port=$(free_port)
start_nginx "$work/proxy" "$threads" <<CONF
  upstream upstream { server 127.0.0.1:$nginx_port; keepalive 64; }
  server {
    listen 127.0.0.1:$proxy_port;
    location / { proxy_pass http://upstream; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
CONF
proxy_pid=$last_nginx_pid

cat > "$work/providers.json" <<JSON
{"providers": [
  {"name": "plain", "type": "openai", "base_url": "http://127.0.0.1:$nginx_port/plain/v1", "api_key": "x", "models": ["bench"]},
  {"name": "sse", "type": "openai", "base_url": "http://127.0.0.1:$nginx_port/sse/v1", "api_key": "x", "models": ["bench-sse"]}
]}
JSON
start_chatd() {  # start_chatd BINARY NAME: sets last_chatd_pid and last_chatd_port
  last_chatd_port=$(free_port)
  CHATD_ADDR="127.0.0.1:$last_chatd_port" CHATD_DATA_DIR="$work/data-$2" CHATD_DATABASE_URL="sqlite:$work/data-$2/chatd.db" \
    CHATD_PROVIDERS_FILE="$work/providers.json" CHATD_REQUIRE_EMAIL_VERIFICATION=false CHATD_LOG_LEVEL=warn \
    CHATD_THREADS="$threads" \
    CHATD_RATE_LIMITS="message=100000000/60s,global=100000000/60s,register=1000/60s,login=1000/60s" \
    "$1" serve 2>"$work/chatd-$2.log" &
  last_chatd_pid=$!
  pids+=("$last_chatd_pid")
  wait_http "http://127.0.0.1:$last_chatd_port/healthz"
}
start_chatd build/chatd current
chatd_pid=$last_chatd_pid
base="http://127.0.0.1:$last_chatd_port"
key=$(new_api_key "$base")
baseline_pid=""
if [ -n "${BASELINE_CHATD:-}" ]; then
  start_chatd "$BASELINE_CHATD" baseline
  baseline_pid=$last_chatd_pid
  baseline_base="http://127.0.0.1:$last_chatd_port"
  baseline_key=$(new_api_key "$baseline_base")
fi

script() {  # script FILE MODEL STREAM [KEY] [EXTRA MEMBERS]
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${4:-$key}"
wrk.body = '{"model":"$2","stream":$3,"messages":[{"role":"user","content":"Hello there"}]${5:-}}'
LUA
}
script "$work/plain.lua" bench false
script "$work/sse.lua" bench-sse true
# The same request with two tool definitions (what an agent sends), to see what reading and
# passing them on costs.
tools=',"tools":[{"type":"function","function":{"name":"get_weather","description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}],"tool_choice":"auto"'
script "$work/tools.lua" bench false "$key" "$tools"
[ -z "$baseline_pid" ] || script "$work/baseline.lua" bench false "$baseline_key"

measure() {  # measure NAME URL SCRIPT CONNECTIONS PIDS...
  local name=$1 url=$2 lua=$3 conns=$4
  shift 4
  wrk -t1 -c"$conns" -d2s -s "$lua" "$url" >/dev/null  # warm-up
  local cpu0 cpu1 out line perf_pid=""
  if [ -n "${PERF_OUT:-}" ] && [ "$name" = chatd ] && [ "$conns" = 64 ]; then
    # Where chatd's CPU goes under load: perf record -g on its process for this row.
    perf record -g -F 1999 -p "$1" -o "$PERF_OUT" 2>/dev/null &
    perf_pid=$!
  fi
  cpu0=$(cpu_seconds "$@")
  out=$(wrk -t1 -c"$conns" -d"$duration" --latency -s "$lua" "$url")
  cpu1=$(cpu_seconds "$@")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  echo "$out" >&2
  line=$(python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def us(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v if unit == "us" else v * 1000 if unit == "ms" else v * 1e6
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
reqs = int(re.search(r"(\d+) requests in", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if bad: sys.exit("non-2xx responses: " + bad.group(1))
print(f"{rps:.0f} {us('50%'):.0f} {us('99%'):.0f} {reqs}")
PY
)
  echo "$name $conns $line $(python3 -c "print(round(($cpu1 - $cpu0) * 1e6 / ${line##* }, 1))")"
}

family() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }  # family PID: it and its children (nginx's workers)
rows=()
nginx_all=$(family "$nginx_pid")
proxy_all=$(family "$proxy_pid")
# chatd's architecture without its work (bench/min_proxy.cpp): one Asio thread passing bodies on.
min_port=$(free_port)
build/chatd_min_proxy "$min_port" "$nginx_port" /plain/v1/chat/completions 2>"$work/min_proxy.log" &
min_pid=$!
pids+=("$min_pid")
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$min_port") 2>/dev/null && break; sleep 0.05; done
wait_http "http://127.0.0.1:$proxy_port/plain/v1/chat/completions.body"
for c in 1 64; do
  rows+=("$(measure direct "http://127.0.0.1:$nginx_port/plain/v1/chat/completions" "$work/plain.lua" $c $nginx_all)")
  rows+=("$(measure nginx-proxy "http://127.0.0.1:$proxy_port/plain/v1/chat/completions" "$work/plain.lua" $c $proxy_all)")
  rows+=("$(measure chatd "$base/v1/chat/completions" "$work/plain.lua" $c "$chatd_pid")")
  [ -z "$baseline_pid" ] || rows+=("$(measure chatd-baseline "$baseline_base/v1/chat/completions" "$work/baseline.lua" $c "$baseline_pid")")
done
rows+=("$(measure chatd-tools "$base/v1/chat/completions" "$work/tools.lua" 64 "$chatd_pid")")
# Throughput at concurrency 64 swings by 10% from one run to the next on a shared VM, the bare
# proxy's as much as chatd's: alternate short runs of the two and compare them round by round.
throughput_rounds=()
min_rounds=()
for r in $(seq 1 "${THROUGHPUT_ROUNDS:-5}"); do
  throughput_rounds+=("$(measure nginx-proxy "http://127.0.0.1:$proxy_port/plain/v1/chat/completions" "$work/plain.lua" 64 $proxy_all 2>/dev/null)")
  throughput_rounds+=("$(measure chatd "$base/v1/chat/completions" "$work/plain.lua" 64 "$chatd_pid" 2>/dev/null)")
done
# A p99 at concurrency 1 swings from run to run on a shared VM (the direct path's alone from
# 0.2 to 1.2 ms), so one pair of runs says little about the difference: alternate short runs
# of the paths and compare them round by round, and over all the rounds' requests pooled.
rounds=()
# The rounds use chatd_serial_load (bench/serial_load.cpp), a blocking one-request-at-a-time
# client, not wrk: at concurrency 1, wrk's own jitter is most of the tail it reports.
printf '%s' '{"model":"bench","stream":false,"messages":[{"role":"user","content":"Hello there"}]}' > "$work/body.json"
round_seconds=5
serial_round() {  # serial_round NAME HIST URL TOKEN PIDS...: one round, one request at a time
  local name=$1 hist=$2 url=$3 token=$4
  shift 4
  local cpu0 cpu1 out
  cpu0=$(cpu_seconds "$@")
  out=$(build/chatd_serial_load "$round_seconds" "$work/body.json" "$hist" "$url" $token)
  cpu1=$(cpu_seconds "$@")
  set -- $out  # requests p50 p99
  echo "$name 1 $(($1 / round_seconds)) $2 $3 $1 $(python3 -c "print(round(($cpu1 - $cpu0) * 1e6 / $1, 1))")"
}
for r in 1 2 3 4 5; do
  rounds+=("$(serial_round direct "$work/hist-direct.txt" "http://127.0.0.1:$nginx_port/plain/v1/chat/completions" "" $nginx_all)")
  rounds+=("$(serial_round nginx-proxy "$work/hist-proxy.txt" "http://127.0.0.1:$proxy_port/plain/v1/chat/completions" "" $proxy_all)")
  rounds+=("$(serial_round chatd "$work/hist-chatd.txt" "$base/v1/chat/completions" "$key" "$chatd_pid")")
  min_rounds+=("$(serial_round asio-min "$work/hist-min.txt" "http://127.0.0.1:$min_port/" "" "$min_pid")")
done
rows+=("$(measure direct-stream "http://127.0.0.1:$nginx_port/sse/v1/chat/completions" "$work/sse.lua" 1 $nginx_all)")
rows+=("$(measure chatd-stream "$base/v1/chat/completions" "$work/sse.lua" 1 "$chatd_pid")")
# Time to first delta and to the end of a streamed answer, one request at a time.
stream_body='{"model":"bench-sse","stream":true,"messages":[{"role":"user","content":"Hello there"}]}'
ttfd_direct=$(python3 bench/sse_latency.py "http://127.0.0.1:$nginx_port/sse/v1/chat/completions" x "$stream_body" 3000)
ttfd_chatd=$(python3 bench/sse_latency.py "$base/v1/chat/completions" "$key" "$stream_body" 3000)
events=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/data-current/chatd.db').execute('select count(*) from usage_events').fetchone()[0])")

mkdir -p bench/results
MIN_ROUNDS="${min_rounds[*]}" python3 - "$duration" "$events" "$ttfd_direct" "$ttfd_chatd" "${rounds[*]}" "$work" "${throughput_rounds[*]}" "${rows[@]}" <<'PY' | tee bench/results/chat.md
import collections, datetime, json, os, statistics, sys
duration, events = sys.argv[1], int(sys.argv[2])
LADDER = (50, 75, 90, 95, 97, 99)
def pooled(path):  # {percentile: µs} and count of every request of every round of one path
    hist = collections.Counter()
    for line in open(path):
        value, count = line.split()
        hist[float(value)] += int(count)
    total, seen, out = sum(hist.values()), 0, {}
    for value in sorted(hist):
        seen += hist[value]
        for q in LADDER:
            if q not in out and seen >= total * q / 100:
                out[q] = value
    return out, total
(pool_d, n_d), (pool_p, n_p), (pool_c, n_c), (pool_m, n_m) = (
    pooled(f"{sys.argv[6]}/hist-{n}.txt") for n in ("direct", "proxy", "chatd", "min"))
min_fields = os.environ["MIN_ROUNDS"].split()
min_rounds = [min_fields[i:i + 7] for i in range(0, len(min_fields), 7)]
td, tc = json.loads(sys.argv[3]), json.loads(sys.argv[4])
round_fields = sys.argv[5].split()
rounds = [round_fields[i:i + 7] for i in range(0, len(round_fields), 7)]
def figures(r): return dict(p50=float(r[3]), p99=float(r[4]), cpu=float(r[6]))
triples = [tuple(figures(r) for r in rounds[i:i + 3]) for i in range(0, len(rounds), 3)]  # direct, proxy, chatd
pairs = [(d, c) for d, _, c in triples]
rows = {}
tfields = sys.argv[7].split()
throughput = [tfields[i:i + 7] for i in range(0, len(tfields), 7)]  # name conns rps p50 p99 reqs cpu
tpairs = [(throughput[i], throughput[i + 1]) for i in range(0, len(throughput), 2)]  # (nginx-proxy, chatd)
for line in sys.argv[8:]:
    name, conns, rps, p50, p99, reqs, cpu = line.split()
    rows[(name, int(conns))] = dict(rps=float(rps), p50=float(p50), p99=float(p99), reqs=int(reqs), cpu=float(cpu))
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("# POST /v1/chat/completions through chatd versus straight to the upstream\n")
print(f"{datetime.date.today()}, {cpu_model}, 2 cores shared by wrk, nginx and chatd; wrk -t1, {duration} per row;")
print("upstream: nginx answering instantly with a fixed completion (or a fixed 20-chunk SSE body);")
print("chatd: Release build, SQLite, API-key auth, usage event written per request.\n")
print("| path | connections | req/s | p50 µs | p99 µs | CPU µs/request (that process) |")
print("|---|---|---|---|---|---|")
for (name, c), r in rows.items():
    print(f"| {name} | {c} | {r['rps']:.0f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['cpu']} |")
d1, c1 = rows[("direct", 1)], rows[("chatd", 1)]
p64, c64 = rows[("nginx-proxy", 64)], rows[("chatd", 64)]
print()
print(f"- one run each (the table): chatd {c64['rps']:.0f} req/s, the nginx proxy {p64['rps']:.0f}: "
      f"{100 * c64['rps'] / p64['rps']:.0f}%; CPU per request chatd {c64['cpu']} µs, nginx proxy {p64['cpu']} µs")
t64 = rows[("chatd-tools", 64)]
print(f"- with two tool definitions in each request: {t64['rps']:.0f} req/s, {t64['cpu']} µs per request")
if ("chatd-baseline", 64) in rows:
    b1, b64 = rows[("chatd-baseline", 1)], rows[("chatd-baseline", 64)]
    print(f"- the baseline build, same run: {b64['rps']:.0f} req/s and {b64['cpu']} µs per request at c=64 "
          f"(this build {c64['rps']:.0f} and {c64['cpu']}); p50 {b1['p50']:.0f} µs at c=1 (this build {c1['p50']:.0f})")
ds, cs = rows[("direct-stream", 1)], rows[("chatd-stream", 1)]
print()
print(f"- added latency at concurrency 1, as wrk reports it (one run each): p50 {c1['p50'] - d1['p50']:.0f} µs, "
      f"p99 {c1['p99'] - d1['p99']:.0f} µs; wrk's own jitter is most of its p99 here, so the comparison with "
      "the bare proxy is read from the rounds below")
print(f"- chatd CPU per proxied completion (auth, upstream call, usage write): {c1['cpu']} µs at c=1, {rows[('chatd', 64)]['cpu']} µs at c=64")
print(f"- streaming, whole 20-chunk answer at c=1 (wrk): added p50 {cs['p50'] - ds['p50']:.0f} µs, i.e. ≈ {(cs['p50'] - ds['p50']) / 20:.0f} µs per chunk")
print()
print(f"Throughput at concurrency 64 again, {len(tpairs)} rounds of {duration} per path, alternating "
      "(wrk -t1 -c64; the bare proxy has as many nginx workers as chatd has network threads):\n")
print("| round | nginx-proxy req/s | chatd req/s | chatd / nginx-proxy | CPU µs/request nginx-proxy | CPU µs/request chatd |")
print("|---|---|---|---|---|---|")
ratios = []
for i, (p, c) in enumerate(tpairs, 1):
    ratios.append(float(c[2]) / float(p[2]))
    print(f"| {i} | {float(p[2]):.0f} | {float(c[2]):.0f} | {100 * ratios[-1]:.0f}% | {p[6]} | {c[6]} |")
print()
print(f"- **throughput at concurrency 64, median over the rounds: chatd {statistics.median(float(c[2]) for _, c in tpairs):.0f} req/s, "
      f"the nginx proxy {statistics.median(float(p[2]) for p, _ in tpairs):.0f}; chatd / proxy per round, median: "
      f"{100 * statistics.median(ratios):.0f}%** (lowest {100 * min(ratios):.0f}%, highest {100 * max(ratios):.0f}%; target ≥ 70%); "
      f"CPU per request, median: chatd {statistics.median(float(c[6]) for _, c in tpairs)} µs, "
      f"nginx proxy {statistics.median(float(p[6]) for p, _ in tpairs)} µs")
print()
print(f"Concurrency 1 again, {len(pairs)} rounds of 5 s per path, alternating (µs), sent by chatd_serial_load "
      "(one blocking request after another; wrk's own jitter is most of the tail it reports at concurrency 1); "
      "nginx-proxy is a second nginx proxying to the upstream over keep-alive connections, nothing else:\n")
print("| round | direct p50 | nginx-proxy p50 | chatd p50 | direct p99 | nginx-proxy p99 | chatd p99 | added p99 (chatd) |")
print("|---|---|---|---|---|---|---|---|")
for i, (d, p, c) in enumerate(triples, 1):
    print(f"| {i} | {d['p50']:.0f} | {p['p50']:.0f} | {c['p50']:.0f} | {d['p99']:.0f} | {p['p99']:.0f} | {c['p99']:.0f} | "
          f"{c['p99'] - d['p99']:.0f} |")
med = statistics.median
print()
print(f"- median over the rounds: added p50 {med(c['p50'] - d['p50'] for d, c in pairs):.0f} µs, "
      f"added p99 {med(c['p99'] - d['p99'] for d, c in pairs):.0f} µs; "
      f"p99 direct {med(d['p99'] for d, _ in pairs):.0f}, chatd {med(c['p99'] for _, c in pairs):.0f}")
print(f"- CPU per request in these rounds (median of the rounds): nginx-proxy {med(p['cpu'] for _, p, _ in triples):.1f} µs, "
      f"chatd {med(c['cpu'] for _, _, c in triples):.1f} µs")
print()
print(f"All the rounds of each path pooled ({n_d}, {n_p}, {n_c} and {n_m} requests), µs; asio-min is "
      "chatd_min_proxy (bench/min_proxy.cpp), chatd's event loop and coroutines passing bodies on and doing "
      "nothing else, run in the same rounds:\n")
print("| path | " + " | ".join(f"p{q}" for q in LADDER) + " |")
print("|---|" + "---|" * len(LADDER))
for name, pool in (("direct", pool_d), ("nginx-proxy", pool_p), ("asio-min", pool_m), ("chatd", pool_c)):
    print(f"| {name} | " + " | ".join(f"{pool[q]:.0f}" for q in LADDER) + " |")
for name, pool in (("added by nginx-proxy", pool_p), ("added by asio-min", pool_m), ("added by chatd", pool_c)):
    print(f"| {name} | " + " | ".join(f"{pool[q] - pool_d[q]:.0f}" for q in LADDER) + " |")
print()
print(f"- CPU per request of asio-min in these rounds (median): {med(float(r[6]) for r in min_rounds):.1f} µs")
for q in (50, 99):
    print(f"- p{q}: chatd adds {pool_c[q] - pool_m[q]:.0f} µs to what asio-min adds ({pool_m[q] - pool_d[q]:.0f} µs; "
          f"the nginx proxy {pool_p[q] - pool_d[q]:.0f})")
print()
print(f"- added p99, pooled: chatd {pool_c[99] - pool_d[99]:.0f} µs; "
      f"nginx-proxy {pool_p[99] - pool_d[99]:.0f} µs")
for q in (50, 99):
    added_c, added_p = pool_c[q] - pool_d[q], pool_p[q] - pool_d[q]
    ratio = added_c / added_p if added_p > 0 else float("inf")
    print(f"- **p{q} added by chatd / by the nginx proxy: {added_c:.0f} / {added_p:.0f} µs = {ratio:.1f}x** (target ≤ 1.5x)")
print()
print(f"Streaming, {td['requests']} requests one at a time (bench/sse_latency.py, µs from sending the request):\n")
print("| path | first delta p50 | first delta p99 | whole answer p50 | whole answer p99 |")
print("|---|---|---|---|---|")
for name, t in (("direct", td), ("chatd", tc)):
    print(f"| {name} | {t['first_p50']} | {t['first_p99']} | {t['end_p50']} | {t['end_p99']} |")
print()
print(f"- added time to first delta: p50 {tc['first_p50'] - td['first_p50']:.0f} µs, p99 {tc['first_p99'] - td['first_p99']:.0f} µs")
print(f"- **added time per further delta (19 after the first, p50): {((tc['end_p50'] - tc['first_p50']) - (td['end_p50'] - td['first_p50'])) / 19:.1f} µs** (target ≤ 3 µs)")
print(f"- usage events written during the run: {events}")
PY
