#!/usr/bin/env bash
# The realtime benchmark of issue 4 (docs/benchmarks.md, "Realtime (Socket.IO)"): the real
# `companion serve` under the clinic-peak load, and the Node reference server in the same run.
#
#   make bench-realtime                      # or: bench/realtime/run.sh
#   C=120 R=10 DURATION=10 make bench-realtime
#   MODES="gevent threading" make bench-realtime
#
# Environment (defaults): C=600 clients, R=50 rooms, RATE=1 chat/s per client, DURATION=15 s of
# sending; MODES=gevent (COMPANION_ASYNC_MODE values to measure, in turn); LOGIN_HTTP=50: that
# many users (one per room at the defaults) log in with POST /api/v1/auth/login, the others get
# a login that seed.py opens through the product's service with the cookie signed as the login
# route signs it (600 argon2 checks take 2-7 minutes on a shared 2-core box); LOGIN_HTTP=all for
# every user over HTTP, 0 for none;
# REFERENCE=1 (also the Node reference server); FLOOR=1 (also the shared minimal Flask-SocketIO
# server in gevent mode: the framework's own cost for the same fan-out); PROCS=1 web processes
# (more: they share rooms through Redis, REDIS_URL or redis://127.0.0.1:6379/0, each client
# connects to one of them in turn, and CPU and memory are their sums); DATABASE_URL=postgresql://... runs the product
# on its own `bench_realtime` database of that server (dropped and created; never another
# database), else SQLite in a temporary instance folder. PROFILE=DIR writes a py-spy profile of
# the server's send phase (collapsed stacks) to DIR; PYSPY names the py-spy binary.
# Per run: seed a fresh database (seed.py), start the server, log the users in, drive the load
# (loadgen.js), read the server's CPU and memory from /proc, stop the server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${SOCKETIO_REFERENCE:-$root/../shared/bench/socketio}
C=${C:-600} R=${R:-50} RATE=${RATE:-1} DURATION=${DURATION:-15}
MODES=${MODES:-gevent} LOGIN_HTTP=${LOGIN_HTTP:-50} REFERENCE=${REFERENCE:-1} FLOOR=${FLOOR:-1}
PROCS=${PROCS:-1}
TICK=$(getconf CLK_TCK)

