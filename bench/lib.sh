# Shared helpers for the benchmark scripts (sourced).
set -euo pipefail

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# CPU seconds (user+system) used so far by the given PIDs and their threads.
cpu_seconds() {
  local total=0 pid ticks
  local hz
  hz=$(getconf CLK_TCK)
  for pid in "$@"; do
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    total=$((total + ticks))
  done
  python3 -c "print($total / $hz)"
}

wait_http() {  # wait_http URL: polls until it answers, 10 s at most
  local deadline=$((SECONDS + 10))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "no answer from $1" >&2; return 1; }
    sleep 0.05
  done
}

# Runs wrk and prints "rps p50_ms p99_ms requests" on one line.
run_wrk() {  # run_wrk URL CONNECTIONS DURATION THREADS
  run_wrk_h "$1" "$2" "$3" "$4" "X-Bench: 1"
}
run_wrk_h() {  # run_wrk_h URL CONNECTIONS DURATION THREADS HEADER
  local out
  out=$(wrk -t"$4" -c"$2" -d"$3" --latency -H "$5" "$1")
  echo "$out" >&2
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
reqs = int(re.search(r"(\d+) requests in", out).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errors:
    sys.exit("wrk saw non-2xx responses: " + errors.group(1))
print(f"{rps:.0f} {ms('50%'):.3f} {ms('99%'):.3f} {reqs}")
PY
}

# start_nginx DIR PORT BODY: nginx answering GET / with BODY (application/json) and the same
# request-id and security headers chatd sends, an access log line per request, one worker
# per core. Prints its PID.
start_nginx() {
  local dir=$1 port=$2 body=$3
  mkdir -p "$dir"
  printf '%s' "$body" > "$dir/body.json"
  cat > "$dir/nginx.conf" <<CONF
worker_processes $(nproc);
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type application/json;
      add_header X-Request-Id \$request_id always;
      add_header X-Content-Type-Options nosniff always;
      add_header Referrer-Policy no-referrer always;
      add_header X-Frame-Options DENY always;
      add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'; base-uri 'none'" always;
      return 200 '$(cat "$dir/body.json")';
    }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -e "$dir/error.log" >/dev/null 2>&1 &
  echo $!
}

# Registers a user on the chatd at BASE (e-mail verification off), logs in and prints a new
# API key of that user.
new_api_key() {  # new_api_key BASE
  local token
  curl -fsS "$1/auth/register" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","username":"bench","password":"correct horse battery staple"}' >/dev/null
  token=$(curl -fsS "$1/auth/login" -H 'Content-Type: application/json' \
    -d '{"login":"bench","password":"correct horse battery staple"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -fsS "$1/api-keys" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
