"""Forwarding encoded media through aiortc without decoding or encoding it.

The aiortc internals this relies on are compat.py's (its docstring says what they are):

* :func:`tap_receiver` replaces a receiver's decoder queue, before the receiver starts, with a
  :class:`FrameTap` whose ``put`` hands each encoded frame to a callback on the event loop, right
  where the decoder would have run. The decoder thread still starts, reads from the tap's own
  idle queue and ends when the receiver stops; it never sees a frame and never builds a decoder.
* :func:`install_packer` gives a sender a packer as its encoder, so no Opus or VP8 encoder is
  built for a forwarded or pre-encoded stream (the track hands :class:`EncodedFrame` objects),
  and routes a subscriber's PLI/FIR to a callback so the publisher is asked instead.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiortc import MediaStreamError, MediaStreamTrack

from companion.media import compat
from companion.media.compat import JitterFrame

log = logging.getLogger("companion.media")

VIDEO_CLOCK = 90000
FRAME_GAP = VIDEO_CLOCK // 30  # timestamp step used when a slot switches source


@dataclass(slots=True)
class EncodedFrame:
    """One encoded frame ready to be packetized: ``timestamp`` in the codec clock."""

    data: bytes
    timestamp: int
    keyframe: bool = False


def vp8_is_keyframe(data: bytes) -> bool:
    """A VP8 frame (payload descriptor already stripped) is a keyframe when P (bit 0) is 0."""
    return bool(data) and (data[0] & 0x01) == 0


class FrameTap:
    """Stands in for a receiver's decoder queue (see module docstring)."""

    def __init__(self, sink: Callable[[Any, JitterFrame], None]) -> None:
        self._sink = sink
        self._idle: queue.Queue[Any] = queue.Queue()

    def put(self, item: Any) -> None:
        if item is None:  # the receiver stops its decoder thread
            self._idle.put(None)
            return
        codec, frame = item
        try:
            self._sink(codec, frame)
        except Exception:  # a bad frame must not kill the receiver's RTP handling
            log.exception("media tap failed on one frame")

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._idle.get(*args, **kwargs)


def tap_receiver(receiver: Any, sink: Callable[[Any, JitterFrame], None]) -> None:
    """Route ``receiver``'s encoded frames to ``sink(codec, frame)`` instead of a decoder.

    Must be called before the receiver starts (i.e. right after setRemoteDescription).
    """
    compat.replace_decoder_queue(receiver, FrameTap(sink))


def set_audio_jitter_buffer(receiver: Any, buffer: Any) -> None:
    """Replace an audio receiver's jitter buffer (aiortc's holds 4 frames = 80 ms)."""
    compat.replace_jitter_buffer(receiver, buffer)


class PassThroughJitterBuffer:
    """For audio (one RTP packet per frame): hand each in-order packet on at once.

    Late packets (older than the last one handed on) are dropped; reordering and jitter are
    absorbed by the mixer's playout buffer instead, which adds no delay on a clean link.
    """

    capacity = 16

    def __init__(self) -> None:
        self._last: int | None = None

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        if self._last is not None and ((seq - self._last) & 0xFFFF) >= 0x8000:
            return False, None  # late or duplicate
        if self._last is not None and seq == self._last:
            return False, None
        self._last = seq
        return False, JitterFrame(data=compat.depayloaded(packet), timestamp=packet.timestamp)


class Vp8Packer:
    """What a forwarding sender uses instead of aiortc's VP8 encoder: packetize, never encode."""

    def __init__(self) -> None:
        import random

        self.picture_id = random.randint(0, (1 << 15) - 1)

    def pack(self, frame: EncodedFrame) -> tuple[list[bytes], int]:
        payloads = compat.vp8_packetize(frame.data, self.picture_id)
        self.picture_id = (self.picture_id + 1) % (1 << 15)
        return payloads, frame.timestamp


class OpusPacker:
    """Pre-encoded Opus: one packet per 20 ms frame."""

    def pack(self, frame: EncodedFrame) -> tuple[list[bytes], int]:
        return [frame.data], frame.timestamp


