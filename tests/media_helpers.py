"""aiortc client peers and a worker subprocess for the media-plane tests (loopback only)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy
from av import AudioFrame, VideoFrame

from companion.media import compat
from companion.media.client import MediaClient
from companion.media.process import WorkerProcess
from companion.media.protocol import OfferAnswer, OfferRequest, Profile

# Client peers offer only 127.0.0.1 (aioice never offers loopback by itself), and no STUN.
compat.install_host_addresses(["127.0.0.1"])

RATE = 48000


class ToneTrack(MediaStreamTrack):
    """48 kHz mono sine in 20 ms frames, paced in real time."""

    kind = "audio"

    def __init__(self, freq: float, amplitude: int = 3000) -> None:
        super().__init__()
        self.freq, self.amplitude = freq, amplitude
        self.n = 0
        self.start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.n * 960 / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(960) + self.n * 960) / RATE
        pcm = (self.amplitude * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.n * 960
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


# a colour per publisher, and the frame number in 8 black/white blocks across the top
COLOURS = [(220, 40, 40), (40, 200, 40), (40, 40, 220), (200, 200, 40)]


class MarkerTrack(MediaStreamTrack):
    """320x180 frames at 15 fps: a solid colour (the publisher's marker) and a frame counter."""

    kind = "video"

    def __init__(self, index: int, width: int = 320, height: int = 180, fps: int = 15) -> None:
        super().__init__()
        self.colour = COLOURS[index % len(COLOURS)]
        self.width, self.height, self.fps = width, height, fps
        self.n = 0
        self.start: float | None = None

    async def recv(self) -> VideoFrame:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.n / self.fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        img = np.empty((self.height, self.width, 3), dtype=np.uint8)
        img[:] = self.colour
        count = self.n % 256
        block = self.width // 8
        for bit in range(8):
            value = 255 if (count >> (7 - bit)) & 1 else 0
            img[:40, bit * block:(bit + 1) * block] = value
        frame = VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = self.n * (90000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self.n += 1
        return frame


def read_marker(frame: VideoFrame) -> tuple[tuple[int, int, int], int]:
    """(mean colour below the counter, frame counter) of a received frame."""
    img = frame.to_ndarray(format="rgb24")
    body = img[60:, :, :].reshape(-1, 3).mean(axis=0)
    block = img.shape[1] // 8
    count = 0
    for bit in range(8):
        count = (count << 1) | int(img[5:35, bit * block + 5:(bit + 1) * block - 5].mean() > 128)
    return (int(body[0]), int(body[1]), int(body[2])), count


def colour_index(colour: tuple[int, int, int]) -> int | None:
    for i, ref in enumerate(COLOURS):
        if all(abs(a - b) < 40 for a, b in zip(colour, ref, strict=True)):
            return i
    return None


class ClientPeer:
    """One participant: audio sendrecv, optional video sendonly, K recvonly video slots."""

    def __init__(self, name: str, freq: float | None = None, video_index: int | None = None,
                 slots: int = 0, video_track: MediaStreamTrack | None = None,
                 codec: str | None = None) -> None:
        self.name = name
        self.codec = codec  # "audio/pcmu": the audio a phone caller's leg offers; else Opus
        self.video_track = video_track
        self.freq = freq
        self.video_index = video_index
        self.n_slots = slots
        self.pc: RTCPeerConnection | None = None
        self.audio: list[np.ndarray] = []
        self.audio_frames = 0
        self.video: dict[str, list[tuple[int | None, int]]] = {}  # mid -> [(colour idx, n)]
        self.tasks: list[asyncio.Task[None]] = []

    async def offer(self) -> RTCSessionDescription:
        pc = self.pc = RTCPeerConnection(RTCConfiguration(
            iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        audio = pc.addTransceiver(ToneTrack(self.freq) if self.freq else "audio",
                                  direction="sendrecv")
        if self.codec is not None:
            audio.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("audio").codecs
                                       if c.mimeType.lower() == self.codec])
        if self.video_track is not None:
            pc.addTransceiver(self.video_track, direction="sendonly")
        elif self.video_index is not None:
            pc.addTransceiver(MarkerTrack(self.video_index), direction="sendonly")
        for _ in range(self.n_slots):
            pc.addTransceiver("video", direction="recvonly")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next(t.mid for t in pc.getTransceivers() if t.receiver.track is track)
            if track.kind == "audio":
                self.tasks.append(asyncio.ensure_future(self._read_audio(track)))
            else:
                self.tasks.append(asyncio.ensure_future(self._read_video(track, str(mid))))

        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription

    async def join(self, client: MediaClient, room: str,
                   profile: Profile = Profile.STANDARD) -> OfferAnswer:
        desc = await self.offer()
        answer = await asyncio.to_thread(client.send,
                                         OfferRequest(room, self.name, desc.sdp, profile), 20)
        assert self.pc is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return answer

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                pcm = frame.to_ndarray().reshape(-1)
                if frame.layout.name == "stereo":
                    pcm = pcm[0::2]
                if frame.sample_rate == 8000:  # G.711: each sample six times, as 48 kHz
                    pcm = np.repeat(pcm, 6)
                self.audio.append(pcm.astype(np.int16))
                self.audio_frames += 1
                if len(self.audio) > 100:
                    del self.audio[:-100]

    async def _read_video(self, track: MediaStreamTrack, mid: str) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                colour, count = read_marker(frame)
                self.video.setdefault(mid, []).append((colour_index(colour), count))

    def recent_audio(self, frames: int = 50) -> np.ndarray:
        return np.concatenate(self.audio[-frames:]) if self.audio else np.zeros(0)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()


def spectrum_peaks(pcm: np.ndarray, freqs: list[float]) -> dict[float, float]:
    """Energy at each frequency relative to the median of the spectrum (in dB)."""
    if len(pcm) < 4800:
        return {f: -100.0 for f in freqs}
    window = np.hanning(len(pcm))
    spec = np.abs(np.fft.rfft(pcm.astype(np.float64) * window))
    bins = np.fft.rfftfreq(len(pcm), 1 / RATE)
    floor = np.median(spec) + 1e-9
    out = {}
    for f in freqs:
        sel = (bins > f - 15) & (bins < f + 15)
        out[f] = float(20 * np.log10(spec[sel].max() / floor))
    return out


async def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())


async def settles(count: Any, quiet: float = 1.0, timeout: float = 8.0) -> bool:
    """Whether ``count()`` stops growing: unchanged over ``quiet`` seconds within ``timeout``.
    Frames already on the wire still arrive after a stop (later on a loaded machine), so a
    check that a stream stopped waits for the tail first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = count()
        await asyncio.sleep(quiet)
        if count() == before:
            return True
    return False


def start_worker(env: dict[str, str] | None = None) -> WorkerProcess:
    """The product's media worker process (``companion.media.process``) on 127.0.0.1, at a
    port the OS chooses, with no STUN servers and quiet logs; the caller stops it."""
    worker = WorkerProcess("127.0.0.1", 0, {
        **os.environ, "COMPANION_MEDIA_HOST_ADDRESSES": "127.0.0.1",
        "COMPANION_ICE_SERVERS": "[]", "COMPANION_MEDIA_LOG": "WARNING", **(env or {})})
    worker.start()
    return worker


@contextlib.contextmanager
def worker_process(env: dict[str, str] | None = None) -> Iterator[WorkerProcess]:
    w = start_worker(env)
    try:
        yield w
    finally:
        w.stop()


def run_async(coro: Any, timeout: float = 60) -> Any:
    """Run a coroutine to completion on a loop of its own, in its own thread: the browser tests'
    Playwright keeps an asyncio loop running in the main thread for the whole session."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, timeout)).result()
