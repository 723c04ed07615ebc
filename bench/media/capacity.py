"""Capacity case of bench/media/compare.py: G rooms of N peers, standard profile, on the product's
own embedded workers (``companion.media.process.spawn_workers``) with rooms placed by the
product's ``MediaPool`` (what ``companion serve --media-workers W`` does).

Each peer sends pre-encoded Opus (20 ms) and VP8 320x180@15 and receives its audio mix and 4
video slots; the load processes (bench/media/load.py, ``full`` mode) count frames at the RTP level
without decoding. Reported per room: peers connected at the end / expected, audio frames per peer
(min, median) / expected, video frames per slot (min, median) / expected; per worker process:
CPU and the rooms it held; the load generator's own CPU and event-loop lag; connections lost and
why (ICE consent expiry, counted from aioice's log).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from harness import LoadProcesses, loadavg, proc_cpu, sys_busy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# The media channel's secret: the bench's workers and its load processes inherit it.
os.environ.setdefault("COMPANION_MEDIA_SECRET", secrets.token_urlsafe(32))


def _udp_drops() -> int:
    """Datagrams the kernel dropped because a socket's receive buffer was full (all sockets)."""
    total = 0
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(name).read_text().splitlines()[1:]:
                total += int(line.split()[-1])
    return total


def run_capacity(groups: int, n: int, workers: int, talkers: int, duration: float,
                 warmup: float, procs: int, complexity: int = 4,
                 setup_timeout: float = 180) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from companion.media.client import MediaClient
    from companion.media.pool import MediaPool
    from companion.media.process import spawn_workers

    la_before = loadavg()
    env = {**os.environ, "COMPANION_MEDIA_HOST_ADDRESSES": "127.0.0.1",
           "COMPANION_ICE_SERVERS": "[]",
           "COMPANION_MEDIA_LOG": os.environ.get("MEDIA_BENCH_WORKER_LOG", "WARNING"),
           "COMPANION_MEDIA_OPUS_COMPLEXITY": str(complexity)}
    pool_procs = spawn_workers(workers, env=env)
    pool = MediaPool(pool_procs.addresses, secret=pool_procs.secret)
    rooms = [f"bench:capacity:{g}" for g in range(groups)]
    placement = {room: pool.worker_key_for(room) for room in rooms}  # the product's placement
    load: LoadProcesses | None = None
    try:
        peers = []
        for room in rooms:
            host, port = placement[room].rsplit(":", 1)
            peers += [[room, i, host, int(port)] for i in range(n)]
        load = LoadProcesses({"mode": "full", "k": 4, "setup_timeout": setup_timeout,
                              "talkers": talkers}, peers, procs)
        expect, tell = load.expect, load.tell

        t_setup = time.time()
        ready = expect("ready")
        setup_s = time.time() - t_setup
        time.sleep(warmup)
        mcs = {key: MediaClient(key.rsplit(":", 1)[0], int(key.rsplit(":", 1)[1]),
                                secret=pool_procs.secret)
               for key in pool.workers}
        pids = {key: mc.ping()["pid"] for key, mc in mcs.items()}
        p0 = {key: mc.ping() for key, mc in mcs.items()}
        la = loadavg()
        tell("start")
        c0 = {k: proc_cpu(pid) for k, pid in pids.items()}
        b0, o0, t0, d0 = sys_busy(), time.process_time(), time.monotonic(), _udp_drops()
        time.sleep(duration)
        c1 = {k: proc_cpu(pid) for k, pid in pids.items()}
        b1, o1, t1, d1 = sys_busy(), time.process_time(), time.monotonic(), _udp_drops()
        la_end = loadavg()
        p1 = {key: mc.ping() for key, mc in mcs.items()}
        tell("stop")
        reports = expect("frames")
        load.quit(60)
        for mc in mcs.values():
            mc.close()
    finally:
        if load is not None:
            load.kill()
        pool.stop()
        pool_procs.stop()

    win = t1 - t0
    cores = os.cpu_count() or 1
    busy = 100 * cores * (b1[0] - b0[0]) / max(1, b1[1] - b0[1])
    worker_cpu = {k: round(100 * (c1[k] - c0[k]) / win, 1) for k in pids}
    client_cpu = 100 * sum(r["cpu_s"] for r in reports) / win
    frames = {k: v for r in reports for k, v in r["frames"].items()}
    connected = {k: v for r in reports for k, v in r["connected"].items()}
    gaps = {k: v for r in reports for k, v in r["gaps"].items()}
    exp_audio, exp_video = int(win * 50), int(win * 15)

    def delta(key: str, w: str) -> float:
        return float(p1[w].get(key, 0) - p0[w].get(key, 0))

    per_room = []
    for room in rooms:
        audio = sorted(v for k, v in frames.items() if k.startswith(room + "/") and
                       k.endswith("/audio"))
        video = sorted(v for k, v in frames.items() if k.startswith(room + "/") and
                       "/video" in k)
        per_room.append({
            "room": room, "worker": placement[room],
            "peers_connected": sum(v for k, v in connected.items() if k.startswith(room + "/")),
            "peers_expected": n,
            "audio_frames_min": audio[0] if audio else 0,
            "audio_frames_median": statistics.median(audio) if audio else 0,
            "audio_frames_expected": exp_audio,
            "audio_pct": round(100 * sum(audio) / max(1, exp_audio * n), 1),
            "video_frames_min": video[0] if video else 0,
            "video_frames_median": statistics.median(video) if video else 0,
            "video_frames_expected": exp_video, "video_slots": len(video),
            "video_pct": round(100 * sum(video) / max(1, exp_video * n * 4), 1),
            "audio_gaps_over_60ms": sum(v for k, v in gaps.items() if k.startswith(room + "/")),
        })
    return {
        "server": "ours", "case": f"capacity-{groups}x{n}", "groups": groups, "n": n,
        "workers": workers, "talkers_per_group": talkers,
        "loadavg_before": la_before, "loadavg": la, "loadavg_end": la_end,
        "window_s": round(win, 1), "setup_s": round(setup_s, 1),
        "silent_tracks_at_setup": sum(r.get("silent_tracks", 0) for r in ready),
        "rooms": per_room,
        "worker_cpu_pct": worker_cpu, "server_cpu_pct": round(sum(worker_cpu.values()), 1),
        "worker_rooms": {k: sum(1 for r in rooms if placement[r] == k) for k in pids},
        "worker_tick_late_100ms": {k: int(delta("ticks_late_100ms", k)) for k in pids},
        "worker_tick_lag_max_ms": {k: p1[k].get("tick_lag_max_ms") for k in pids},
        "worker_peer_failures": {k: int(delta("peer_failures", k)) for k in pids},
        "worker_underruns": int(sum(delta("audio_underruns", k) for k in pids)),
        "opus_encodes_per_tick": round(sum(delta("opus_encodes", k) for k in pids)
                                       / max(1, sum(delta("tick_count", k) for k in pids)), 2),
        "client_cpu_pct": round(client_cpu, 1),
        "client_loop_lag_max_ms": max(r["loop_lag_max_ms"] for r in reports),
        "client_loop_lag_over_100ms": sum(r["loop_lag_over_100ms"] for r in reports),
        "other_cpu_pct": round(busy - sum(worker_cpu.values()) - client_cpu
                               - 100 * (o1 - o0) / win, 1),
        "connections_lost": sum(r["lost"] for r in reports),
        "udp_drops": d1 - d0,
        "consent_expired_client_side": sum(r["consent_expired"] for r in reports),
        "lost_events": [e for r in reports for e in r["lost_events"]][:20],
        "publisher_kbps": round(sum(r["sent_bytes"] for r in reports) * 8e-3 / win
                                / (groups * n), 1),
    }


