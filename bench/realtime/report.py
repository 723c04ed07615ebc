"""Print the realtime bench's results as a table, the ratios to the Node reference, and the goal.

Usage: report.py RESULTS.jsonl "PARAMETERS"   (one JSON object per server, from run.sh)
Goal of issue 4: 100% delivered, p99 under 50 ms, CPU per delivery within 2x the Node reference.
"""

from __future__ import annotations

import json
import sys
from typing import Any

P99_GOAL_MS = 50
CPU_RATIO_GOAL = 2.0
FLOOR = "flask-socketio floor"


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}{unit}"


def main() -> None:
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    params = sys.argv[2] if len(sys.argv) > 2 else ""
    ref = next((r for r in rows if r["server"] == "node reference"), None)
    floor = next((r for r in rows if r["server"] == FLOOR), None)
    print(f"\nRealtime bench ({params})\n")
    print("| server | joined | delivered / expected | p50 | p99 | max | ack p99 "
          "| server CPU | CPU per delivery | send-phase CPU per delivery | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        joined = r.get("joined", r.get("connected"))
        latency = " | ".join(_fmt(r[k], " ms") for k in ("p50_ms", "p99_ms", "max_ms"))
        send_cpu = _fmt(r.get("send_phase_cpu_us_per_delivery"), " µs")
        print(
            f"| {r['server']} | {joined}/{r['clients']} "
            f"| {r['delivered']}/{r['expected']} ({100 * r['delivery_ratio']:.1f}%) "
            f"| {latency} | {_fmt(r.get('ack_p99_ms'), ' ms')} | {r['server_cpu_s']} s "
            f"| {r['cpu_us_per_delivery']} µs | {send_cpu} | {r['server_peak_rss_mb']} MB |"
        )
    print()
    for r in rows:
        if r["server"] in ("node reference", FLOOR):
            continue
        extra = {k: r[k] for k in ("sent", "acked", "ack_errors", "out_of_order", "duplicates",
                                   "connect_errors", "join_failures", "join_timeouts",
                                   "error_events", "disconnects") if k in r}
        print(f"{r['server']}: {json.dumps(extra)}")
        if ref is None:
            continue
        p99_ratio = (r["p99_ms"] or 0) / max(1, ref["p99_ms"] or 1)
        cpu_ratio = r["cpu_us_per_delivery"] / max(0.1, ref["cpu_us_per_delivery"])
        delivered_ok = r["delivery_ratio"] >= 1.0 and r.get("joined") == r["clients"]
        p99_ok = r["p99_ms"] is not None and r["p99_ms"] < P99_GOAL_MS
        cpu_ok = cpu_ratio <= CPU_RATIO_GOAL
        print(
            f"  vs node reference: p99 {p99_ratio:.1f}x, CPU per delivery {cpu_ratio:.1f}x, "
            f"delivered {100 * r['delivery_ratio']:.1f}% vs {100 * ref['delivery_ratio']:.1f}%"
        )
        if floor is not None:
            floor_cpu = max(0.1, floor["cpu_us_per_delivery"])
            print(f"  vs the Flask-SocketIO floor: CPU per delivery "
                  f"{r['cpu_us_per_delivery'] / floor_cpu:.1f}x (the floor itself: "
                  f"{floor_cpu / max(0.1, ref['cpu_us_per_delivery']):.1f}x node, delivered "
                  f"{100 * floor['delivery_ratio']:.1f}%, p99 {floor['p99_ms']} ms)")
        verdict = "MET" if delivered_ok and p99_ok and cpu_ok else "NOT MET"
        print(
            f"  goal (100% delivered, p99 < {P99_GOAL_MS} ms, CPU per delivery <= "
            f"{CPU_RATIO_GOAL:g}x node): {verdict} "
            f"(delivered {'ok' if delivered_ok else 'NO'}, p99 {'ok' if p99_ok else 'NO'}, "
            f"CPU {'ok' if cpu_ok else 'NO'})"
        )
    print()
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
