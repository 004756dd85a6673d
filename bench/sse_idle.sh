#!/usr/bin/env bash
# chatd's memory while it holds many concurrent idle SSE streams (target: 10,000 streams held in
# at most 200 MiB RSS). Each stream is POST /v1/chat/completions with stream: true through an API
# key; the upstream is tests/upstream/fake_llm.py, whose "#stall" directive sends the head and 2
# deltas and then stays silent until the connection is closed. bench/sse_idle.py opens the streams
# (at most 200 connecting at once), waits until every one has its first content delta, lets
# things settle for 3 s and reads VmRSS / VmHWM of chatd from /proc. A fresh chatd per N; its RSS
# after a warm-up of 20 streams (opened and closed) is the base. Results in
# bench/results/sse_idle.md (or $SSE_IDLE_RESULTS).
#
#   bench/sse_idle.sh [N...]        default: 2000 and 10000 (or as many as the open-files
#                                   limit allows, 9980 under a limit of 20000)
#
# SSE_IDLE_ROUNDS=R (default 1) repeats the open/hold/close cycle R times in the same chatd and
# adds the RSS of every cycle to the results: what the process keeps after churn.
# CHATD_BIN picks the binary (default build/chatd, Release). Any other environment variable
# (e.g. MALLOC_ARENA_MAX, CHATD_THREADS) reaches chatd as it is. chatd needs 2 sockets per stream
# (client and upstream side), so N is limited by the open-files hard limit (ulimit -Hn): the
# script raises its soft limit to the hard one and refuses an N that does not fit.
source "$(dirname "$0")/lib.sh"
cd "$bench_root"
chatd_bin=${CHATD_BIN:-build/chatd}
unset CHATD_BIN  # chatd refuses to start on a CHATD_* variable it does not know
results=${SSE_IDLE_RESULTS:-bench/results/sse_idle.md}
[ -x "$chatd_bin" ] || { echo "build chatd first (Release), or set CHATD_BIN" >&2; exit 1; }
rounds=${SSE_IDLE_ROUNDS:-1}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "SSE_IDLE_ROUNDS must be a positive integer" >&2; exit 1; }

