#!/usr/bin/env python3
"""Our media worker and Janus, back to back, with the same aiortc client load.

    make bench-media                      # = bench/media/run.sh (root: netns, apt janus)
    bench/media/run.sh --duration 20 --cases audio,video

Run inside bench/media/run.sh's private network namespace. Cases (each one a fresh server):

  audio     1 group of 12, everyone talking: Janus AudioBridge (48 kHz, the shared harness's
            client.py) and our worker (bench/media/load.py, the same ToneTrack);
  video     6 video publishers receiving K=1 then K=4 streams: Janus VideoRoom and our worker
            (the same PatternTrack, VP8 320x180@15 capped at 256 kb/s); per forwarded stream
            both all-in (CPU / 24 streams at K=4) and marginal ((K4 - K1) / 18);
  delay     a click through each server vs the same two peers connected directly;
  capacity  ours alone (bench/media/capacity.py): 3 rooms of 12, standard profile (audio +
            video + 4 slots), on `spawn_workers(W)` with rooms placed by `MediaPool`; clients
            send pre-encoded media and count frames at the RTP level; per-room report.

Server CPU is utime+stime from /proc/<pid>/stat over the measurement window; the clients'
CPU (they share the machine) and everything else's ("other") are reported next to it, with the
load average. One JSON line per case, then a table with the ratios (ours / Janus).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from harness import LoadProcesses, loadavg, proc_cpu, sys_busy  # noqa: E402

# The media channel's secret: the bench's workers and its load processes inherit it.
os.environ.setdefault("COMPANION_MEDIA_SECRET", secrets.token_urlsafe(32))

JANUS_HARNESS = Path(os.environ.get("JANUS_HARNESS", ROOT.parent / "shared/bench/janus"))
CORES = os.cpu_count() or 1

# the shared harness's quiet-machine figures (../shared/bench/janus/README.md)
JANUS_REFERENCE = {"audio_pct_per_participant": 1.51, "video_pct_per_stream_all_in": 0.191,
                   "video_pct_per_stream_marginal": 0.094}


def log(*a: Any) -> None:
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- Janus
class Janus:
    def __init__(self) -> None:
        self.log = os.environ.get("JANUS_LOG", "/tmp/janus-media-bench.log")
        self.proc = subprocess.Popen(
            ["janus", "-F", str(JANUS_HARNESS / "config"), "-N", "-o", "-L", self.log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                with urllib.request.urlopen("http://127.0.0.1:8088/janus/info", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"janus did not start (see {self.log})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def run_janus(mode: str, n: int, k: int | None, a: argparse.Namespace) -> dict[str, Any]:
    la = loadavg()
    janus = Janus()
    try:
        cmd = [sys.executable, str(JANUS_HARNESS / "client.py"), "run", mode, "--groups", "1",
               "--n", str(n), "--duration", str(a.duration), "--warmup", str(a.warmup),
               "--procs", str(a.procs), "--janus-pid", str(janus.proc.pid)]
        if k is not None:
            cmd += ["--k", str(k)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + 240,
                              env={**os.environ, "BENCH_ICE_ADDR": "127.0.0.1"})
    finally:
        janus.stop()
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"janus client failed: {done.stderr[-2000:]}")
    r = json.loads(lines[-1])
    res = {"server": "janus", "case": f"{mode}-n{n}" + (f"-k{k}" if k else ""), "n": n, "k": k,
           "loadavg": la, "window_s": r["window_s"], "server_cpu_pct": r["janus_cpu_pct"],
           "client_cpu_pct": r["client_cpu_pct"], "other_cpu_pct": r["other_cpu_pct"],
           "frames_min": r["frames_min"], "frames_expected": r.get(
               "expected_frames_per_client", r.get("expected_frames_per_stream")),
           "publisher_kbps": r["publisher_kbps"], "publisher_pkts_per_s": r["publisher_pkts_per_s"],
           "server_peak_rss_mb": r["janus_peak_rss_mb"]}
    if mode == "audiobridge":
        res["mix_peak_min"] = r["mix_peak_min"]
    return res


# ---------------------------------------------------------------- our worker
def run_ours(mode: str, groups: int, n: int, k: int, a: argparse.Namespace,
             workers: int = 1, talkers: int | None = None) -> dict[str, Any]:
    from companion.media.client import MediaClient
    from tests.media_helpers import start_worker

    la = loadavg()
    env = {"COMPANION_MEDIA_OPUS_COMPLEXITY": str(a.complexity)}
    pool = [start_worker(env) for _ in range(workers)]  # group g on worker g % workers
    load: LoadProcesses | None = None
    try:
        peers = [[f"bench:{mode}:{g}", i, pool[g % workers].host, pool[g % workers].port]
                 for g in range(groups) for i in range(n)]
        load = LoadProcesses({"mode": mode, "k": k, "setup_timeout": 120,
                              "talkers": n if talkers is None else talkers}, peers, a.procs)
        expect, tell = load.expect, load.tell

        t_setup = time.time()
        expect("ready")
        setup_s = time.time() - t_setup
        time.sleep(a.warmup)
        mcs = [MediaClient(w.host, w.port, secret=w.secret) for w in pool]
        pids = [w.proc.pid for w in pool]
        p0s = [mc.ping() for mc in mcs]
        tell("start")
        c0, b0, o0, t0 = (sum(map(proc_cpu, pids)), sys_busy(), time.process_time(),
                          time.monotonic())
        time.sleep(a.duration)
        c1, b1, o1, t1 = (sum(map(proc_cpu, pids)), sys_busy(), time.process_time(),
                          time.monotonic())
        p1s = [mc.ping() for mc in mcs]
        rss = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss += int(line.split()[1])
        tell("stop")
        reports = expect("frames")
        load.quit(30)
        for mc in mcs:
            mc.close()
    finally:
        if load is not None:
            load.kill()
        for w in pool:
            w.stop()
    win = t1 - t0
    server = c1 - c0
    client = sum(r["cpu_s"] for r in reports)
    busy = 100 * CORES * (b1[0] - b0[0]) / max(1, b1[1] - b0[1])
    participants = groups * n
    audio = sorted(v for r in reports for key, v in r["frames"].items() if "/audio" in key)
    video = sorted(v for r in reports for key, v in r["frames"].items() if "/video" in key)
    sent_pk = sum(r["sent_packets"] for r in reports)
    gaps = sum(v for r in reports for v in r["gaps"].values())

    def delta(key: str) -> float:
        return float(sum(p1.get(key, 0) - p0.get(key, 0) for p0, p1 in zip(p0s, p1s,
                                                                            strict=True)))

    res: dict[str, Any] = {
        "server": "ours", "case": f"{mode}-{groups}x{n}" + (f"-k{k}" if k else ""),
        "groups": groups, "n": n, "k": k, "workers": workers,
        "talkers_per_group": n if talkers is None else talkers, "loadavg": la,
        "window_s": round(win, 2),
        "setup_s": round(setup_s, 1), "server_cpu_pct": round(100 * server / win, 2),
        "client_cpu_pct": round(100 * client / win, 1),
        "other_cpu_pct": round(busy - 100 * (server + client + o1 - o0) / win, 1),
        "publisher_pkts_per_s": round(sent_pk / win / participants, 1),
        "publisher_kbps": round(sum(r["sent_bytes"] for r in reports) * 8e-3 / win
                                / participants, 1),
        "server_peak_rss_mb": round(rss / 1024, 1),
        "connections_lost": sum(r.get("lost", 0) for r in reports),
        "audio_wait_ms": round(delta("audio_wait_ms_sum") / max(1, delta("audio_wait_count")), 2),
        "tick_ms": round(delta("tick_ms_sum") / max(1, delta("tick_count")), 3),
        "worker_underruns": int(delta("audio_underruns")),
        "opus_encodes_per_tick": round(delta("opus_encodes") / max(1, delta("tick_count")), 2),
        "video_codecs_in_worker": {c: v for c, v in p1s[0]["codecs"].items()
                                   if c.startswith(("Vp8", "H264"))},
    }
    if audio:
        res.update(audio_frames_min=audio[0], audio_frames_expected=int(win * 50),
                   audio_frames_total=sum(audio), audio_tracks=len(audio),
                   audio_gaps_over_60ms=gaps)
        peaks = [v for r in reports for v in r["peaks"].values()]
        if peaks:
            res["mix_peak_min"] = min(peaks)
    if video:
        res.update(video_frames_min=video[0], video_frames_expected=int(win * 15),
                   video_frames_total=sum(video), video_tracks=len(video))
    return res


# ---------------------------------------------------------------- delay
def run_delay(a: argparse.Namespace) -> list[dict[str, Any]]:
    import probe

    from tests.media_helpers import start_worker

    out = []
    la = loadavg()
    out.append({"server": "direct", "case": "delay", "loadavg": la,
                **asyncio.run(probe.direct(a.delay_seconds))})
    worker = start_worker({"COMPANION_MEDIA_OPUS_COMPLEXITY": str(a.complexity)})
    try:
        out.append({"server": "ours", "case": "delay", "loadavg": loadavg(),
                    **asyncio.run(probe.through_worker(worker.host, worker.port, worker.secret,
                                                       a.delay_seconds))})
    finally:
        worker.stop()
    if not a.no_janus:
        import load  # noqa: F401  (imports the shared client.py as load.jc)

        janus = Janus()
        try:
            out.append({"server": "janus", "case": "delay", "loadavg": loadavg(),
                        **asyncio.run(probe.through_janus(load.jc, "http://127.0.0.1:8088/janus",
                                                          a.delay_seconds))})
        finally:
            janus.stop()
    return out


# ---------------------------------------------------------------- report
def table(results: list[dict[str, Any]]) -> str:
    def pick(server: str, case: str) -> list[dict[str, Any]]:
        return [r for r in results if r["server"] == server and r["case"] == case]

    def med(rows: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    lines = ["| figure | ours | Janus | ours / Janus | goal | load avg (1 min) during runs |",
             "| --- | --- | --- | --- | --- | --- |"]

    def row(name: str, ours: float | None, janus: float | None, goal: float | None,
            rows: list[dict[str, Any]], unit: str = "% core") -> None:
        ratio = ours / janus if ours is not None and janus else None
        verdict = "" if goal is None or ratio is None else (
            f"<= {goal}x: {'met' if ratio <= goal else 'NOT met'}")
        la = ", ".join(sorted({r["loadavg"].split()[0] for r in rows}))
        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.3f} {unit}"

        lines.append(f"| {name} | {fmt(ours)} | {fmt(janus)} | "
                     f"{'-' if ratio is None else f'{ratio:.2f}x'} | {verdict} | {la} |")

    a_o, a_j = pick("ours", "audio-1x12"), pick("janus", "audiobridge-n12")
    if a_o or a_j:
        ours = med(a_o, "server_cpu_pct")
        janus = med(a_j, "server_cpu_pct")
        row("audio, group of 12 (all talking), CPU per participant",
            ours / 12 if ours is not None else None, janus / 12 if janus is not None else None,
            2, a_o + a_j)
    k1_o, k4_o = pick("ours", "video-1x6-k1"), pick("ours", "video-1x6-k4")
    k1_j, k4_j = pick("janus", "videoroom-n6-k1"), pick("janus", "videoroom-n6-k4")
    if k4_o or k4_j:
        o4, j4 = med(k4_o, "server_cpu_pct"), med(k4_j, "server_cpu_pct")
        row("video 320x180@15, CPU per forwarded stream, all-in (n=6, K=4: 24 streams)",
            o4 / 24 if o4 is not None else None, j4 / 24 if j4 is not None else None, 3,
            k4_o + k4_j)
        o1, j1 = med(k1_o, "server_cpu_pct"), med(k1_j, "server_cpu_pct")
        row("video, CPU per forwarded stream, marginal ((K4 - K1) / 18)",
            (o4 - o1) / 18 if o4 is not None and o1 is not None else None,
            (j4 - j1) / 18 if j4 is not None and j1 is not None else None, None,
            k1_o + k1_j)
    d = {r["server"]: r for r in results if r["case"] == "delay"}
    if "direct" in d:
        base = d["direct"].get("median_ms")
        for server in ("ours", "janus"):
            if server in d and base is not None and d[server].get("median_ms") is not None:
                d[server]["added_ms"] = round(d[server]["median_ms"] - base, 1)
        o = d.get("ours", {}).get("added_ms")
        j = d.get("janus", {}).get("added_ms")
        row("audio delay the server adds (click, median, vs direct)", o, j, None,
            list(d.values()), unit="ms")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default="audio,video,delay,capacity")
    p.add_argument("--rounds", type=int, default=1, help="repeat audio/video, alternating order")
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--procs", type=int, default=2, help="client processes")
    p.add_argument("--complexity", type=int, default=4, help="our Opus complexity")
    p.add_argument("--delay-seconds", type=float, default=10)
    p.add_argument("--capacity-groups", type=int, default=3)
    p.add_argument("--capacity-n", type=int, default=12)
    p.add_argument("--capacity-duration", type=float, default=60)
    p.add_argument("--capacity-workers", default="1,2",
                   help="worker processes for the capacity run (one run per value)")
    p.add_argument("--capacity-talkers", default="1",
                   help="participants talking per group (one run per value)")
    p.add_argument("--no-janus", action="store_true")
    p.add_argument("--out", default=None, help="append the JSON lines to this file")
    a = p.parse_args()
    cases = a.cases.split(",")
    os.environ["COMPANION_MEDIA_HOST_ADDRESSES"] = "127.0.0.1"
    results: list[dict[str, Any]] = []

    def record(res: dict[str, Any]) -> None:
        res["at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        results.append(res)
        print(json.dumps(res), flush=True)
        if a.out:
            with open(a.out, "a") as f:
                f.write(json.dumps(res) + "\n")

    log(f"load average before: {loadavg()}")
    for rnd in range(a.rounds):
        pairs = []
        if "audio" in cases:
            pairs.append((lambda: run_ours("audio", 1, 12, 0, a),
                          lambda: run_janus("audiobridge", 12, None, a)))
        if "video" in cases:
            for k in (1, 4):
                pairs.append((lambda k=k: run_ours("video", 1, 6, k, a),
                              lambda k=k: run_janus("videoroom", 6, k, a)))
        for ours, janus in pairs:
            order = [ours] if a.no_janus else ([ours, janus] if rnd % 2 == 0 else [janus, ours])
            for fn in order:
                record(fn())
    if "delay" in cases:
        for res in run_delay(a):
            record(res)
    if "capacity" in cases:
        import capacity

        for workers in map(int, a.capacity_workers.split(",")):
            for talkers in map(int, a.capacity_talkers.split(",")):
                res = capacity.run_capacity(
                    a.capacity_groups, a.capacity_n, workers, talkers, a.capacity_duration,
                    a.warmup, a.procs, a.complexity)
                record(res)
                log(capacity.summary(res))
    print(table(results), flush=True)
    for res in results:
        if res["case"].startswith("capacity-"):
            print(capacity.summary(res), flush=True)


if __name__ == "__main__":
    main()