def install_packer(
    sender: Any, packer: Vp8Packer | OpusPacker, on_keyframe_request: Callable[[], None] | None
) -> None:
    """Give ``sender`` a packer (no encoder is ever created) and route PLI/FIR to a callback."""
    compat.replace_encoder(sender, packer)
    if on_keyframe_request is not None:
        compat.route_keyframe_requests(sender, on_keyframe_request)


class EncodedTrack(MediaStreamTrack):
    """A track whose ``recv`` returns :class:`EncodedFrame` objects pushed by the worker.

    Keeps at most ``maxlen`` frames: when the network side stalls, old frames are dropped rather
    than queued (for video a dropped frame makes the slot wait for the next keyframe).
    """

    def __init__(self, kind: str, maxlen: int) -> None:
        super().__init__()
        self.kind = kind
        self._frames: collections.deque[EncodedFrame] = collections.deque()
        self._maxlen = maxlen
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False

    def push(self, frame: EncodedFrame) -> None:
        if self.readyState != "live":
            return
        if len(self._frames) >= self._maxlen:
            self._frames.popleft()
            self.overflowed = True
        self._frames.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def clear(self) -> None:
        self._frames.clear()

    async def recv(self) -> EncodedFrame:  # type: ignore[override]
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class VideoSlot:
    """One receive slot of a subscriber: a sender forwarding one publisher's frames at a time.

    The slot rewrites RTP timestamps so they keep increasing across source switches, and after a
    switch (or a reported loss) it drops frames until the publisher's next keyframe.
    """

    def __init__(self, mid: str, track: EncodedTrack) -> None:
        self.mid = mid
        self.track = track
        self.source: str | None = None
        self.waiting_keyframe = True
        self._out_base = 0
        self._src_base: int | None = None
        self._last_out = -FRAME_GAP
        self.frames_forwarded = 0

    def set_source(self, source: str | None) -> bool:
        """Point the slot at another publisher; True when it changed."""
        if source == self.source:
            return False
        self.source = source
        self.waiting_keyframe = True
        self._src_base = None
        self.track.clear()
        return True

    def need_keyframe(self) -> None:
        self.waiting_keyframe = True

    def forward(self, data: bytes, timestamp: int, keyframe: bool) -> None:
        if self.waiting_keyframe:
            if not keyframe:
                return
            self.waiting_keyframe = False
        if self._src_base is None:
            self._src_base = timestamp
            self._out_base = self._last_out + FRAME_GAP
        out = (self._out_base + (timestamp - self._src_base)) & 0xFFFFFFFF
        self._last_out = out
        self.track.push(EncodedFrame(data, out, keyframe))
        if self.track.overflowed:
            self.track.overflowed = False
            self.waiting_keyframe = True  # a frame was dropped: resume at a keyframe
        self.frames_forwarded += 1


def choose_slot_sources(
    subscriber: str,
    k: int,
    active: str | None,
    recent: Sequence[str],
    publishers: Sequence[str],
) -> list[str]:
    """Who a subscriber should see, best first: the active speaker, then the most recent
    speakers, then the other publishers in the order they joined; never the subscriber."""
    if k <= 0:
        return []
    order: list[str] = []
    pubs = set(publishers)
    for uid in [active, *recent, *publishers]:
        if uid is None or uid == subscriber or uid not in pubs or uid in order:
            continue
        order.append(uid)
        if len(order) == k:
            break
    return order


def assign_slots(current: Sequence[str | None], wanted: Sequence[str]) -> list[str | None]:
    """Place ``wanted`` publishers into slots, keeping anyone already shown where they are
    (fewer switches, fewer keyframes). ``len(wanted) <= len(current)``."""
    result: list[str | None] = [uid if uid in wanted else None for uid in current]
    missing = [uid for uid in wanted if uid not in result]
    for i, uid in enumerate(result):
        if uid is None and missing:
            result[i] = missing.pop(0)
    return result
