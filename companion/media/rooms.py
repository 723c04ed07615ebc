"""A worker's rooms and their peers: who hears whose mix, who sees whom in which slot.

A :class:`Room` mixes its peers' audio on the worker's 20 ms tick (mixer.py) and keeps its
subscribers' video slots filled (forward.py); a :class:`Peer` is one participant with at most
one live RTCPeerConnection (offers.py sets it up). Rooms reach their worker only through
:class:`RoomHost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import RTCPeerConnection

from companion.media import PROFILES, compat
from companion.media.config import MediaConfig
from companion.media.forward import (
    EncodedFrame,
    EncodedTrack,
    VideoSlot,
    assign_slots,
    choose_slot_sources,
    vp8_is_keyframe,
)
from companion.media.g711 import PHONE_SAMPLES, G711Voice
from companion.media.mixer import (
    FRAME_SAMPLES,
    NoiseGate,
    Pcm,
    PlayoutBuffer,
    SpeakerDetector,
    level_dbov,
    plan_mixes,
)
from companion.media.opus import OpusDecoder, OpusEncoder
from companion.media.protocol import (
    ActiveSpeakerEvent,
    Event,
    EventKind,
    PeerState,
    PeerStateEvent,
    Profile,
    QualityEvent,
    SlotEntry,
    SlotsEvent,
)

log = logging.getLogger("companion.media")

KEYFRAME_MIN_INTERVAL = 0.5
FAILED_GRACE = 60.0  # a failed peer that does not offer again is dropped after this


@dataclass
class WorkerStats:
    """Counters a worker reports in ``ping`` (for the benchmarks and the tests)."""

    tick_sum: float = 0.0
    tick_count: int = 0
    audio_wait_sum: float = 0.0  # of peers that left
    audio_wait_count: int = 0
    audio_underruns: int = 0  # of peers that left
    opus_encodes: int = 0
    ticks_late_100ms: int = 0  # mixer ticks that ran over 100 ms late (the loop lagged)
    tick_lag_max: float = 0.0
    peer_failures: int = 0


class RoomHost(Protocol):
    """What a room needs of the worker holding it."""

    config: MediaConfig
    stats: WorkerStats

    def emit(self, event: Event) -> None: ...

    def forget_room(self, room: Room) -> None: ...


class Peer:
    """One participant in one room: at most one live RTCPeerConnection at a time."""

    def __init__(self, room: Room, uid: str) -> None:
        self.room = room
        self.uid = uid
        self.tag = f"[{room.id} peer={uid}]"
        self.profile = Profile.STANDARD
        self.pc: RTCPeerConnection | None = None
        self.generation = 0
        self.state: PeerState | None = None  # None until its first offer is answered
        self.muted_audio = False
        self.muted_video = False
        self.playout = PlayoutBuffer()
        self.gate = NoiseGate()
        self.receiving_audio = False
        self.audio_out: EncodedTrack | None = None
        self.audio_ts = 0
        self.video_receiver: Any = None
        self.slots: list[VideoSlot] = []
        self.slot_senders: dict[str, Any] = {}
        self.last_keyframe_request = 0.0
        self.failed_at: float | None = None
        self.new = False
        self.last_slots: list[SlotEntry] | None = None
        self.stats_prev: dict[str, float] = {}
        self._decoder: OpusDecoder | None = None
        self._encoder: OpusEncoder | None = None
        self.voice: G711Voice | None = None  # a phone caller's (Profile.PHONE)
        self.config = room.host.config

    # -- capacities
    @property
    def connected(self) -> bool:
        return self.state is PeerState.CONNECTED

    def slot_capacity(self) -> int:
        return min(len(self.slots), PROFILES.get(self.profile, 0))

    def publishing(self) -> bool:
        return (self.video_receiver is not None and not self.muted_video
                and self.profile is not Profile.AUDIO_ONLY)

    def set_state(self, state: PeerState) -> None:
        """Record the connection's state and tell the web process (``peer_state``)."""
        if self.state is state:
            return
        self.state = state
        if state is PeerState.FAILED:
            self.room.host.stats.peer_failures += 1
        log.info("%s %s", self.tag, state)
        event: PeerStateEvent = {"event": EventKind.PEER_STATE, "room": self.room.id,
                                 "peer": self.uid, "state": state}
        self.room.host.emit(event)

    # -- audio in: called from the receiver's tap on the event loop
    def on_audio(self, codec: Any, frame: Any) -> None:
        if self.voice is not None:  # a phone caller: G.711
            self.playout.push(self.voice.decode(frame.data))
            return
        if self._decoder is None:
            self._decoder = OpusDecoder()
        pcm = self._decoder.decode(frame.data)
        if pcm is not None:
            self.playout.push(pcm)

    # -- audio out: called by the room's tick
    def send_mix(self, pcm: Pcm) -> None:
        """Encode a mix of this listener's own (they are talking: everyone but them)."""
        if self.audio_out is None:
            return
        if self.voice is not None:  # a phone caller: G.711, 160 samples a frame
            self.send_packet(self.voice.encode(pcm))
            return
        if self._encoder is None:
            self._encoder = OpusEncoder(self.config.opus_bitrate, self.config.opus_complexity)
        self.room.host.stats.opus_encodes += 1
        packet = self._encoder.encode(pcm)
        if packet is not None:
            self.send_packet(packet)

    def send_packet(self, packet: bytes) -> None:
        """Send one encoded 20 ms mix (own, or the room's shared one)."""
        track = self.audio_out
        if track is None:
            return
        track.push(EncodedFrame(packet, self.audio_ts))
        step = PHONE_SAMPLES if self.voice is not None else FRAME_SAMPLES  # the RTP clock's
        self.audio_ts = (self.audio_ts + step) & 0xFFFFFFFF

    # -- video in: called from the publisher's video receiver tap
    def on_video(self, codec: Any, frame: Any) -> None:
        if not self.publishing():
            return
        data = frame.data
        keyframe = vp8_is_keyframe(data)
        waiting = False
        for slot in self.room.forward_map.get(self.uid, ()):
            slot.forward(data, frame.timestamp, keyframe)
            waiting = waiting or slot.waiting_keyframe
        if waiting:
            self.request_keyframe()

    def request_keyframe(self, force: bool = False) -> None:
        """Send a PLI to this publisher (at most every 0.5 s unless forced)."""
        receiver = self.video_receiver
        if receiver is None:
            return
        now = time.monotonic()
        if not force and now - self.last_keyframe_request < KEYFRAME_MIN_INTERVAL:
            return
        self.last_keyframe_request = now
        rtx = compat.rtx_ssrcs(receiver)
        for source in receiver.getSynchronizationSources():
            if source.source not in rtx:
                asyncio.ensure_future(compat.send_pli(receiver, source.source))

    def on_subscriber_keyframe_request(self, mid: str) -> Callable[[], None]:
        def handler() -> None:
            slot = next((s for s in self.slots if s.mid == mid), None)
            if slot is None or slot.source is None:
                return
            publisher = self.room.peers.get(slot.source)
            if publisher is not None:
                publisher.request_keyframe()

        return handler

    # -- quality, every 5 s while connected
    async def quality_event(self) -> QualityEvent | None:
        """Round-trip time, audio loss and send rate since the last report (aiortc's stats)."""
        pc = self.pc
        if pc is None:
            return None
        stats = await pc.getStats()
        now = time.monotonic()
        rtt: float | None = None
        sent = 0
        received = lost = 0
        for s in stats.values():
            if s.type == "remote-inbound-rtp" and getattr(s, "roundTripTime", None) is not None:
                rtt = s.roundTripTime if rtt is None else max(rtt, s.roundTripTime)
            elif s.type == "outbound-rtp":
                sent += s.bytesSent
            elif s.type == "inbound-rtp":
                received += s.packetsReceived
                lost += max(0, s.packetsLost)
        prev = self.stats_prev
        event: QualityEvent = {"event": EventKind.QUALITY, "room": self.room.id,
                               "peer": self.uid, "profile": self.profile}
        if rtt is not None:
            event["rtt_ms"] = round(rtt * 1000, 1)
        if prev:
            dt = max(1e-3, now - prev["t"])
            event["send_kbps"] = round((sent - prev["sent"]) * 8 / dt / 1000, 1)
            d_recv, d_lost = received - prev["received"], lost - prev["lost"]
            if d_recv + d_lost > 0:
                event["loss"] = round(max(0, d_lost) / (d_recv + max(0, d_lost)), 4)
        self.stats_prev = {"t": now, "sent": sent, "received": received, "lost": lost}
        return event

    # -- connection
    async def close_connection(self) -> None:
        pc, self.pc = self.pc, None
        self.generation += 1
        if self.audio_out is not None:
            self.audio_out.stop()
        self.audio_out = None
        self.receiving_audio = False
        self.video_receiver = None
        for slot in self.slots:
            slot.track.stop()
        self.slots = []
        self.playout.clear()
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()