hard_nofile=$(ulimit -Hn)
[ "$hard_nofile" = unlimited ] || ulimit -n "$hard_nofile"
nofile=$(ulimit -n)
most=10000
if [ "$nofile" != unlimited ] && [ $(((nofile - 32) / 2)) -lt $most ]; then most=$(((nofile - 32) / 2)); fi
if [ $# -gt 0 ]; then ns=("$@"); else ns=(2000 "$most"); fi
for n in "${ns[@]}"; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || { echo "N must be a positive integer: $n" >&2; exit 1; }
  # 2 sockets per stream plus chatd's own files (database, listener, epoll and event fds of
  # its threads, ...): 28 at the last count, so 32 leaves a little room.
  if [ "$nofile" != unlimited ] && [ $((2 * n + 32)) -gt "$nofile" ]; then
    echo "N=$n needs about $((2 * n + 32)) open files in chatd; the limit is $nofile" >&2
    exit 1
  fi
done

work=$(mktemp -d /tmp/chatd-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

python3 tests/upstream/fake_llm.py --port 0 --max-log 100 >"$work/upstream.out" 2>"$work/upstream.log" &
pids+=($!)
deadline=$((SECONDS + 10))
until grep -q '^listening ' "$work/upstream.out"; do
  [ $SECONDS -lt $deadline ] || { echo "fake upstream did not start" >&2; cat "$work/upstream.log" >&2; exit 1; }
  sleep 0.05
done
upstream_port=$(awk '/^listening /{print $2}' "$work/upstream.out")

cat > "$work/providers.json" <<JSON
{"providers": [
  {"name": "fake", "type": "openai", "base_url": "http://127.0.0.1:$upstream_port/v1", "api_key": "x",
   "max_connections": 20000,
   "timeouts_ms": {"connect": 10000, "first_byte": 600000, "total": 3600000},
   "models": ["fake-gpt"]}
]}
JSON

rows=()
for n in "${ns[@]}"; do
  chatd_port=$(free_port)
  CHATD_ADDR="127.0.0.1:$chatd_port" CHATD_DATA_DIR="$work/data-$n" CHATD_DATABASE_URL="sqlite:$work/data-$n/chatd.db" \
    CHATD_PROVIDERS_FILE="$work/providers.json" CHATD_REQUIRE_EMAIL_VERIFICATION=false CHATD_LOG_LEVEL=warn \
    CHATD_MAX_CONNECTIONS=50000 \
    CHATD_RATE_LIMITS="message=100000000/60s,global=100000000/60s,register=1000/60s,login=1000/60s" \
    "$chatd_bin" serve 2>"$work/chatd-$n.log" &
  chatd_pid=$!
  pids+=("$chatd_pid")
  wait_http "http://127.0.0.1:$chatd_port/healthz" || { tail -n 20 "$work/chatd-$n.log" >&2; exit 1; }

  base="http://127.0.0.1:$chatd_port"
  key=$(new_api_key "$base")

  echo "N=$n: opening streams" >&2
  if ! row=$(python3 bench/sse_idle.py --port "$chatd_port" --key "$key" --pid "$chatd_pid" --streams "$n" \
              --rounds "$rounds"); then
    echo "N=$n: too many streams failed; chatd log:" >&2
    tail -n 20 "$work/chatd-$n.log" >&2
    exit 1
  fi
  rows+=("$row")
  kill "$chatd_pid"
  wait "$chatd_pid" 2>/dev/null || true
done

mkdir -p "$(dirname "$results")"
python3 - "$chatd_bin" "${rows[@]}" <<'PY' | tee "$results"
import datetime, json, os, sys
chatd_bin, rows = sys.argv[1], [json.loads(r) for r in sys.argv[2:]]
rows.sort(key=lambda r: r["streams"])
mib = lambda kib: kib / 1024
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
env = " ".join(f"{k}={os.environ[k]}" for k in ("MALLOC_ARENA_MAX", "CHATD_THREADS", "CHATD_SSE_HEARTBEAT_MS")
               if k in os.environ)
print("# Memory of chatd holding concurrent idle SSE streams\n")
print(f"{datetime.date.today()}, {cpu_model}, {os.cpu_count()} cores shared by chatd, the client and the fake upstream;")
print("chatd: Release build, SQLite, CHATD_MAX_CONNECTIONS=50000, message/global rate limits out of the way, "
      "default settings otherwise (network threads = cores, heartbeat 15 s)" + (f", with {env}" if env else "") + ";")
print("each stream: POST /v1/chat/completions, stream: true, API key; upstream tests/upstream/fake_llm.py "
      "`#stall` (head + 2 deltas, then silence);")
print("client bench/sse_idle.py (asyncio): at most 200 connecting at once, each held once its first content "
      "delta arrived; memory read 3 s after the last one. A fresh chatd per N; base = after a warm-up of "
      "20 streams opened and closed.\n")
print("| streams held | failed | ramp s | RSS base MiB | RSS held MiB | VmHWM MiB | RssAnon held MiB "
      "| RSS KiB per stream over base | VmData KiB per stream over base | chatd fds | threads "
      "| RSS after closing all MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    b, h, a = r["base"], r["held"], r["after_close"]
    per = (h["VmRSS"] - b["VmRSS"]) / r["streams"]
    print(f"| {r['streams']} | {r['failed'] + r['dropped_while_held']} | {r['ramp_s']} | {mib(b['VmRSS']):.1f} "
          f"| {mib(h['VmRSS']):.1f} | {mib(h['VmHWM']):.1f} | {mib(h['RssAnon']):.1f} | {per:.1f} "
          f"| {(h['VmData'] - b['VmData']) / r['streams']:.1f} "
          f"| {h['fds']} | {h['Threads']} | {mib(a['VmRSS']):.1f} |")
print()
target_n, target_mib = 10000, 200
lo, hi = rows[0], rows[-1]
big = hi["held"]["VmRSS"]
if hi["streams"] >= target_n:
    print(f"- measured at {hi['streams']} streams: {mib(big):.1f} MiB RSS")
    verdict = mib(big) <= target_mib
    figure = f"{mib(big):.1f} MiB measured"
else:
    if len(rows) > 1 and hi["streams"] > lo["streams"]:
        slope = (big - lo["held"]["VmRSS"]) / (hi["streams"] - lo["streams"])  # KiB per stream
        how = f"between {lo['streams']} and {hi['streams']} streams"
    else:
        slope = (big - hi["base"]["VmRSS"]) / hi["streams"]
        how = f"over the base at {hi['streams']} streams"
    intercept = big - slope * hi["streams"]
    projected = intercept + slope * target_n
    print(f"- slope {how}: {slope:.1f} KiB per stream = {slope * 1000 / 1024:.1f} MiB per 1,000 streams")
    print(f"- intercept (RSS extrapolated to 0 streams): {mib(intercept):.1f} MiB")
    print(f"- **projection** to {target_n:,} streams: {mib(intercept):.1f} + {target_n:,} × {slope:.1f} KiB = "
          f"**{mib(projected):.1f} MiB** (projected, not measured: chatd needs 2 sockets per stream and the "
          f"open-files hard limit here is {os.sysconf('SC_OPEN_MAX')}, so {target_n:,} streams do not fit "
          f"in one process on this machine)")
    verdict = mib(projected) <= target_mib
    figure = f"{mib(projected):.1f} MiB projected"
print(f"- VmHWM (peak RSS) at {hi['streams']} streams: {mib(hi['held']['VmHWM']):.1f} MiB; "
      f"RSS 2 s after closing them all: {mib(hi['after_close']['VmRSS']):.1f} MiB")
print(f"- target ≤ {target_mib} MiB RSS at {target_n:,} idle streams: "
      + ("**met**" if verdict else "**not met**") + f" ({figure}, first cycle in a fresh process)")
if any(len(r["cycles"]) > 1 for r in rows):
    print("\n## The same streams opened, held and closed again in the same chatd\n")
    print("| streams | cycle | RSS held MiB | RSS after closing MiB | RSS KiB per stream over the first base |")
    print("|---|---|---|---|---|")
    for r in rows:
        for i, c in enumerate(r["cycles"], 1):
            print(f"| {r['streams']} | {i} | {mib(c['held']):.1f} | {mib(c['after_close']):.1f} "
                  f"| {(c['held'] - r['base']['VmRSS']) / r['streams']:.1f} |")
PY
