"""A call's audio as Companion holds it: the WebRTC leg Janus's SIP plugin offers for a call,
answered here with G.711 (what the phone network speaks, so Janus relays the caller's packets
as they are and nothing is transcoded twice) and telephone events for the caller's keys.

What the caller hears is one :class:`CallerHears` track: a prompt while one is playing, else the
room (any audio track, e.g. a session's mix), else silence; so prompts can be spoken over the
room ("you are muted") without renegotiating anything.
"""

from __future__ import annotations

import asyncio
import fractions
import time
import wave
from collections import deque
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from companion.dialin.dtmf import TelephoneEvents
from companion.media import compat

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz, G.711's usual packet
PHONE_CODECS = ("audio/pcmu", "audio/pcma")
TELEPHONE_EVENT = "audio/telephone-event"


def read_prompt(path: Path) -> np.ndarray:
    """A prompt recording (8 kHz mono 16-bit WAV, what `companion dialin-prompts` writes)."""
    with wave.open(str(path), "rb") as recording:
        if (recording.getframerate(), recording.getnchannels(), recording.getsampwidth()) != (
                RATE, 1, 2):
            raise ValueError(f"{path.name} is not 8 kHz mono 16-bit audio")
        return np.frombuffer(recording.readframes(recording.getnframes()), dtype="<i2").copy()


class CallerHears(MediaStreamTrack):
    """The audio sent to the caller, paced at 20 ms a frame."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._prompts: deque[np.ndarray] = deque()
        self._room: MediaStreamTrack | None = None
        self._room_frames: deque[np.ndarray] = deque(maxlen=10)  # 200 ms: a late mix is dropped
        self._room_task: asyncio.Task[None] | None = None
        self._sent = 0
        self._started: float | None = None

    def say(self, samples: np.ndarray) -> None:
        """Play ``samples`` (int16 at 8 kHz) after what is already queued."""
        for start in range(0, len(samples), FRAME):
            chunk = samples[start:start + FRAME]
            if len(chunk) < FRAME:
                chunk = np.pad(chunk, (0, FRAME - len(chunk)))
            self._prompts.append(chunk)

    def hush(self) -> None:
        self._prompts.clear()

    @property
    def speaking(self) -> bool:
        return bool(self._prompts)

    def hear_room(self, track: MediaStreamTrack | None) -> None:
        """From now on the caller hears ``track`` (between prompts), or silence for None."""
        if self._room_task is not None:
            self._room_task.cancel()
            self._room_task = None
        self._room, self._room_frames = track, deque(maxlen=10)
        if track is not None:
            self._room_task = asyncio.ensure_future(self._read_room(track))

    async def _read_room(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    for start in range(0, len(samples) - FRAME + 1, FRAME):
                        self._room_frames.append(samples[start:start + FRAME])
        except MediaStreamError:
            return

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._started is None:
            self._started = time.monotonic()
        wait = self._started + self._sent / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._prompts:
            samples = self._prompts.popleft()
        elif self._room_frames:
            samples = self._room_frames.popleft()
        else:
            samples = np.zeros(FRAME, dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += FRAME
        return frame

    def stop(self) -> None:
        self.hear_room(None)
        super().stop()


class PhoneLeg:
    """One call's WebRTC leg to Janus. ``on_key(key)`` is told each key the caller presses by
    telephone event (SIP INFO keys come from Janus's events instead: see ``dtmf.key_of_info``)."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.hears = CallerHears()
        self.speaks: MediaStreamTrack | None = None  # the caller's audio, once it arrives
        self._keys = TelephoneEvents(on_key)
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc.addTrack(self.hears)
        self._pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self.speaks = track

    @property
    def answered(self) -> bool:
        """The phone's side of the audio is set (an answered call, or one that took ours)."""
        return self._pc.remoteDescription is not None

    async def answer(self, offer_sdp: str) -> str:
        """Answer Janus's offer for the call: G.711 first, telephone events if offered.
        ValueError when the offer has no G.711 (Janus relays, it does not transcode)."""
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        transceiver = next(t for t in self._pc.getTransceivers() if t.kind == "audio")
        offered = compat.codecs_of(transceiver)
        voice = [c for c in offered if c.mimeType.lower() in PHONE_CODECS]
        if not voice:
            raise ValueError("the call offers no G.711 audio")
        events = _telephone_events_offered(offer_sdp)
        compat.keep_codecs(transceiver, voice + events)
        if events and events[0].payloadType is not None:
            compat.intercept_payload_type(transceiver.receiver, events[0].payloadType,
                                          self._keys.packet)
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        return self._pc.localDescription.sdp

    async def offer(self) -> str:
        """An offer for a call the line places: G.711 only (what the phone network speaks) and
        telephone events, which aiortc does not know and so are written into the SDP here."""
        transceiver = next(t for t in self._pc.getTransceivers() if t.kind == "audio")
        transceiver.setCodecPreferences([
            c for c in RTCRtpSender.getCapabilities("audio").codecs
            if c.mimeType.lower() in PHONE_CODECS])
        await self._pc.setLocalDescription(await self._pc.createOffer())
        return with_telephone_events(self._pc.localDescription.sdp)

    async def accepted(self, answer_sdp: str) -> None:
        """The phone answered the call the line placed (Janus's answer, from the phone's)."""
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        events = _telephone_events_offered(answer_sdp)
        if events and events[0].payloadType is not None:
            # aiortc kept only the codecs it knows; the receiver is set up from this list
            # once the connection is up (after this returns), so telephone events reach it.
            transceiver = next(t for t in self._pc.getTransceivers() if t.kind == "audio")
            compat.keep_codecs(transceiver, compat.codecs_of(transceiver) + events)
            compat.intercept_payload_type(transceiver.receiver, events[0].payloadType,
                                          self._keys.packet)

    async def close(self) -> None:
        self.hears.stop()
        await self._pc.close()


# The payload type offered for telephone events: RFC 4733's usual dynamic one.
EVENTS_PAYLOAD_TYPE = 101


def with_telephone_events(sdp: str) -> str:
    """``sdp`` (one audio section, as PhoneLeg offers) with 8 kHz telephone events for keys
    0-15, after its last codec."""
    lines = sdp.split("\r\n")
    last_codec = max(i for i, line in enumerate(lines) if line.startswith("a=rtpmap:"))
    lines[last_codec + 1:last_codec + 1] = [
        f"a=rtpmap:{EVENTS_PAYLOAD_TYPE} telephone-event/{RATE}",
        f"a=fmtp:{EVENTS_PAYLOAD_TYPE} 0-15"]
    return "\r\n".join(f"{line} {EVENTS_PAYLOAD_TYPE}" if line.startswith("m=audio ") else line
                         for line in lines)


def _telephone_events_offered(sdp: str) -> list[RTCRtpCodecParameters]:
    """The description's 8 kHz telephone-event codec, which aiortc does not know and so drops
    from the transceiver's list: read from the SDP itself."""
    return [codec for codec in compat.offered_codecs(sdp, "audio")
            if codec.mimeType.lower() == TELEPHONE_EVENT and codec.clockRate == RATE][:1]
