"""A call's audio as Companion holds it: the WebRTC leg Janus's SIP plugin offers for a call,
answered here with G.711 (what the phone network speaks, so Janus relays the caller's packets
as they are and nothing is transcoded twice) and telephone events for the caller's keys.

The line does no codec work on a call: G.711 payloads are relayed as they arrive. The caller's
go to whoever listens (``on_voice``: the room's leg, engine.py, to the media worker that mixes
them); what the caller hears is one :class:`CallerHears` track of payloads: a prompt while one
is playing (encoded here with G.711's tables), else the room's mix as the worker encoded it,
else silence; so prompts are spoken over the room ("you are muted") without renegotiating.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from companion.dialin.dtmf import TelephoneEvents
from companion.media import compat
from companion.media.g711 import DECODE, ENCODE

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz, G.711's usual packet
PHONE_CODECS = ("audio/pcmu", "audio/pcma")
TELEPHONE_EVENT = "audio/telephone-event"
Law = str  # "pcmu" or "pcma"


def read_prompt(path: Path) -> np.ndarray:
    """A prompt recording (8 kHz mono 16-bit WAV, what `companion dialin-prompts` writes)."""
    with wave.open(str(path), "rb") as recording:
        if (recording.getframerate(), recording.getnchannels(), recording.getsampwidth()) != (
                RATE, 1, 2):
            raise ValueError(f"{path.name} is not 8 kHz mono 16-bit audio")
        return np.frombuffer(recording.readframes(recording.getnframes()), dtype="<i2").copy()


def encode(samples: np.ndarray, law: Law) -> bytes:
    """16-bit samples as G.711 payload bytes."""
    return ENCODE[law][samples.astype(np.int32) + 32768].tobytes()


def decode(payload: bytes, law: Law) -> np.ndarray:
    return DECODE[law][np.frombuffer(payload, dtype=np.uint8)]


def transcode(payload: bytes, source: Law, target: Law) -> bytes:
    """One law's payload in the other's (a phone that answered in A-law, a room leg in μ-law)."""
    return payload if source == target else encode(decode(payload, source), target)


@dataclass(slots=True)
class Payload:
    """One 20 ms G.711 packet's payload for a sender whose encoder is :class:`Packer`."""

    data: bytes
    timestamp: int


class Packer:
    """A sender's "encoder" for payloads already encoded: each goes out as it is."""

    def pack(self, payload: Payload) -> tuple[list[bytes], int]:
        return [payload.data], payload.timestamp


def relay(sender: RTCRtpSender) -> None:
    """``sender`` sends its track's :class:`Payload` objects as they are (no encoder)."""
    compat.replace_encoder(sender, Packer())


class CallerHears(MediaStreamTrack):
    """What is sent to the caller, 20 ms at a time, in the call's law (set once negotiated)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.law: Law = "pcmu"
        self._prompts: deque[np.ndarray] = deque()
        self._room: deque[bytes] = deque(maxlen=10)  # 200 ms: a late mix is dropped
        self._room_law: Law | None = None
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

    def hear_room(self, law: Law | None) -> None:
        """From now on the caller hears the room's payloads (``room``) in ``law``, or no room
        for None."""
        self._room_law, self._room = law, deque(maxlen=10)

    def room(self, payload: bytes) -> None:
        """One packet of the room's mix (the caller's mix-minus), as the worker encoded it."""
        if self._room_law is not None:
            self._room.append(payload)

    async def recv(self) -> Payload:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._started is None:
            self._started = time.monotonic()
        wait = self._started + self._sent / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._prompts:
            data = encode(self._prompts.popleft(), self.law)
        elif self._room and self._room_law is not None:
            data = transcode(self._room.popleft(), self._room_law, self.law)
        else:
            data = encode(_SILENCE, self.law)
        payload = Payload(data, self._sent)
        self._sent += FRAME
        return payload

    def stop(self) -> None:
        self.hear_room(None)
        super().stop()


_SILENCE = np.zeros(FRAME, dtype=np.int16)


class PhoneLeg:
    """One call's WebRTC leg to Janus. ``on_key(key)`` is told each key the caller presses by
    telephone event (SIP INFO keys come from Janus's events instead: see ``dtmf.key_of_info``).
    ``on_voice``, once set, is given each packet of the caller's voice, in ``law``."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.hears = CallerHears()
        self.law: Law | None = None  # the call's, once negotiated
        self.on_voice: Callable[[bytes], None] | None = None
        self._keys = TelephoneEvents(on_key)
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        relay(self._pc.addTrack(self.hears))

    @property
    def answered(self) -> bool:
        """The phone's side of the audio is set (an answered call, or one that took ours)."""
        return self._pc.remoteDescription is not None

    def _voice(self, law: Law) -> Callable[[bytes, int], None]:
        def heard(payload: bytes, timestamp: int) -> None:
            if self.on_voice is not None and self.law is not None:
                self.on_voice(transcode(payload, law, self.law))
        return heard

    def _take(self, transceiver: object, sdp: str) -> None:
        """Once the call's audio is agreed: its law, and the caller's packets (voice in either
        law, keys as telephone events) taken before aiortc's decoders, which never run."""
        voice = [c for c in compat.offered_codecs(sdp, "audio")
                 if c.mimeType.lower() in PHONE_CODECS]
        if not voice:
            raise ValueError("the call offers no G.711 audio")
        self.law = self.hears.law = voice[0].mimeType.lower().removeprefix("audio/")
        receiver = transceiver.receiver  # type: ignore[attr-defined]
        for codec in voice:
            if codec.payloadType is not None:
                compat.intercept_payload_type(
                    receiver, codec.payloadType,
                    self._voice(codec.mimeType.lower().removeprefix("audio/")))
        events = _telephone_events_offered(sdp)
        if events and events[0].payloadType is not None:
            compat.intercept_payload_type(receiver, events[0].payloadType, self._keys.packet)

    async def answer(self, offer_sdp: str) -> str:
        """Answer Janus's offer for the call: G.711 first, telephone events if offered.
        ValueError when the offer has no G.711 (Janus relays, it does not transcode)."""
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        transceiver = next(t for t in self._pc.getTransceivers() if t.kind == "audio")
        voice = [c for c in compat.codecs_of(transceiver)
                 if c.mimeType.lower() in PHONE_CODECS][:1]  # the phone's first choice only
        if not voice:
            raise ValueError("the call offers no G.711 audio")
        compat.keep_codecs(transceiver, voice + _telephone_events_offered(offer_sdp))
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        self._take(transceiver, self._pc.localDescription.sdp)
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
        transceiver = next(t for t in self._pc.getTransceivers() if t.kind == "audio")
        # aiortc kept only the codecs it knows; the receiver is set up from this list once the
        # connection is up (after this returns), so telephone events reach it too.
        compat.keep_codecs(transceiver, compat.codecs_of(transceiver)
                           + _telephone_events_offered(answer_sdp))
        self._take(transceiver, answer_sdp)

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
