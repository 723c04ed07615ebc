#!/bin/bash
# Media plane benchmark: our worker and Janus back to back, same aiortc client load.
# usage: bench/media/run.sh [compare.py options: --cases audio,video,delay,capacity --duration 30
#                            --rounds 1 --out FILE --no-janus ...]
# Needs root (unshare --net, ip link) and Debian's janus (installed here if missing). Everything
# runs in a private network namespace on loopback, as ../shared/bench/janus/run_bench.sh does.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
export JANUS_HARNESS=${JANUS_HARNESS:-$(cd "$ROOT/.." && pwd)/shared/bench/janus}
if [ -z "${MEDIA_BENCH_IN_NETNS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root (network namespace)" >&2; exit 1; }
  [ -r "$JANUS_HARNESS/client.py" ] || { echo "no Janus harness at $JANUS_HARNESS" >&2; exit 1; }
  command -v janus >/dev/null || { apt-get update -qq && apt-get install -y -qq janus >&2; }
  "$PY" -c 'import aiohttp' 2>/dev/null || "$PY" -m pip install -q aiohttp >&2  # Janus REST client
  exec unshare --net env MEDIA_BENCH_IN_NETNS=1 "$0" "$@"
fi
# Janus 1.1.x gathers no candidates on IFF_LOOPBACK: 127.0.1.1 on a veth and on lo (lo first),
# exactly as the shared harness does (see its README).
ip link set lo up
ip addr add 127.0.1.1/32 dev lo
ip link add jb0 type veth peer name jb1
ip addr add 127.0.1.1/32 dev jb0
ip link set jb0 up && ip link set jb1 up
cd "$ROOT"
exec "$PY" "$HERE/compare.py" "$@"
