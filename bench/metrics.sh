#!/usr/bin/env bash
# The cost of counting metrics: the same Release build with counting compiled in (build/chatd)
# and out (build-nometrics/chatd, CMake -DCHATD_METRICS=OFF, made here when missing), measured
# in one run on GET /healthz and POST /v1/chat/completions (API key, usage event written,
# upstream nginx answering instantly). Rounds alternate between the two binaries so that a
# machine's drift hits both alike; the medians of the rounds and their ratio go to
# bench/results/metrics.md. Target: with metrics >= 97% of without.
#
#   bench/metrics.sh [ROUNDS=5] [DURATION=5s] [CONNECTIONS=64]
source "$(dirname "$0")/lib.sh"
rounds=${1:-5}
duration=${2:-5s}
connections=${3:-64}
cd "$bench_root"
[ -x build/chatd ] || { echo "build chatd first (Release, build/)" >&2; exit 1; }
if [ ! -x build-nometrics/chatd ] || [ build-nometrics/chatd -ot build/chatd ]; then
  cmake -S . -B build-nometrics -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHATD_METRICS=OFF -DCHATD_BUILD_TESTS=OFF \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  cmake --build build-nometrics -j"$(nproc)" --target chatd >/dev/null
fi

work=$(mktemp -d /tmp/chatd-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The upstream: nginx answering every POST with a fixed OpenAI completion.
completion='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}'
upstream_port=$(free_port)
mkdir -p "$work/nginx"
printf '%s' "$completion" > "$work/nginx/completion.json"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$upstream_port;
    error_page 405 =200 \$uri.body;
    location = /v1/chat/completions { default_type application/json; alias $work/nginx/completion.json; }
    location = /v1/chat/completions.body { default_type application/json; alias $work/nginx/completion.json; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
pids+=($!)
cat > "$work/providers.json" <<JSON
{"providers": [{"name": "plain", "type": "openai", "base_url": "http://127.0.0.1:$upstream_port/v1", "api_key": "x", "models": ["bench"]}]}
JSON

start_chatd() {  # start_chatd NAME BINARY: sets port_NAME, pid_NAME, key_NAME
  local name=$1 bin=$2 port
  port=$(free_port)
  mkdir -p "$work/$name"
  CHATD_ADDR="127.0.0.1:$port" CHATD_DATA_DIR="$work/$name" CHATD_DATABASE_URL="sqlite:$work/$name/chatd.db" \
    CHATD_PROVIDERS_FILE="$work/providers.json" CHATD_REQUIRE_EMAIL_VERIFICATION=false CHATD_LOG_LEVEL=warn \
    CHATD_RATE_LIMITS="message=100000000/60s,global=100000000/60s,register=1000/60s,login=1000/60s" \
    "$bin" serve 2>"$work/$name.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/healthz"
  printf -v "port_$name" '%s' "$port"
  printf -v "key_$name" '%s' "$(new_api_key "http://127.0.0.1:$port")"
}
start_chatd on build/chatd
start_chatd off build-nometrics/chatd
# The build without counting exposes zeros; the one with it counts.
curl -fsS "http://127.0.0.1:$port_on/metrics" | grep -q 'chatd_http_requests_total{route="/healthz"' ||
  { echo "build/chatd does not count requests" >&2; exit 1; }
if curl -fsS "http://127.0.0.1:$port_off/metrics" | grep -q 'chatd_http_requests_total{'; then
  echo "build-nometrics/chatd counts requests: it was not built with -DCHATD_METRICS=OFF" >&2
  exit 1
fi

lua() {  # lua FILE KEY
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
wrk.body = '{"model":"bench","stream":false,"messages":[{"role":"user","content":"Hello there"}]}'
LUA
}
lua "$work/on.lua" "$key_on"
lua "$work/off.lua" "$key_off"

rps() {  # rps URL [SCRIPT]: requests per second of one wrk run
  local out
  out=$(wrk -t2 -c"$connections" -d"$duration" ${2:+-s "$2"} "$1")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers from $1" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
results=()
for target in healthz completions; do
  for r in $(seq 1 "$rounds"); do
    for variant in on off; do
      port_var="port_$variant"
      if [ "$target" = healthz ]; then
        value=$(rps "http://127.0.0.1:${!port_var}/healthz")
      else
        value=$(rps "http://127.0.0.1:${!port_var}/v1/chat/completions" "$work/$variant.lua")
      fi
      results+=("$target $variant $r $value")
    done
  done
done

mkdir -p bench/results
python3 - "$rounds" "$duration" "$connections" "${results[@]}" <<'PY' | tee bench/results/metrics.md
import datetime, statistics, subprocess, sys
rounds, duration, conns = sys.argv[1:4]
rows = [r.split() for r in sys.argv[4:]]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("# The cost of counting metrics\n")
print(f"Recorded {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by `bench/metrics.sh` on {cpu}, "
      f"{subprocess.getoutput('nproc')} cores: build/chatd (metrics counted) and the same sources built with "
      f"`-DCHATD_METRICS=OFF`, {rounds} alternating rounds of wrk -t2 -c{conns} -d{duration} each on loopback, "
      "SQLite; `/v1/chat/completions` with an API key against an nginx upstream answering at once.\n")
print("| endpoint | with metrics, req/s (median) | without, req/s (median) | ratio | rounds with / without |")
print("|---|---:|---:|---:|---|")
ok = True
for target, path in (("healthz", "GET /healthz"), ("completions", "POST /v1/chat/completions")):
    on = [float(r[3]) for r in rows if r[0] == target and r[1] == "on"]
    off = [float(r[3]) for r in rows if r[0] == target and r[1] == "off"]
    ratio = statistics.median(on) / statistics.median(off)
    ok = ok and ratio >= 0.97
    print(f"| {path} | {statistics.median(on):.0f} | {statistics.median(off):.0f} | **{ratio:.1%}** | "
          f"{' '.join(f'{v:.0f}' for v in on)} / {' '.join(f'{v:.0f}' for v in off)} |")
print(f"\nTarget: with metrics at least 97% of without: **{'met' if ok else 'NOT met'}**.")
PY