db_url=""
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-realtime.XXXXXX")
server_pids=()
ref_pid=""
cleanup() {
  # Only what this script started: the product server, the reference's process group.
  for pid in "${server_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  if [ -n "$ref_pid" ] && kill -0 "$ref_pid" 2>/dev/null; then
    kill -- "-$ref_pid" 2>/dev/null || true; wait "$ref_pid" 2>/dev/null || true
  fi
  if [ -n "$db_url" ]; then
    (cd "$root" && DATABASE_URL="$db_url" .venv/bin/python "$here/seed.py" - --drop-postgres) || true
  fi
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$root/.venv/bin/companion" ] || { echo "run 'make setup' first" >&2; exit 1; }
if [ ! -d "$here/node_modules/socket.io-client" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 300); do
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
# CPU seconds and peak memory of the product's web processes, summed.
cpu_s() { for pid in "$@"; do cat "/proc/$pid/stat"; done | awk -v t="$TICK" '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s / t }'; }
hwm_mb() { for pid in "$@"; do cat "/proc/$pid/status"; done | awk '/VmHWM/ { s += $2 } END { printf "%.1f", s / 1024 }'; }

if [ -n "${DATABASE_URL:-}" ]; then
  # Same server and credentials, the bench's own database.
  db_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/bench_realtime")))' "$DATABASE_URL")
fi

db_label=sqlite; [ -n "$db_url" ] && db_label=postgresql/bench_realtime
params="C=$C R=$R RATE=$RATE DURATION=$DURATION MODES=\"$MODES\" LOGIN_HTTP=$LOGIN_HTTP db=$db_label"
echo "bench: $params; load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
results=()
for mode in $MODES; do
  inst="$work/instance-$mode"
  mkdir -p "$inst"
  # env(1) takes its options (-u) before the assignments.
  env_opts=() env_set=(COMPANION_INSTANCE_PATH="$inst")
  if [ -n "$db_url" ]; then env_set+=(DATABASE_URL="$db_url"); else env_opts+=(-u DATABASE_URL); fi
  if [ "$PROCS" -gt 1 ]; then env_set+=(REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"); else env_opts+=(-u REDIS_URL); fi
  env_db=("${env_opts[@]}" "${env_set[@]}")
  seed_args=("$work/users-$mode.json" --clients "$C" --rooms "$R")
  [ "$LOGIN_HTTP" != all ] && seed_args+=(--http-logins "$LOGIN_HTTP")
  [ -n "$db_url" ] && seed_args+=(--reset-postgres)
  (cd "$root" && env "${env_db[@]}" .venv/bin/python "$here/seed.py" "${seed_args[@]}")

  # Web processes on free loopback ports, one after another (each migrates the database first).
  urls=()
  for p in $(seq "$PROCS"); do
    port=$(free_port)
    log="$work/server-$mode-$p.log"
    (cd "$root" && exec env "${env_db[@]}" COMPANION_ASYNC_MODE="$mode" \
        COMPANION_LOGIN_LIMITS="100000 per minute" COMPANION_MEETING_REFRESH_CHECK_MINUTES=0 \
        COMPANION_MEDIA_WORKER_COUNT=0 \
        .venv/bin/companion serve --no-seed --port "$port") >"$log" 2>&1 &
    server_pids+=($!)
    wait_port "$port" "$!" || { echo "server ($mode) did not start:" >&2; cat "$log" >&2; exit 1; }
    urls+=("http://127.0.0.1:$port")
  done
  url=$(IFS=,; echo "${urls[*]}")
  pids=$(IFS=,; echo "${server_pids[*]}")
  node "$here/login.js" "${urls[0]}" "$work/users-$mode.json" "$work/cookies-$mode.json" 8

  profile_cmd=""
  if [ -n "${PROFILE:-}" ]; then
    # Sampling profile of the (first) server's send phase (py-spy from PyPI, e.g. in its own
    # venv); loadgen.js starts it with the first chat.
    mkdir -p "$PROFILE"
    profile_cmd="${PYSPY:-py-spy} record --pid ${server_pids[0]} --rate 200 --format raw --nonblocking --duration $((DURATION + 3)) --output $PROFILE/companion-$mode.txt"
  fi
  c0=$(cpu_s "${server_pids[@]}")
  out=$(SERVER_PID=$pids CLK_TCK=$TICK PROFILE_CMD=$profile_cmd node "$here/loadgen.js" "$url" "$work/cookies-$mode.json" "$RATE" "$DURATION")
  c1=$(cpu_s "${server_pids[@]}")
  hwm=$(hwm_mb "${server_pids[@]}")
  for pid in "${server_pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
  server_pids=()
  label=$mode; [ "$PROCS" -gt 1 ] && label="$mode x$PROCS processes"
  if grep -q Traceback "$work"/server-"$mode"-*.log; then echo "server ($mode) logged errors, see below" >&2; grep -m3 -A12 Traceback "$work"/server-"$mode"-*.log >&2; fi
  results+=("$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); cpu = round(float(sys.argv[3]) - float(sys.argv[2]), 2)
d.update(server="companion " + sys.argv[5], server_cpu_s=cpu, server_peak_rss_mb=float(sys.argv[4]), cpu_us_per_delivery=round(cpu * 1e6 / max(1, d["delivered"]), 1))
print(json.dumps(d))' "$out" "$c0" "$c1" "$hwm" "$label")")
done

# One server of ../shared/bench/socketio through its own run.sh (its loadgen.js; CPU over
# connect + send + drain, the same window as the product's server_cpu_s above), added to the
# results as LABEL. Usage: shared_server LABEL FILE-STEM "SERVER COMMAND" [ENV=VALUE...]
shared_server() {
  local label=$1 stem=$2 cmd=$3; shift 3
  local port; port=$(free_port)
  env SOCKETIO_BENCH_DEPS="$here" "$@" setsid "$shared/run.sh" "$port" "$cmd" "$C" "$R" "$RATE" "$DURATION" \
    >"$work/$stem.json" 2>"$work/$stem.err" &
  ref_pid=$!
  wait "$ref_pid" || true; ref_pid=""
  rm -f "/tmp/socketio_bench_server_$port.log"
  local got; got=$(tail -n1 "$work/$stem.json")
  [ -n "$got" ] || { echo "$label run failed:" >&2; cat "$work/$stem.err" >&2; exit 1; }
  results+=("$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d["server"] = sys.argv[2]; print(json.dumps(d))' "$got" "$label")")
}

# The shared reference as published: node_server.js.
[ "$REFERENCE" = 1 ] && shared_server "node reference" reference "node node_server.js"
# The framework's floor: the shared minimal Flask-SocketIO server (gevent, no login, no storage,
# no rules) doing the same fan-out. What the product spends above it is its own cost.
[ "$FLOOR" = 1 ] && shared_server "flask-socketio floor" floor "$root/.venv/bin/python flask_server.py" MODE=gevent

printf '%s\n' "${results[@]}" > "$work/results.jsonl"
python3 "$here/report.py" "$work/results.jsonl" "$params; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