class Room:
    def __init__(self, host: RoomHost, room_id: str) -> None:
        self.host = host
        self.id = room_id
        self.peers: dict[str, Peer] = {}
        self.speaker = SpeakerDetector()
        self.forward_map: dict[str, list[VideoSlot]] = {}
        self.subscribers: set[Any] = set()  # channel connections that asked about this room
        self._shared_encoder: OpusEncoder | None = None

    def tick(self) -> None:
        frames: dict[str, Pcm] = {}
        levels: dict[str, float] = {}
        listeners: list[str] = []
        for uid, peer in self.peers.items():
            if peer.receiving_audio:
                pcm = peer.playout.pop()
                if pcm is not None and not peer.muted_audio:
                    level = levels[uid] = level_dbov(pcm)
                    if peer.gate.update(level):
                        frames[uid] = pcm
                elif peer.muted_audio:
                    peer.gate.close()
            if peer.audio_out is not None and peer.connected:
                listeners.append(uid)
        if listeners:
            # Each distinct mix is encoded once: one per talker (everyone but them) and one
            # shared by every listener who is not talking (everyone).
            plan = plan_mixes(frames, listeners)
            for uid, pcm in plan.own.items():
                self.peers[uid].send_mix(pcm)
            # A phone caller's share of the common mix is G.711 of their own (each has its
            # filter's state); the Opus packet serves everyone else.
            for uid in [u for u in plan.sharing if self.peers[u].voice is not None]:
                plan.sharing.remove(uid)
                self.peers[uid].send_mix(plan.shared)
            if plan.sharing:
                if self._shared_encoder is None:
                    cfg = self.host.config
                    self._shared_encoder = OpusEncoder(cfg.opus_bitrate, cfg.opus_complexity)
                self.host.stats.opus_encodes += 1
                packet = self._shared_encoder.encode(plan.shared)
                if packet is not None:
                    for uid in plan.sharing:
                        self.peers[uid].send_packet(packet)
        changed = self.speaker.update(levels)
        if changed is not None:
            event: ActiveSpeakerEvent = {"event": EventKind.ACTIVE_SPEAKER, "room": self.id,
                                         "peer": changed}
            self.host.emit(event)
            self.update_slots()

    def update_slots(self) -> None:
        """Refill every subscriber's slots (active speaker, then recent speakers)."""
        publishers = [uid for uid, p in self.peers.items() if p.publishing()]
        forward: dict[str, list[VideoSlot]] = {}
        for sub in self.peers.values():
            if not sub.slots:
                continue
            k = sub.slot_capacity()
            wanted = choose_slot_sources(sub.uid, k, self.speaker.active, self.speaker.recent,
                                         publishers)
            current = [s.source for s in sub.slots[:k]]
            placed = assign_slots(current, wanted) + [None] * (len(sub.slots) - k)
            for slot, source in zip(sub.slots, placed, strict=True):
                if slot.set_source(source) and source is not None:
                    self.peers[source].request_keyframe(force=True)
                if source is not None:
                    forward.setdefault(source, []).append(slot)
            rank = {uid: i for i, uid in enumerate(wanted)}
            ordered = sorted(sub.slots, key=lambda s: rank.get(s.source, len(rank))
                             if s.source is not None else len(rank) + 1)
            report: list[SlotEntry] = [{"mid": s.mid, "user_id": s.source} for s in ordered]
            if report != sub.last_slots:
                sub.last_slots = report
                event: SlotsEvent = {"event": EventKind.SLOTS, "room": self.id,
                                     "peer": sub.uid, "slots": report}
                self.host.emit(event)
        self.forward_map = forward

    def housekeeping(self) -> None:
        now = time.monotonic()
        for peer in list(self.peers.values()):
            # Keyframe requests can be lost: ask again while a slot waits for one.
            if any(s.waiting_keyframe for s in self.forward_map.get(peer.uid, ())):
                peer.request_keyframe()
            if peer.failed_at is not None and now - peer.failed_at > FAILED_GRACE:
                log.info("%s gone after failing; dropped", peer.tag)
                asyncio.ensure_future(self.remove_peer(peer.uid))

    async def remove_peer(self, uid: str) -> None:
        """The peer leaves (``closed``); a room without peers is gone from its worker."""
        peer = self.peers.pop(uid, None)
        if peer is None:
            return
        stats = self.host.stats
        stats.audio_wait_sum += peer.playout.wait_sum
        stats.audio_wait_count += peer.playout.wait_count
        stats.audio_underruns += peer.playout.underruns
        await peer.close_connection()
        self.speaker.remove(uid)
        peer.set_state(PeerState.CLOSED)
        self.update_slots()
        if not self.peers:
            self.host.forget_room(self)

    async def close(self) -> None:
        """Every peer leaves; the room is gone from its worker."""
        for uid in list(self.peers):
            await self.remove_peer(uid)
        self.host.forget_room(self)
        log.info("[%s] closed", self.id)
