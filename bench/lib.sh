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
  local out
  out=$(wrk -t"$4" -c"$2" -d"$3" --latency "$1")
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
