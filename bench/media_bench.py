#!/usr/bin/env python3
"""What a Companion media worker costs, measured with aiortc client peers over loopback.

    .venv/bin/python bench/media_bench.py [--duration 20] [--warmup 4] [--procs 2]

Runs, each against a fresh worker subprocess (the same workload as ../shared/bench/janus):
  audio12   one group of 12, everyone talking (a tone each), audio only;
  video6k1  6 participants with audio and 320x180@15 VP8 video, each receiving 1 slot;
  video6k4  the same with 4 slots each (24 forwarded streams).
It prints one JSON line per run and a summary: worker CPU per audio participant, per forwarded
video stream (marginal, k4 - k1 over the 18 extra streams, and all-in), and the delay the
worker adds to audio (time a decoded frame waits before it is mixed, plus the mixer tick).
The worker's CPU is read from /proc/<pid>/stat over the measurement window only.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import multiprocessing as mp
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The media channel's secret: the bench's workers and its load processes inherit it.
os.environ.setdefault("COMPANION_MEDIA_SECRET", secrets.token_urlsafe(32))

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def client_proc(spec: dict[str, Any], conn: Any) -> None:
    """A client process: its share of the peers; reports frame counts when told to."""
    import numpy as np
    from aiortc import MediaStreamTrack
    from av import VideoFrame

    from companion.media.client import MediaClient
    from companion.media.protocol import Profile
    from tests.media_helpers import ClientPeer

    class PatternTrack(MediaStreamTrack):
        """320x180@15 like the Janus harness: a 60-frame loop of scrolling 8x8 random blocks."""

        kind = "video"

        def __init__(self, seed: int) -> None:
            super().__init__()
            rng = np.random.default_rng(seed)
            base = rng.integers(0, 255, (180 // 8 + 1, 320 // 8 + 60, 3), dtype=np.uint8)
            big = base.repeat(8, 0).repeat(8, 1)
            self.frames = []
            for i in range(60):
                img = np.ascontiguousarray(big[:180, i * 4 % 480:i * 4 % 480 + 320])
                img[:, (i * 5) % 320:(i * 5) % 320 + 10] = 255
                self.frames.append(VideoFrame.from_ndarray(img, format="rgb24")
                                   .reformat(format="yuv420p"))
            self.n = 0
            self.start: float | None = None

        async def recv(self) -> VideoFrame:
            if self.start is None:
                self.start = time.monotonic()
            wait = self.start + self.n / 15 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            frame = self.frames[self.n % 60]
            frame.pts = self.n * 6000
            frame.time_base = fractions.Fraction(1, 90000)
            self.n += 1
            return frame

    async def main() -> None:
        client = MediaClient(spec["host"], spec["port"],
                             secret=os.environ["COMPANION_MEDIA_SECRET"])
        peers = [ClientPeer(name, freq=freq, slots=slots,
                            video_track=PatternTrack(int(name)) if video else None)
                 for name, freq, video, slots in spec["peers"]]
        for p in peers:
            await p.join(client, spec["room"], profile=Profile(spec["profile"]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ok = all(p.audio_frames > 0 for p in peers) and all(
                len(p.video) >= min(p.n_slots, spec["expect_slots"]) for p in peers)
            if ok:
                break
            await asyncio.sleep(0.2)
        conn.send({"ready": True})
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # start
        a0 = {p.name: p.audio_frames for p in peers}
        v0 = {p.name: sum(len(v) for v in p.video.values()) for p in peers}
        cpu0 = time.process_time()
        await loop.run_in_executor(None, conn.recv)  # stop
        conn.send({
            "audio": [p.audio_frames - a0[p.name] for p in peers],
            "video": [sum(len(v) for v in p.video.values()) - v0[p.name] for p in peers],
            "cpu_s": time.process_time() - cpu0,
        })
        for p in peers:
            await p.close()
        client.close()

    asyncio.run(main())


def run_case(name: str, n: int, video: bool, slots: int, profile: str, args: Any) -> dict:
    from tests.media_helpers import start_worker

    worker = start_worker({"COMPANION_MEDIA_OPUS_COMPLEXITY": str(args.complexity)})
    try:
        peers = [[str(i + 1), 200 + 50 * (i % 17), video, slots] for i in range(n)]
        pipes, procs = [], []
        for w in range(args.procs):
            parent, child = mp.Pipe()
            spec = {"host": worker.host, "port": worker.port, "room": f"bench:{name}",
                    "profile": profile, "peers": peers[w::args.procs],
                    "expect_slots": min(slots, n - 1)}
            proc = mp.Process(target=client_proc, args=(spec, child), daemon=True)
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        for pipe in pipes:
            if not pipe.poll(90):
                raise RuntimeError(f"{name}: clients not ready in 90 s")
            pipe.recv()
        time.sleep(args.warmup)
        from companion.media.client import MediaClient

        mc = MediaClient(worker.host, worker.port, secret=worker.secret)
        p0 = mc.ping()
        c0, t0 = proc_cpu(worker.proc.pid), time.monotonic()
        for pipe in pipes:
            pipe.send("start")
        time.sleep(args.duration)
        c1, t1 = proc_cpu(worker.proc.pid), time.monotonic()
        p1 = mc.ping()
        for pipe in pipes:
            pipe.send("stop")
        reports = [pipe.recv() for pipe in pipes]
        for proc in procs:
            proc.join(20)
        mc.close()
    finally:
        worker.stop()
    window = t1 - t0
    cpu_pct = 100 * (c1 - c0) / window
    waits = (p1["audio_wait_ms_sum"] - p0["audio_wait_ms_sum"]) / max(
        1, p1["audio_wait_count"] - p0["audio_wait_count"])
    ticks = (p1["tick_ms_sum"] - p0["tick_ms_sum"]) / max(1, p1["tick_count"] - p0["tick_count"])
    audio = [a for r in reports for a in r["audio"]]
    vids = [v for r in reports for v in r["video"]]
    return {"case": name, "n": n, "slots": slots, "window_s": round(window, 1),
            "worker_cpu_pct": round(cpu_pct, 2),
            "audio_frames_min": min(audio), "audio_frames_expected": int(window * 50),
            "video_frames_min_per_peer": min(vids) if video else 0,
            "client_cpu_pct": round(100 * sum(r["cpu_s"] for r in reports) / window, 1),
            "audio_wait_ms": round(waits, 2), "tick_ms": round(ticks, 3),
            "video_codecs_in_worker": {k: v for k, v in p1["codecs"].items()
                                       if k.startswith(("Vp8", "H264"))}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=4)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--complexity", type=int, default=4)
    parser.add_argument("--cases", default="audio12,video6k1,video6k4")
    args = parser.parse_args()
    os.environ.setdefault("COMPANION_MEDIA_HOST_ADDRESSES", "127.0.0.1")
    cases = {
        "audio12": (12, False, 0, "audio_only"),
        "video6k1": (6, True, 1, "low_bandwidth"),
        "video6k4": (6, True, 4, "standard"),
    }
    results = {}
    for name in args.cases.split(","):
        res = run_case(name, *cases[name], args)
        results[name] = res
        print(json.dumps(res), flush=True)
    summary: dict[str, Any] = {}
    if "audio12" in results:
        r = results["audio12"]
        summary["audio_cpu_pct_per_participant"] = round(r["worker_cpu_pct"] / 12, 3)
        summary["audio_added_delay_ms"] = round(r["audio_wait_ms"] + r["tick_ms"], 2)
    if "video6k1" in results and "video6k4" in results:
        k1, k4 = results["video6k1"], results["video6k4"]
        summary["video_cpu_pct_per_forwarded_stream_marginal"] = round(
            (k4["worker_cpu_pct"] - k1["worker_cpu_pct"]) / 18, 3)
        summary["video_cpu_pct_per_forwarded_stream_all_in"] = round(
            k4["worker_cpu_pct"] / 24, 3)
    summary["janus_reference"] = {"audio_cpu_pct_per_participant": 1.51,
                                  "video_cpu_pct_per_forwarded_stream_marginal": 0.094,
                                  "video_cpu_pct_per_forwarded_stream_all_in": 0.191}
    print(json.dumps({"summary": summary}), flush=True)


if __name__ == "__main__":
    main()