def summary(r: dict[str, Any]) -> str:
    lines = [f"capacity {r['groups']}x{r['n']} standard, {r['talkers_per_group']} talking per "
             f"group, {r['workers']} worker(s), {r['window_s']} s, load {r['loadavg']} "
             f"(end {r['loadavg_end']}):",
             "| room | worker | peers connected | audio frames per peer min / median / expected "
             "| video frames per slot min / median / expected | audio delivered | video "
             "delivered |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for x in r["rooms"]:
        lines.append(
            f"| {x['room']} | {x['worker']} | {x['peers_connected']}/{x['peers_expected']} | "
            f"{x['audio_frames_min']} / {x['audio_frames_median']} / "
            f"{x['audio_frames_expected']} | {x['video_frames_min']} / "
            f"{x['video_frames_median']} / {x['video_frames_expected']} "
            f"({x['video_slots']} slots) | {x['audio_pct']}% | {x['video_pct']}% |")
    lines.append(
        f"workers {r['worker_cpu_pct']} (% core; total {r['server_cpu_pct']}), load generator "
        f"{r['client_cpu_pct']}% (loop lag max {r['client_loop_lag_max_ms']} ms), other "
        f"{r['other_cpu_pct']}%; connections lost {r['connections_lost']} (consent expired "
        f"{r['consent_expired_client_side']}), UDP datagrams dropped {r['udp_drops']}, "
        f"worker ticks >100 ms late {r['worker_tick_late_100ms']}, underruns "
        f"{r['worker_underruns']}, Opus encodes/tick {r['opus_encodes_per_tick']}")
    return "\n".join(lines)
