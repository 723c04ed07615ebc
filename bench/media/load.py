#!/usr/bin/env python3
"""aiortc client peers for our media worker (the load side of bench/media/compare.py).

    load.py SPEC_JSON        (started by compare.py; JSON lines on stdout, commands on stdin)

The media is the Janus harness's own (../shared/bench/janus/client.py: ``ToneTrack``, a 48 kHz
sine at 200-1000 Hz, and ``PatternTrack``, VP8 320x180@15), so both servers get the same load.
Modes of a spec:

* ``audio``: each peer sends a tone (sendrecv audio) and decodes its mix; ``audio_only`` profile.
* ``video``: each peer publishes ``PatternTrack`` and receives K slots, audio ``inactive`` (the
  Janus VideoRoom run is video only too); the VP8 cap is 256 kb/s as Janus's REMB cap.
* ``full`` (capacity): audio, video and 4 slots per peer (standard profile) with **pre-encoded**
  media (Opus and VP8 encoded once, then only packetized) and receivers that count encoded
  frames without decoding them: the clients cannot afford 36 Opus and 180 VP8 codecs on 2 cores,
  and the worker sees exactly the same packets as from encoding clients.

Protocol: prints ``{"ready": true}`` once every receive track has media, then waits for
``start`` and ``stop`` lines, prints ``{"frames", "peaks", "gaps", "cpu_s", ...}`` and exits on
``quit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import importlib.util
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
JANUS_HARNESS = Path(os.environ.get("JANUS_HARNESS", ROOT.parent / "shared/bench/janus"))


def janus_client_module() -> Any:
    """The shared harness's client.py (tracks, Janus REST client); patches aioice to 127.0.0.1."""
    spec = importlib.util.spec_from_file_location("janus_client", JANUS_HARNESS / "client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


jc = janus_client_module()

import aiortc.codecs.vpx as vpx  # noqa: E402
import av  # noqa: E402
import numpy as np  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,  # noqa: E402
)
from aiortc.mediastreams import MediaStreamError  # noqa: E402
from aiortc.rtcconfiguration import RTCBundlePolicy  # noqa: E402

from companion.media import consent  # noqa: E402
from companion.media.client import MediaClient  # noqa: E402
from companion.media.forward import (  # noqa: E402
    EncodedFrame,
    OpusPacker,
    Vp8Packer,
    install_packer,
)
from companion.media.protocol import OfferRequest, Profile  # noqa: E402

# Janus's VideoRoom caps publishers with REMB at 256 kb/s (aiortc's floor is 250 kb/s); our
# worker does not cap, so the clients cap themselves to send the same stream.
vpx.DEFAULT_BITRATE = vpx.MAX_BITRATE = 256000


def out(**kw: Any) -> None:
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- pre-encoded media (capacity)
def encode_opus_loop(freq: float, seconds: int = 1, amplitude: int = 2500) -> list[bytes]:
    """A tone encoded once (mono, 32 kb/s, like a browser), 20 ms packets. Amplitude 2500 is
    talking (about -25 dBov); 8 is a quiet room's background after noise suppression (-72)."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "mono", "s16"
    enc.bit_rate = 32000
    enc.time_base = fractions.Fraction(1, 48000)
    t = np.arange(48000 * seconds + 960)
    pcm = (amplitude * np.sin(2 * np.pi * freq * t / 48000)).astype(np.int16)
    packets: list[bytes] = []
    for i in range(50 * seconds + 1):
        frame = av.AudioFrame.from_ndarray(pcm[i * 960:(i + 1) * 960].reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, i * 960
        frame.time_base = fractions.Fraction(1, 48000)
        packets += [bytes(p) for p in enc.encode(frame)]
    return packets[:50 * seconds]


def encode_vp8_loop(phase: int) -> tuple[list[bytes], list[bytes]]:
    """PatternTrack's 60-frame loop in VP8 at 256 kb/s: (delta frames, keyframe of each frame)."""
    frames = jc.pattern_frames()

    def encoder(gop: int) -> Any:
        enc = av.CodecContext.create("libvpx", "w")
        enc.width, enc.height, enc.pix_fmt = jc.W, jc.H, "yuv420p"
        enc.bit_rate, enc.framerate = 256000, fractions.Fraction(jc.FPS, 1)
        enc.time_base = fractions.Fraction(1, jc.FPS)
        enc.gop_size = gop
        enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        return enc

    def picture(i: int) -> Any:
        yb, cb = frames[(i + phase) % jc.LOOP]
        f = av.VideoFrame(jc.W, jc.H, "yuv420p")
        for p, b in zip(f.planes, (yb, cb, cb), strict=True):
            p.update(b)
        f.pts = i
        return f

    delta_enc, key_enc = encoder(10_000), encoder(1)
    delta: list[bytes] = []
    key: list[bytes] = []
    for rnd in range(2):  # the second pass is the loop (rate control settled)
        for i in range(jc.LOOP):
            pkts = [bytes(p) for p in delta_enc.encode(picture(rnd * jc.LOOP + i))]
            if rnd:
                delta.append(pkts[0])
    for i in range(jc.LOOP):
        key.append(bytes(next(iter(key_enc.encode(picture(i))))))
    return delta, key


