"""The delay a server adds to audio: a click sent by one aiortc peer, timed in another's mix.

A ``ClickTrack`` sends silence with a 10 ms burst at the start of every 25th frame (every
0.5 s) and notes when it handed each click to aiortc (which encodes and sends it at once). The
listener decodes what it receives and notes when each click's onset arrives (the time its frame
came out of aiortc's jitter buffer plus the onset's position in the frame). The same two peers
connected directly (no server) give the floor: client encode, network, aiortc's receive jitter
buffer and decode. What a server adds = median(through the server) - median(direct).
"""

from __future__ import annotations

import asyncio
import fractions
import statistics
import time
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy

RATE = 48000
PERIOD = 25  # frames between clicks


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[],
                                              bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


class ClickTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, clicks: bool = True) -> None:
        super().__init__()
        self.clicks = clicks
        self.n = 0
        self.t0: float | None = None
        self.sent: list[float] = []
        burst = np.zeros(960, dtype=np.int16)
        burst[:480] = (12000 * np.sin(2 * np.pi * 1000 * np.arange(480) / RATE)).astype(np.int16)
        self.burst, self.silence = burst, np.zeros(960, dtype=np.int16)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.t0 is None:
            self.t0 = time.monotonic()
        else:
            self.n += 1
            await asyncio.sleep(self.t0 + self.n * 0.020 - time.monotonic())
        click = self.clicks and self.n % PERIOD == 0 and self.n > 0
        pcm = self.burst if click else self.silence
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, self.n * 960
        frame.time_base = fractions.Fraction(1, RATE)
        if click:
            self.sent.append(time.monotonic())
        return frame


class ClickListener:
    """Reads decoded audio and notes the arrival time of every click onset."""

    def __init__(self) -> None:
        self.onsets: list[float] = []
        self.quiet = True

    def attach(self, track: MediaStreamTrack) -> None:
        async def run() -> None:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                now = time.monotonic()
                pcm = frame.to_ndarray().reshape(-1)
                if frame.layout.name == "stereo":
                    pcm = pcm[0::2]
                loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 3000)
                if loud.size and self.quiet:
                    self.onsets.append(now + loud[0] / RATE)
                self.quiet = not loud.size

        asyncio.ensure_future(run())


def delays_ms(sent: list[float], onsets: list[float]) -> list[float]:
    out = []
    for s in sent:
        later = [o for o in onsets if s <= o < s + 0.45]
        if later:
            out.append(1000 * (later[0] - s))
    return out


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"clicks": 0}
    return {"clicks": len(values), "median_ms": round(statistics.median(values), 1),
            "min_ms": round(min(values), 1), "max_ms": round(max(values), 1)}


async def measure(talker: ClickTrack, listener: ClickListener, seconds: float) -> list[float]:
    await asyncio.sleep(1.5)  # let jitter buffers settle
    talker.sent.clear()
    listener.onsets.clear()
    await asyncio.sleep(seconds)
    return delays_ms(talker.sent, listener.onsets)


async def direct(seconds: float) -> dict[str, Any]:
    """Two aiortc peers connected to each other: the floor every path pays."""
    a, b = new_pc(), new_pc()
    talker, listener = ClickTrack(), ClickListener()
    a.addTransceiver(talker, direction="sendonly")
    b.on("track", listener.attach)
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    try:
        return summary(await measure(talker, listener, seconds))
    finally:
        await a.close()
        await b.close()


async def through_worker(host: str, port: int, secret: str, seconds: float) -> dict[str, Any]:
    """Talker and listener in one room of our media worker."""
    from companion.media.client import MediaClient
    from companion.media.protocol import OfferRequest, Profile

    client = MediaClient(host, port, secret=secret)
    talker, listener = ClickTrack(), ClickListener()
    pcs = []
    try:
        for name, track in (("talker", talker), ("listener", ClickTrack(clicks=False))):
            pc = new_pc()
            pcs.append(pc)
            pc.addTransceiver(track, direction="sendrecv")
            if name == "listener":
                pc.on("track", listener.attach)
            await pc.setLocalDescription(await pc.createOffer())
            answer = await asyncio.to_thread(
                client.send, OfferRequest("bench:delay", name, pc.localDescription.sdp,
                                          Profile.AUDIO_ONLY), 30)
            await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return summary(await measure(talker, listener, seconds))
    finally:
        for pc in pcs:
            await pc.close()
        client.close()


async def through_janus(jc: Any, base: str, seconds: float) -> dict[str, Any]:
    """Talker and listener in one Janus AudioBridge room (48 kHz, the harness's settings)."""
    import aiohttp

    talker, listener = ClickTrack(), ClickListener()
    pcs, sessions = [], []
    async with aiohttp.ClientSession() as http:
        admin = await jc.Janus(http, base).connect()
        sessions.append(admin)
        h = await admin.attach("janus.plugin.audiobridge")
        room = 1999
        data = await admin.request(h, {"request": "create", "room": room, "sampling_rate": 48000,
                                       "audiolevel_event": False, "record": False,
                                       "permanent": False})
        assert data.get("audiobridge") == "created", data
        try:
            for idx, track in enumerate((talker, ClickTrack(clicks=False))):
                js = await jc.Janus(http, base).connect()
                sessions.append(js)
                hh = await js.attach("janus.plugin.audiobridge")
                await js.message(hh, {"request": "join", "room": room, "id": idx + 1,
                                      "display": f"probe{idx}", "muted": False})
                pc = new_pc()
                pcs.append(pc)
                pc.addTransceiver(track, direction="sendrecv")
                if idx == 1:
                    pc.on("track", listener.attach)
                await pc.setLocalDescription(await pc.createOffer())
                _, jsep = await js.message(hh, {"request": "configure", "muted": False},
                                           jc.jsep_of(pc))
                await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], jsep["type"]))
            return summary(await measure(talker, listener, seconds))
        finally:
            for pc in pcs:
                await pc.close()
            for js in sessions:
                await js.close()
