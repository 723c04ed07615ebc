#!/usr/bin/env python3
"""What a phone caller costs beside a WebRTC participant (issue 17), in the same run.

    .venv/bin/python bench/dialin_bench.py [--callers 6] [--duration 20] [--warmup 4]

Two groups against one product media worker (a subprocess), everyone talking (a tone each):
  webrtc  N aiortc participants offering Opus, as browsers do;
  phone   N phone legs: a "trunk" process offers G.711 and telephone events as Janus's SIP
          plugin relays a phone's call, and this process is the dial-in engine: it answers
          each with Companion's PhoneLeg and bridges it into the room with a RoomLeg (G.711
          relayed; the worker decodes and encodes it).
The load peers run in a child process so their codecs are not counted. It prints one JSON
line: the worker's CPU per participant in each case, the engine's CPU per phone leg, and the
ratio of a phone leg's whole cost (engine and worker) to a WebRTC participant's (worker).
CPU is read from /proc/<pid>/stat over the measurement window only.
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
os.environ.setdefault("COMPANION_MEDIA_SECRET", secrets.token_urlsafe(32))

import numpy as np  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from av import AudioFrame  # noqa: E402

from companion.dialin.engine import RoomLeg  # noqa: E402
from companion.dialin.phone_leg import PhoneLeg  # noqa: E402
from companion.media import compat  # noqa: E402
from companion.media.client import MediaClient  # noqa: E402
from companion.media.process import WorkerProcess  # noqa: E402
from companion.media.protocol import OfferRequest, Profile  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, freq: float, rate: int) -> None:
        super().__init__()
        self.freq, self.rate, self.sent, self.start = freq, rate, 0, 0.0

    async def recv(self) -> AudioFrame:
        samples = self.rate // 50
        if not self.start:
            self.start = time.monotonic()
        wait = self.start + self.sent / self.rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(samples) + self.sent) / self.rate
        pcm = (3000 * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = self.rate, self.sent
        frame.time_base = fractions.Fraction(1, self.rate)
        self.sent += samples
        return frame


async def _drain(track: MediaStreamTrack) -> None:
    try:
        while True:
            await track.recv()
    except Exception:  # noqa: BLE001 - the call or the bench ended
        return


async def _offerer(index: int, phone: bool) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    transceiver = pc.addTransceiver(Tone(300 + 50 * index, 8000 if phone else 48000),
                                    direction="sendrecv")
    if phone:  # what Janus offers for a phone call: G.711 as the caller's phone speaks it
        codecs = RTCRtpSender.getCapabilities("audio").codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType == "audio/PCMU"])
    pc.on("track", lambda track: asyncio.ensure_future(_drain(track)))
    await pc.setLocalDescription(await pc.createOffer())
    return pc


def load(conn: Any, count: int, phone: bool, worker: tuple[str, int] | None) -> None:
    """The child process: ``count`` offerers; WebRTC ones join the worker directly, phone
    ones hand their offers to the parent (the engine) through ``conn``."""
    compat.install_host_addresses(["127.0.0.1"])

    async def main() -> None:
        pcs = [await _offerer(i, phone) for i in range(count)]
        client = None if phone else MediaClient(*worker, secret=os.environ[  # type: ignore[misc]
            "COMPANION_MEDIA_SECRET"])
        for i, pc in enumerate(pcs):
            if phone:
                conn.send(pc.localDescription.sdp)
                answer = await asyncio.to_thread(conn.recv)
            else:
                reply = await asyncio.to_thread(client.send, OfferRequest(  # type: ignore[union-attr]
                    "session:1", f"web{i}", pc.localDescription.sdp, Profile.AUDIO_ONLY), 20)
                answer = reply["sdp"]
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        conn.send("ready")
        await asyncio.to_thread(conn.recv)  # "stop"
        for pc in pcs:
            await pc.close()

    asyncio.run(main())


async def phone_case(conn: Any, count: int, client: MediaClient) -> list[Any]:
    """This process as the engine: a PhoneLeg answering each trunk offer, bridged in."""
    legs = []
    for i in range(count):
        offer = await asyncio.to_thread(conn.recv)
        leg = PhoneLeg(on_key=lambda key: None)
        conn.send(await leg.answer(offer))
        heard: list[bytes] = []
        leg.on_voice = heard.append
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.05)
        assert heard, "a phone leg's audio never arrived"
        room = RoomLeg(client, 1, 1000 + i, leg)
        await room.open()
        legs.append((leg, room))
    return legs


def measure(case: str, count: int, args: argparse.Namespace) -> dict[str, float]:
    worker = WorkerProcess("127.0.0.1", 0, {
        **os.environ, "COMPANION_MEDIA_HOST_ADDRESSES": "127.0.0.1",
        "COMPANION_ICE_SERVERS": "[]", "COMPANION_MEDIA_LOG": "WARNING"})
    worker.start()
    client = MediaClient(worker.host, worker.port, secret=worker.secret)
    parent, child = mp.Pipe()
    peers = mp.get_context("spawn").Process(
        target=load, args=(child, count, case == "phone", (worker.host, worker.port)))
    peers.start()

    async def run() -> dict[str, float]:
        legs = await phone_case(parent, count, client) if case == "phone" else []
        assert await asyncio.to_thread(parent.recv) == "ready"
        await asyncio.sleep(args.warmup)
        w0, e0, t0 = proc_cpu(worker.proc.pid), proc_cpu(os.getpid()), time.monotonic()
        await asyncio.sleep(args.duration)
        w1, e1, t1 = proc_cpu(worker.proc.pid), proc_cpu(os.getpid()), time.monotonic()
        parent.send("stop")
        for leg, room in legs:
            await room.close()
            await leg.close()
        return {"worker": (w1 - w0) / (t1 - t0), "engine": (e1 - e0) / (t1 - t0)}

    try:
        return asyncio.run(run())
    finally:
        peers.join(20)
        client.close()
        worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=6)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=4)
    args = parser.parse_args()
    compat.install_host_addresses(["127.0.0.1"])
    n = args.callers
    webrtc = measure("webrtc", n, args)
    phone = measure("phone", n, args)
    per_webrtc = webrtc["worker"] / n
    per_phone_worker, per_phone_engine = phone["worker"] / n, phone["engine"] / n
    print(json.dumps({
        "participants": n, "duration_s": args.duration,
        "worker_cpu_per_webrtc_participant": round(per_webrtc, 4),
        "worker_cpu_per_phone_leg": round(per_phone_worker, 4),
        "engine_cpu_per_phone_leg": round(per_phone_engine, 4),
        "phone_leg_over_webrtc_participant": round(
            (per_phone_worker + per_phone_engine) / per_webrtc, 2)}))


if __name__ == "__main__":
    main()
