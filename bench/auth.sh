#!/usr/bin/env bash
# Account benchmarks, recorded in bench/results/auth.md:
#  1. GET /auth/me with a valid access token versus nginx `return 200` with the same body
#     and headers, same wrk settings, one after the other (target: >= 60% of nginx).
#  2. Login throughput with the production Argon2id parameters, against the ideal
#     cores / single-hash time (target: >= 90%), while a light /healthz load measures the
#     p99 of requests that do no hashing (target: < 5 ms).
#
#   bench/auth.sh [DURATION=15s]
source "$(dirname "$0")/lib.sh"
duration=${1:-15s}
cd "$bench_root"
[ -x build/chatd ] && [ -x build/chatd_micro_bench ] && [ -x build/chatd_hash_server ] || {
  echo "build first: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2; exit 1; }

work=$(mktemp -d /tmp/chatd-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(free_port)
CHATD_ADDR="127.0.0.1:$port" CHATD_DATA_DIR="$work/data" CHATD_DATABASE_URL="sqlite:$work/data/chatd.db" \
  CHATD_REQUIRE_EMAIL_VERIFICATION=false \
  CHATD_RATE_LIMITS="login=1000000000/1s,register=1000000000/1s,global=1000000000/1s" \
  build/chatd serve 2>"$work/chatd.log" &
chatd_pid=$!
pids+=("$chatd_pid")
base="http://127.0.0.1:$port"
wait_http "$base/healthz"

password="correct horse battery staple"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"username\":\"bench\",\"password\":\"$password\"}" "$base/auth/register"
token=$(curl -fsS -H 'Content-Type: application/json' -d "{\"login\":\"bench\",\"password\":\"$password\"}" \
  "$base/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
me_body=$(curl -fsS -H "Authorization: Bearer $token" "$base/auth/me")

nginx_port=$(free_port)
nginx_pid=$(start_nginx "$work/nginx" "$nginx_port" "$me_body")
pids+=("$nginx_pid")
wait_http "http://127.0.0.1:$nginx_port/auth/me"
nginx_workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')

measure() {  # measure URL PIDS... (wrk -t2 -c64 with the token header)
  local url=$1
  shift
  wrk -t2 -c64 -d2s -H "Authorization: Bearer $token" "$url" >/dev/null
  local cpu0 cpu1 line
  cpu0=$(cpu_seconds "$@")
  line=$(run_wrk_h "$url" 64 "$duration" 2 "Authorization: Bearer $token")
  cpu1=$(cpu_seconds "$@")
  echo "$line $(python3 -c "print(($cpu1 - $cpu0) * 1e6 / ${line##* })")"
}
n_me=$(measure "http://127.0.0.1:$nginx_port/auth/me" "$nginx_pid" $nginx_workers)
c_me=$(measure "$base/auth/me" "$chatd_pid")

# Hash times with the production parameters, measured in this run (before and after the
# login run, averaged: this machine's speed drifts): one verification alone, and the time per
# verification with one thread per core hashing at once (what the cores can do together).
hash_times() {
  build/chatd_micro_bench --benchmark_filter=BM_Argon2idVerifyProduction --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"]; print(b[0]["real_time"], b[1]["real_time"])'
}
single_hash_ms() {  # one verification alone, nothing else (the ideal of a round)
  build/chatd_micro_bench --benchmark_filter='BM_Argon2idVerifyProduction/real_time$' --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["benchmarks"][0]["real_time"])'
}
hash_before=$(hash_times)

cat > "$work/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"login":"bench","password":"$password"}'
LUA
# Meanwhile a light, steady /healthz load: one connection, each request sent 5 ms after the
# previous answer (about 190 requests/s), while the logins saturate the hashing pool. wrk
# costs about 0.01 core here; a Python client took a tenth of a core from the hashing.
cat > "$work/pace.lua" <<'LUA'
function delay() return 5 end
LUA
wrk -t1 -c1 -d"$duration" --latency -s "$work/pace.lua" "$base/healthz" > "$work/healthz.txt" &
pace_pid=$!
login_out=$(wrk -t2 -c16 -d"$duration" -s "$work/login.lua" "$base/auth/login")
wait $pace_pid
hash_after=$(hash_times)

# Rounds beside the reference servers (bench/hash_server.cpp): the same logins and /healthz
# pacing against a server that only hashes, and one that also commits a session row to
# SQLite with a synced commit, then chatd, alternating so that this machine's drift falls
# on all three alike. A single verification is timed before and after each round.
rounds=${AUTH_ROUNDS:-3}
round_seconds=8
ref_port=$(free_port)
login_rate() {  # login_rate BASE_URL: logins/s over one round, the /healthz pacer beside
  wrk -t1 -c1 -d${round_seconds}s -s "$work/pace.lua" "$1/healthz" >/dev/null &
  local pacer=$! out
  out=$(wrk -t2 -c16 -d${round_seconds}s -s "$work/login.lua" "$1/auth/login")
  wait $pacer
  if grep -q "Non-2xx" <<<"$out"; then echo "logins failed against $1" >&2; exit 1; fi
  awk '/Requests\/sec/{print $2}' <<<"$out"
}
reference_rate() {  # reference_rate [DATABASE_FILE] (in a subshell: its EXIT trap stops the server)
  build/chatd_hash_server "$ref_port" "$@" 2>>"$work/reference.log" &
  local ref_pid=$!
  trap 'kill "$ref_pid" 2>/dev/null || true' EXIT
  wait_http "http://127.0.0.1:$ref_port/healthz"
  wrk -t2 -c16 -d2s -s "$work/login.lua" "http://127.0.0.1:$ref_port/auth/login" >/dev/null
  login_rate "http://127.0.0.1:$ref_port"
  kill "$ref_pid"
  wait "$ref_pid" 2>/dev/null || true
}
: > "$work/rounds.txt"
for round in $(seq "$rounds"); do
  before=$(single_hash_ms)
  bare=$(reference_rate)
  durable=$(reference_rate "$work/reference-$round.db")
  wrk -t2 -c16 -d2s -s "$work/login.lua" "$base/auth/login" >/dev/null
  ours=$(login_rate "$base")
  after=$(single_hash_ms)
  echo "$round $before $after $bare $durable $ours" | tee -a "$work/rounds.txt" >&2
done
hash_ms=$(python3 -c "print(($(echo $hash_before | cut -d' ' -f1) + $(echo $hash_after | cut -d' ' -f1)) / 2)")
parallel_ms=$(python3 -c "print(($(echo $hash_before | cut -d' ' -f2) + $(echo $hash_after | cut -d' ' -f2)) / 2)")
echo "$login_out" >&2
cat "$work/healthz.txt" >&2

mkdir -p bench/results
python3 - "$n_me" "$c_me" "$hash_ms" "$login_out" "$(cat "$work/healthz.txt")" "$duration" "$parallel_ms" "$(cat "$work/rounds.txt")" <<'PY' | tee bench/results/auth.md
import datetime, re, subprocess, sys
def parse(line):
    rps, p50, p99, reqs, cpu = line.split()
    return dict(rps=float(rps), p50=float(p50), p99=float(p99), cpu=float(cpu))
n, c = parse(sys.argv[1]), parse(sys.argv[2])
hash_ms = float(sys.argv[3])
login_out, healthz_out, duration = sys.argv[4], sys.argv[5], sys.argv[6]
parallel_ms = float(sys.argv[7])
def ms(out, label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
login_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", login_out).group(1))
if re.search(r"Non-2xx or 3xx responses: (\d+)", login_out):
    sys.exit("logins failed: " + re.search(r"Non-2xx or 3xx responses: (\d+)", login_out).group(1))
cores = int(subprocess.getoutput("nproc"))
ideal = cores / (hash_ms / 1000)
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("# Accounts: GET /auth/me and login throughput\n")
print(f"Recorded {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by `bench/auth.sh` on {cpu_model}, {cores} cores, "
      f"loopback, SQLite, wrk on the same cores.\n")
print("## GET /auth/me with a valid access token vs nginx `return 200` (same body and headers)\n")
print(f"wrk -t2 -c64 -d{duration}, the same token on every request (the verified-token cache is hit).\n")
print("| server | req/s | p50 ms | p99 ms | CPU µs/request |")
print("|---|---:|---:|---:|---:|")
print(f"| nginx | {n['rps']:.0f} | {n['p50']:.3f} | {n['p99']:.3f} | {n['cpu']:.1f} |")
print(f"| chatd | {c['rps']:.0f} | {c['p50']:.3f} | {c['p99']:.3f} | {c['cpu']:.1f} |")
print(f"\nchatd/nginx throughput: **{c['rps'] / n['rps']:.1%}** (target >= 60%)\n")
print("## Logins with the production Argon2id parameters (m=19 MiB, t=2)\n")
capacity = 1000 / parallel_ms
print(f"Single verification: {hash_ms:.2f} ms (`chatd_micro_bench`, this run, mean of before and after the logins); "
      f"ideal = {cores} cores / {hash_ms:.2f} ms = {ideal:.0f} logins/s.\n")
print(f"The cores hashing together, nothing else running ({cores} threads of `chatd_micro_bench`): "
      f"{parallel_ms:.2f} ms per verification = {capacity:.0f} verifications/s, i.e. {capacity / ideal:.0%} of the ideal: "
      f"what this machine's cores can hash at once, the ceiling of any server here.\n")
print(f"wrk -t2 -c16 -d{duration} POST /auth/login: **{login_rps:.0f} logins/s = {login_rps / ideal:.0%} of ideal** "
      f"(target >= 90%), **{login_rps / capacity:.0%} of the cores' measured hashing capacity**.\n")
h50, h99 = ms(healthz_out, "50%"), ms(healthz_out, "99%")
m = re.search(r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s", healthz_out, re.M)
hmax = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
hcount = int(re.search(r"(\d+) requests in", healthz_out).group(1))
herr = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", healthz_out))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", healthz_out)
herr += sum(int(n) for n in m.groups()) if m else 0
print(f"Meanwhile GET /healthz, one request every 5 ms on one connection (wrk, {hcount} requests, {herr} errors): "
      f"p50 {h50:.3f} ms, **p99 {h99:.3f} ms** (target < 5 ms), max {hmax:.3f} ms.")
rows = [line.split() for line in sys.argv[8].splitlines() if line.strip()]
if rows:
    import statistics
    print("\n## Login rounds beside the reference servers\n")
    print(f"{len(rows)} rounds of 8 s each, wrk -t2 -c16 with the same /healthz pacer, alternating: "
          "`chatd_hash_server` (bench/hash_server.cpp: an epoll thread and one hashing thread per core, "
          "nothing else), the same server committing one session row per login to SQLite (WAL, synchronous = FULL), "
          "then chatd. The ideal of each round comes from a single verification timed before and after it.\n")
    print("| round | single verification ms | ideal logins/s | hashing only | + durable write | chatd | chatd / hashing only |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    shares = {"bare": [], "durable": [], "chatd": [], "vs": []}
    for r, before, after, bare, durable, ours in rows:
        single = (float(before) + float(after)) / 2
        ideal_r = cores / (single / 1000)
        b, d, o = float(bare), float(durable), float(ours)
        shares["bare"].append(b / ideal_r); shares["durable"].append(d / ideal_r)
        shares["chatd"].append(o / ideal_r); shares["vs"].append(o / b)
        print(f"| {r} | {single:.2f} | {ideal_r:.0f} | {b:.0f} ({b / ideal_r:.0%}) | {d:.0f} ({d / ideal_r:.0%}) "
              f"| {o:.0f} ({o / ideal_r:.0%}) | {o / b:.0%} |")
    med = {k: statistics.median(v) for k, v in shares.items()}
    print(f"\nMedians of the rounds: hashing only **{med['bare']:.0%}** of the ideal, with the durable write "
          f"**{med['durable']:.0%}**, chatd **{med['chatd']:.0%}** (target >= 90%), chatd at **{med['vs']:.0%}** of the "
          "hashing-only server.")
PY