class LoopTrack(MediaStreamTrack):
    """Pre-encoded frames in real time; a keyframe request makes the next frame a keyframe."""

    def __init__(self, kind: str, frames: list[bytes], period: float, step: int,
                 keyframes: list[bytes] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.frames, self.keyframes = frames, keyframes
        self.period, self.step = period, step
        self.n = 0
        self.t0: float | None = None
        self.want_key = keyframes is not None

    def request_keyframe(self) -> None:
        self.want_key = self.keyframes is not None

    async def recv(self) -> EncodedFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self.t0 is None:
            self.t0 = time.time()
        else:
            self.n += 1
            await asyncio.sleep(self.t0 + self.n * self.period - time.time())
        i = self.n % len(self.frames)
        if self.want_key and self.keyframes is not None:
            self.want_key = False
            return EncodedFrame(self.keyframes[i], self.n * self.step, True)
        return EncodedFrame(self.frames[i], self.n * self.step)


# ---------------------------------------------------------------- peers
class ConsentCounter(logging.Handler):
    """Counts aioice's "Consent to send expired" (RFC 7675: no answer to 6 checks in a row)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.expired = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "onsent" in record.getMessage() and "expired" in record.getMessage():
            self.expired += 1


CONSENT = ConsentCounter()
# Browsers check consent as RFC 7675 says (expiry 30 s after the last answer, retransmitted
# checks); aioice's own checks give up on an answer later than 500 ms. The client peers here
# stand in for browsers, so they use the same RFC 7675 checks as the worker.
consent.install()
logging.getLogger("aioice.ice").addHandler(CONSENT)
logging.getLogger("aioice.ice").setLevel(logging.INFO)
logging.getLogger("companion.media").addHandler(CONSENT)
logging.getLogger("companion.media").setLevel(logging.INFO)


class Load:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.counts: dict[str, int] = {}
        self.peaks: dict[str, int] = {}
        self.last: dict[str, float] = {}
        self.gaps: dict[str, int] = {}  # audio inter-arrival gaps > 60 ms (a listener hears a gap)
        self.expect = 0
        self.pcs: list[RTCPeerConnection] = []
        self.measuring = False
        self.closing = False
        self.lost = 0  # connections that failed or closed before the end
        self.peer_pcs: dict[str, RTCPeerConnection] = {}
        self.lost_events: list[dict[str, Any]] = []
        self.lag_max = 0.0  # this process's event-loop lag (is the load generator saturated?)
        self.lag_over_100ms = 0

    def consume(self, track: MediaStreamTrack, key: str) -> None:
        """Count decoded frames; for audio also the peak sample (as the Janus harness does)."""
        self.counts[key] = 0

        async def run() -> None:
            while True:
                try:
                    f = await track.recv()
                except MediaStreamError:
                    return
                self.counts[key] += 1
                if track.kind == "audio" and self.counts[key] % 10 == 0:
                    a = f.to_ndarray()
                    self.peaks[key] = max(self.peaks.get(key, 0), int(np.abs(a).max()))

        asyncio.ensure_future(run())

    def tap(self, receiver: Any, key: str, audio: bool) -> None:
        """Count frames at the RTP level (capacity mode): the receiver's whole packet path
        (jitter buffer, NACK generator, REMB estimator, decoder queue) is replaced by a counter,
        so the load generator spends its CPU on sending and SRTP only. A video frame is counted
        at its last packet (RTP marker bit); an audio packet is one 20 ms frame."""
        self.counts[key] = 0

        async def handle(packet: Any, arrival_time_ms: int = 0) -> None:
            if audio:
                self.counts[key] += 1
                now = time.monotonic()
                if self.measuring and now - self.last.get(key, now) > 0.060:
                    self.gaps[key] = self.gaps.get(key, 0) + 1
                self.last[key] = now
            elif packet.marker:
                self.counts[key] += 1

        receiver._handle_rtp_packet = handle

    async def peer(self, client: MediaClient, room: str, idx: int, loops: dict[str, Any]) -> None:
        talking = idx < self.spec.get("talkers", 10**6)
        mode, k = self.spec["mode"], self.spec["k"]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[],
                                                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pcs.append(pc)
        self.peer_pcs[f"{room}/p{idx}"] = pc
        freq = 200 + 50 * (idx % 17)
        tag = f"{room}/p{idx}"
        if mode == "audio":
            pc.addTransceiver(jc.ToneTrack(freq), direction="sendrecv")
            self.expect += 1
        elif mode == "video":
            pc.addTransceiver("audio", direction="inactive")
            pc.addTransceiver(jc.PatternTrack(idx * 7), direction="sendonly")
        else:
            opus = loops["opus"][idx % len(loops["opus"])] if talking else loops["quiet"]
            audio = LoopTrack("audio", opus, 0.020, 960)
            video = LoopTrack("video", *loops["vp8"][idx % len(loops["vp8"])][:1], 1 / jc.FPS,
                              90000 // jc.FPS, keyframes=loops["vp8"][idx % len(loops["vp8"])][1])
            ta = pc.addTransceiver(audio, direction="sendrecv")
            tv = pc.addTransceiver(video, direction="sendonly")
            install_packer(ta.sender, OpusPacker(), None)
            install_packer(tv.sender, Vp8Packer(), video.request_keyframe)
            self.expect += 1
        recv = [pc.addTransceiver("video", direction="recvonly") for _ in range(k)]
        self.expect += k

        if mode != "full":
            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                mid = next(t.mid for t in pc.getTransceivers() if t.receiver.track is track)
                self.consume(track, f"{tag}/{track.kind}{mid}")

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and not self.closing:
                self.lost += 1
                self.lost_events.append({"peer": tag, "state": pc.connectionState,
                                         "ice": pc.iceConnectionState,
                                         "measuring": self.measuring, "t": time.time()})
                print(f"{tag}: connection {pc.connectionState} (ice {pc.iceConnectionState})",
                      file=sys.stderr, flush=True)

        await pc.setLocalDescription(await pc.createOffer())
        if mode == "full":
            self.tap(ta.receiver, f"{tag}/audio", audio=True)
            for t in recv:
                self.tap(t.receiver, f"{tag}/video{t.mid}", audio=False)
        profile = Profile.AUDIO_ONLY if mode == "audio" else Profile.STANDARD
        answer = await asyncio.to_thread(
            client.send, OfferRequest(room, str(idx + 1), pc.localDescription.sdp, profile), 60)
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def watch_lag(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.05)
            lag = time.monotonic() - t - 0.05
            if self.measuring:
                self.lag_max = max(self.lag_max, lag)
                self.lag_over_100ms += lag > 0.1

    async def sent(self) -> tuple[int, int]:
        pk = by = 0
        for pc in self.pcs:
            for t in pc.getTransceivers():
                if t.sender.track is None:
                    continue
                for st in (await t.sender.getStats()).values():
                    if st.type == "outbound-rtp":
                        pk, by = pk + st.packetsSent, by + st.bytesSent
        return pk, by

    async def main(self) -> None:
        spec, loop = self.spec, asyncio.get_running_loop()

        async def readline() -> str:
            return (await loop.run_in_executor(None, sys.stdin.readline)).strip()

        asyncio.ensure_future(self.watch_lag())
        loops: dict[str, Any] = {}
        if spec["mode"] == "full":
            freqs = sorted({200 + 50 * (p[1] % 17) for p in spec["peers"]})
            loops["opus"] = [encode_opus_loop(f) for f in freqs[:4]]
            loops["quiet"] = encode_opus_loop(300, amplitude=8)
            loops["vp8"] = [encode_vp8_loop(p * 7) for p in range(2)]
        clients: dict[tuple[str, int], MediaClient] = {}
        for room, idx, host, port in spec["peers"]:  # one at a time (answers wait for ICE)
            if (host, port) not in clients:
                clients[host, port] = MediaClient(
                    host, port, secret=os.environ["COMPANION_MEDIA_SECRET"])
            await self.peer(clients[host, port], room, idx, loops)
        t_end = time.time() + spec["setup_timeout"]
        missing = 0
        while len(self.counts) < self.expect or min(self.counts.values()) < 1:
            if time.time() > t_end:
                missing = self.expect - sum(v > 0 for v in self.counts.values())
                if spec["mode"] != "full":
                    raise RuntimeError(f"no media on {missing} of {self.expect} receive tracks")
                break  # capacity: report what arrives rather than give up
            await asyncio.sleep(0.2)
        out(ready=True, silent_tracks=missing)
        assert await readline() == "start"
        c0, cpu0, s0 = dict(self.counts), time.process_time(), await self.sent()
        self.peaks.clear()
        self.gaps.clear()
        self.measuring = True
        assert await readline() == "stop"
        self.measuring = False
        c1, cpu1, s1 = dict(self.counts), time.process_time(), await self.sent()
        connected = {tag: pc.connectionState == "connected" for tag, pc in self.peer_pcs.items()}
        out(frames={k: c1[k] - c0.get(k, 0) for k in c1}, peaks=self.peaks, gaps=self.gaps,
            cpu_s=cpu1 - cpu0, lost=self.lost, sent_packets=s1[0] - s0[0], sent_bytes=s1[1] - s0[1],
            connected=connected, lost_events=self.lost_events, consent_expired=CONSENT.expired,
            loop_lag_max_ms=round(self.lag_max * 1000, 1), loop_lag_over_100ms=self.lag_over_100ms)
        await readline()  # quit
        self.closing = True
        for pc in self.pcs:
            with contextlib.suppress(Exception):
                await pc.close()
        for client in clients.values():
            client.close()


if __name__ == "__main__":
    asyncio.run(Load(json.loads(sys.argv[1])).main())
