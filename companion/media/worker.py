"""A media worker: one asyncio loop with aiortc, serving rooms to the web process.

Run one with ``companion media`` (or ``python -m companion.media.worker``). It listens on a
loopback TCP port for newline-delimited JSON requests from the web process (see docs/media.md),
once that process has proved it holds the channel secret (handshake.py; anyone else gets
nothing and is closed):

    {"id": 1, "op": "offer", "room": "session:12", "peer": "7", "sdp": "...", "type": "offer",
     "profile": "standard"}        -> {"id": 1, "ok": true, "sdp": ..., "type": "answer"}
    {"id": 2, "op": "leave", "room": ..., "peer": ...}
    {"id": 3, "op": "mute", "room": ..., "peer": ..., "what": "audio"|"video", "muted": true}
    {"id": 4, "op": "profile", "room": ..., "peer": ..., "profile": "low_bandwidth"}
    {"id": 5, "op": "close_room", "room": ...}
    {"id": 6, "op": "ping"}                       -> rooms, peers, cpu, codecs

and pushes events ``{"event": "slots"|"active_speaker"|"peer_state"|"quality", "room", "peer"}``.

Audio is mixed (mixer.py): each peer's Opus is decoded where aiortc's decoder thread would have
run, mixed every 20 ms, and each peer gets its own mix-minus encoded once. Video is forwarded
(forward.py): the publisher's encoded VP8 frames go to the subscribers' slots unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.codecs import h264, opus, vpx
from aiortc.rtcconfiguration import RTCBundlePolicy

from companion.media import PROFILES, consent
from companion.media.config import (
    MediaConfig,
    MediaConfigError,
    default_host_addresses,
    worker_secret,
)
from companion.media.forward import (
    EncodedFrame,
    EncodedTrack,
    OpusPacker,
    PassThroughJitterBuffer,
    VideoSlot,
    Vp8Packer,
    assign_slots,
    choose_slot_sources,
    install_packer,
    set_audio_jitter_buffer,
    tap_receiver,
    vp8_is_keyframe,
)
from companion.media.handshake import HELLO_TIMEOUT, MAX_HELLO_BYTES, HelloChecker
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

log = logging.getLogger("companion.media")

TICK = 0.020
KEYFRAME_MIN_INTERVAL = 0.5
QUALITY_INTERVAL = 5.0
MAX_SLOTS = 4
FAILED_GRACE = 60.0  # a failed peer that does not offer again is dropped after this

# ---------------------------------------------------------------- instrumentation
# Count every codec instance aiortc builds in this process: the worker must build no video
# encoder or decoder at all (video is forwarded), and reports the counts in `ping`.
CODEC_COUNTS: dict[str, int] = {}


def _count_instances(cls: type) -> None:
    if getattr(cls, "_companion_counted", False):
        return
    original = cls.__init__  # type: ignore[misc]
    name = cls.__name__
    CODEC_COUNTS.setdefault(name, 0)

    def counted_init(self: Any, *args: Any, **kwargs: Any) -> None:
        CODEC_COUNTS[name] += 1
        original(self, *args, **kwargs)

    cls.__init__ = counted_init  # type: ignore[misc]
    cls._companion_counted = True  # type: ignore[attr-defined]


def install_codec_counters() -> None:
    for cls in (vpx.Vp8Encoder, vpx.Vp8Decoder, h264.H264Encoder, h264.H264Decoder,
                opus.OpusEncoder, opus.OpusDecoder):
        _count_instances(cls)


def install_host_addresses(addresses: list[str]) -> None:
    """Make aioice offer exactly these host candidates (it never offers 127.0.0.1 itself)."""
    v4 = [a for a in addresses if ":" not in a]
    v6 = [a for a in addresses if ":" in a]

    def get_host_addresses(use_ipv4: bool = True, use_ipv6: bool = False) -> list[str]:
        return (v4 if use_ipv4 else []) + (v6 if use_ipv6 else [])

    aioice.ice.get_host_addresses = get_host_addresses


_MDNS_CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ [A-Za-z0-9-]{1,63}\.local \d+ .*$")


def drop_mdns_candidates(sdp: str) -> tuple[str, int]:
    """Remove ``.local`` candidates (and end-of-candidates, so that aioice keeps waiting for
    the browser's checks and learns its address as a peer-reflexive candidate)."""
    lines = sdp.splitlines()
    kept = [line for line in lines if not _MDNS_CANDIDATE.match(line)]
    dropped = len(lines) - len(kept)
    if dropped:
        kept = [line for line in kept if line != "a=end-of-candidates"]
    return "\r\n".join(kept) + "\r\n", dropped


class RequestError(Exception):
    """A request the worker refuses; the message goes back as ``error``."""


# ---------------------------------------------------------------- peers and rooms
class Peer:
    """One participant in one room: at most one live RTCPeerConnection at a time."""

    def __init__(self, room: Room, uid: str) -> None:
        self.room = room
        self.uid = uid
        self.tag = f"[{room.id} peer={uid}]"
        self.profile = "standard"
        self.pc: RTCPeerConnection | None = None
        self.generation = 0
        self.state = "new"
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
        self.last_slots: list[dict[str, Any]] | None = None
        self.stats_prev: dict[str, float] = {}
        self._decoder: OpusDecoder | None = None
        self._encoder: OpusEncoder | None = None
        self.config = room.worker.config

    # -- capacities
    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def slot_capacity(self) -> int:
        return min(len(self.slots), PROFILES.get(self.profile, 0))

    def publishing(self) -> bool:
        return (self.video_receiver is not None and not self.muted_video
                and self.profile != "audio_only")

    # -- audio in: called from the receiver's tap on the event loop
    def on_audio(self, codec: Any, frame: Any) -> None:
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
        if self._encoder is None:
            self._encoder = OpusEncoder(self.config.opus_bitrate, self.config.opus_complexity)
        self.room.worker.opus_encodes += 1
        packet = self._encoder.encode(pcm)
        if packet is not None:
            self.send_packet(packet)

    def send_packet(self, packet: bytes) -> None:
        """Send one encoded 20 ms mix (own, or the room's shared one)."""
        track = self.audio_out
        if track is None:
            return
        track.push(EncodedFrame(packet, self.audio_ts))
        self.audio_ts = (self.audio_ts + FRAME_SAMPLES) & 0xFFFFFFFF

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
        rtx = getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", {})
        for source in receiver.getSynchronizationSources():
            if source.source not in rtx:
                asyncio.ensure_future(receiver._send_rtcp_pli(source.source))

    def on_subscriber_keyframe_request(self, mid: str) -> Callable[[], None]:
        def handler() -> None:
            slot = next((s for s in self.slots if s.mid == mid), None)
            if slot is None or slot.source is None:
                return
            publisher = self.room.peers.get(slot.source)
            if publisher is not None:
                publisher.request_keyframe()

        return handler

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
    def __init__(self, worker: MediaWorker, room_id: str) -> None:
        self.worker = worker
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
            if plan.sharing:
                if self._shared_encoder is None:
                    cfg = self.worker.config
                    self._shared_encoder = OpusEncoder(cfg.opus_bitrate, cfg.opus_complexity)
                self.worker.opus_encodes += 1
                packet = self._shared_encoder.encode(plan.shared)
                if packet is not None:
                    for uid in plan.sharing:
                        self.peers[uid].send_packet(packet)
        changed = self.speaker.update(levels)
        if changed is not None:
            self.worker.emit({"event": "active_speaker", "room": self.id, "peer": changed})
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
            report = [{"mid": s.mid, "user_id": s.source} for s in ordered]
            if report != sub.last_slots:
                sub.last_slots = report
                self.worker.emit({"event": "slots", "room": self.id, "peer": sub.uid,
                                  "slots": report})
        self.forward_map = forward

    def housekeeping(self) -> None:
        now = time.monotonic()
        for peer in list(self.peers.values()):
            # Keyframe requests can be lost: ask again while a slot waits for one.
            if any(s.waiting_keyframe for s in self.forward_map.get(peer.uid, ())):
                peer.request_keyframe()
            if peer.failed_at is not None and now - peer.failed_at > FAILED_GRACE:
                log.info("%s gone after failing; dropped", peer.tag)
                asyncio.ensure_future(self.worker.remove_peer(self, peer.uid))


# ---------------------------------------------------------------- the worker
class MediaWorker:
    def __init__(self, config: MediaConfig | None = None) -> None:
        self.config = config or MediaConfig.from_env()
        self.rooms: dict[str, Room] = {}
        self.connections: set[ChannelConnection] = set()
        self.server: asyncio.base_events.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._cpu_sample = (time.monotonic(), time.process_time())
        self.cpu = 0.0
        self.started = time.monotonic()
        self.stopping = asyncio.Event()
        self.tick_sum = 0.0
        self.tick_count = 0
        self.audio_wait_sum = 0.0  # of peers that left
        self.audio_wait_count = 0
        self.audio_underruns = 0  # of peers that left
        self.opus_encodes = 0
        self.ticks_late_100ms = 0  # mixer ticks that ran over 100 ms late (the loop lagged)
        self.tick_lag_max = 0.0
        self.peer_failures = 0
        install_codec_counters()
        consent.install()  # RFC 7675 consent: a lagging loop does not hang up on everyone
        install_host_addresses(self.config.host_addresses or default_host_addresses())

    # -- lifecycle
    async def start(self, host: str | None = None, port: int | None = None) -> tuple[str, int]:
        if not self.config.secret:
            raise MediaConfigError("a media worker needs the channel secret before it listens")
        self.hellos = HelloChecker(self.config.secret)
        self.server = await asyncio.start_server(
            self._on_connection,
            host or self.config.channel_host,
            self.config.channel_port if port is None else port,
            limit=4 * 1024 * 1024,
        )
        self._tasks = [asyncio.ensure_future(self._ticker()),
                       asyncio.ensure_future(self._housekeeping()),
                       asyncio.ensure_future(self._quality())]
        sock = self.server.sockets[0].getsockname()
        return sock[0], sock[1]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.server is not None:
            self.server.close()
        for room_id in list(self.rooms):
            await self.close_room(room_id)
        for conn in list(self.connections):
            conn.close()

    def emit(self, event: dict[str, Any]) -> None:
        room = self.rooms.get(event.get("room", ""))
        targets = [c for c in (room.subscribers if room else ()) if not c.closed]
        if not targets:
            targets = [c for c in self.connections if not c.closed]
        for conn in targets:
            conn.send(event)

    # -- periodic work
    async def _ticker(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += TICK
            scheduled = next_at
            delay = next_at - loop.time()
            if delay < -0.2:  # far behind (the machine stalled): skip, do not burst
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))
            lag = loop.time() - scheduled
            if lag > 0.1:
                self.ticks_late_100ms += 1
            self.tick_lag_max = max(self.tick_lag_max, lag)
            started = time.perf_counter()
            for room in list(self.rooms.values()):
                try:
                    room.tick()
                except Exception:
                    log.exception("[%s] mixer tick failed", room.id)
            self.tick_sum += time.perf_counter() - started
            self.tick_count += 1

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now, cpu = time.monotonic(), time.process_time()
            t0, c0 = self._cpu_sample
            if now - t0 >= 5.0:
                self.cpu = (cpu - c0) / (now - t0)
                self._cpu_sample = (now, cpu)
            for room in list(self.rooms.values()):
                room.housekeeping()

    async def _quality(self) -> None:
        while True:
            await asyncio.sleep(QUALITY_INTERVAL)
            for room in list(self.rooms.values()):
                for peer in list(room.peers.values()):
                    if peer.pc is not None and peer.connected:
                        with contextlib.suppress(Exception):
                            await self._report_quality(room, peer)

    async def _report_quality(self, room: Room, peer: Peer) -> None:
        pc = peer.pc
        assert pc is not None
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
        prev = peer.stats_prev
        event: dict[str, Any] = {"event": "quality", "room": room.id, "peer": peer.uid,
                                 "profile": peer.profile}
        if rtt is not None:
            event["rtt_ms"] = round(rtt * 1000, 1)
        if prev:
            dt = max(1e-3, now - prev["t"])
            event["send_kbps"] = round((sent - prev["sent"]) * 8 / dt / 1000, 1)
            d_recv, d_lost = received - prev["received"], lost - prev["lost"]
            if d_recv + d_lost > 0:
                event["loss"] = round(max(0, d_lost) / (d_recv + max(0, d_lost)), 4)
        peer.stats_prev = {"t": now, "sent": sent, "received": received, "lost": lost}
        self.emit(event)

    # -- requests
    def room(self, room_id: Any, create: bool = False) -> Room:
        if not isinstance(room_id, str) or not room_id:
            raise RequestError("room must be a non-empty string")
        room = self.rooms.get(room_id)
        if room is None:
            if not create:
                raise RequestError("no such room")
            room = self.rooms[room_id] = Room(self, room_id)
        return room

    async def handle(self, conn: ChannelConnection | None, msg: dict[str, Any]) -> dict[str, Any]:
        op = msg.get("op")
        if op == "ping":
            return self.ping()
        if op not in ("offer", "leave", "mute", "profile", "close_room"):
            raise RequestError(f"unknown op {op!r}")
        room = self.room(msg.get("room"), create=(op == "offer"))
        if conn is not None:
            room.subscribers.add(conn)
        if op == "close_room":
            await self.close_room(room.id)
            return {}
        peer_id = msg.get("peer")
        if isinstance(peer_id, int) and not isinstance(peer_id, bool):
            peer_id = str(peer_id)
        if not isinstance(peer_id, str) or not peer_id:
            raise RequestError("peer must be a non-empty string")
        if op == "offer":
            return await self.offer(room, peer_id, msg)
        if op == "leave":
            await self.remove_peer(room, peer_id)
            return {}
        peer = room.peers.get(peer_id)
        if peer is None:
            raise RequestError("no such peer")
        if op == "mute":
            what, muted = msg.get("what"), msg.get("muted")
            if what not in ("audio", "video") or not isinstance(muted, bool):
                raise RequestError("mute needs what (audio|video) and muted (bool)")
            if what == "audio":
                peer.muted_audio = muted
                if muted:
                    peer.room.speaker.levels.pop(peer.uid, None)
            else:
                peer.muted_video = muted
            log.info("%s %s %s", peer.tag, what, "muted" if muted else "unmuted")
            room.update_slots()
            return {}
        # profile
        profile = msg.get("profile")
        if profile not in PROFILES:
            raise RequestError("profile must be standard, low_bandwidth or audio_only")
        peer.profile = profile
        needs_offer = PROFILES[profile] > len(peer.slots) or (
            profile != "audio_only" and peer.video_receiver is None)
        log.info("%s profile %s", peer.tag, profile)
        room.update_slots()
        return {"needs_offer": needs_offer}

    def ping(self) -> dict[str, Any]:
        peers = [p for r in self.rooms.values() for p in r.peers.values()]
        wait_sum = self.audio_wait_sum + sum(p.playout.wait_sum for p in peers)
        wait_count = self.audio_wait_count + sum(p.playout.wait_count for p in peers)
        return {"rooms": len(self.rooms),
                "peers": sum(len(r.peers) for r in self.rooms.values()),
                "cpu": round(self.cpu, 4), "cpu_s": round(time.process_time(), 3),
                "uptime_s": round(time.monotonic() - self.started, 1), "pid": os.getpid(),
                "codecs": dict(CODEC_COUNTS),
                # for benchmarks: time decoded audio waits before it is mixed, and mixer ticks
                "audio_wait_ms_sum": round(wait_sum * 1000, 3), "audio_wait_count": wait_count,
                "tick_ms_sum": round(self.tick_sum * 1000, 3), "tick_count": self.tick_count,
                "audio_underruns": self.audio_underruns + sum(p.playout.underruns for p in peers),
                "opus_encodes": self.opus_encodes,
                "ticks_late_100ms": self.ticks_late_100ms,
                "tick_lag_max_ms": round(self.tick_lag_max * 1000, 1),
                "peer_failures": self.peer_failures}

    async def offer(self, room: Room, uid: str, msg: dict[str, Any]) -> dict[str, Any]:
        sdp, kind = msg.get("sdp"), msg.get("type", "offer")
        profile = msg.get("profile", "standard")
        if kind != "offer" or not isinstance(sdp, str) or not sdp.startswith("v=0"):
            raise RequestError("offer needs an SDP offer (type 'offer')")
        if profile not in PROFILES:
            raise RequestError("profile must be standard, low_bandwidth or audio_only")
        if len(sdp) > 200_000:
            raise RequestError("offer too large")
        peer = room.peers.get(uid)
        replacing = peer is not None and peer.pc is not None
        if peer is None:
            peer = room.peers[uid] = Peer(room, uid)
            peer.new = True
        else:
            await peer.close_connection()
        if replacing:
            self._set_state(peer, "reconnecting")
        peer.profile = profile
        peer.failed_at = None
        if self.config.mdns == "ignore":
            sdp, dropped = drop_mdns_candidates(sdp)
            if dropped:
                log.debug("%s ignored %d mDNS candidates", peer.tag, dropped)
        try:
            parsed = aiortc_sdp.SessionDescription.parse(sdp)
        except Exception as exc:
            raise RequestError("unreadable SDP offer") from exc
        remote_dirs = {m.rtp.muxId or "": m.direction or "inactive" for m in parsed.media}

        servers = [RTCIceServer(**s) for s in self.config.ice_servers]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers,
                                                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        peer.pc = pc
        generation = peer.generation
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            self._configure_transceivers(peer, pc, remote_dirs)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await peer.close_connection()
            if peer.new:
                await self.remove_peer(room, uid)
            if isinstance(exc, RequestError):
                raise
            log.warning("%s offer refused: %s", peer.tag, type(exc).__name__)
            raise RequestError(f"offer refused: {exc}") from exc
        peer.new = False
        if peer.generation != generation:  # replaced meanwhile by a newer offer
            raise RequestError("superseded by a newer offer")

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if peer.generation != generation:
                return
            state = pc.connectionState
            if state == "connected":
                self._set_state(peer, "connected")
                room.update_slots()
                peer.request_keyframe(force=True)
                for slot in peer.slots:
                    if slot.source is not None:
                        publisher = room.peers.get(slot.source)
                        if publisher is not None:
                            publisher.request_keyframe(force=True)
            elif state == "failed":
                self._set_state(peer, "failed")
                peer.failed_at = time.monotonic()
                asyncio.ensure_future(self._drop_failed(peer, generation))
            elif state == "connecting":
                self._set_state(peer, "connecting")

        asyncio.ensure_future(self._connect_timeout(peer, generation))
        self._set_state(peer, "connecting")
        room.update_slots()
        log.info("%s offer answered (%s, %d slots, %s)", peer.tag, profile, len(peer.slots),
                 "publishing" if peer.video_receiver is not None else "no video")
        local = pc.localDescription
        return {"sdp": local.sdp, "type": local.type}

    def _configure_transceivers(self, peer: Peer, pc: RTCPeerConnection,
                                remote_dirs: dict[str, str]) -> None:
        audio_done = False
        for t in pc.getTransceivers():
            remote = remote_dirs.get(t.mid or "", "inactive")
            client_sends = remote in ("sendrecv", "sendonly")
            client_receives = remote in ("sendrecv", "recvonly")
            if t.kind == "audio":
                t._codecs = [c for c in t._codecs if c.mimeType.lower() == "audio/opus"]
                if audio_done or not t._codecs:
                    if not audio_done:
                        raise RequestError("the offer has no Opus audio")
                    t.direction = "inactive"
                    continue
                audio_done = True
                if client_sends:
                    set_audio_jitter_buffer(t.receiver, PassThroughJitterBuffer())
                    tap_receiver(t.receiver, peer.on_audio)
                    peer.receiving_audio = True
                if client_receives:
                    track = EncodedTrack("audio", maxlen=5)
                    t.sender.replaceTrack(track)
                    install_packer(t.sender, OpusPacker(), None)
                    peer.audio_out = track
                t.direction = ("sendrecv" if client_sends and client_receives else
                               "recvonly" if client_sends else
                               "sendonly" if client_receives else "inactive")
                continue
            # video: VP8 only, so that every publisher's frames suit every subscriber
            vp8 = [c for c in t._codecs if c.mimeType.lower() == "video/vp8"]
            pts = {c.payloadType for c in vp8}
            t._codecs = vp8 + [c for c in t._codecs if c.mimeType.lower() == "video/rtx"
                               and c.parameters.get("apt") in pts]
            if not vp8:
                t.direction = "inactive"
                continue
            direction = []
            if client_sends and peer.video_receiver is None and peer.profile != "audio_only":
                tap_receiver(t.receiver, peer.on_video)
                peer.video_receiver = t.receiver
                direction.append("recv")
            if client_receives and len(peer.slots) < MAX_SLOTS:
                track = EncodedTrack("video", maxlen=8)
                t.sender.replaceTrack(track)
                mid = t.mid or str(len(peer.slots))
                install_packer(t.sender, Vp8Packer(), peer.on_subscriber_keyframe_request(mid))
                peer.slots.append(VideoSlot(mid, track))
                direction.append("send")
            t.direction = {("recv",): "recvonly", ("send",): "sendonly",
                           ("recv", "send"): "sendrecv"}.get(tuple(direction), "inactive")
        if not audio_done:
            raise RequestError("the offer has no audio")

    def _set_state(self, peer: Peer, state: str) -> None:
        if peer.state == state:
            return
        peer.state = state
        if state == "failed":
            self.peer_failures += 1
        log.info("%s %s", peer.tag, state)
        self.emit({"event": "peer_state", "room": peer.room.id, "peer": peer.uid,
                   "state": state})

    async def _connect_timeout(self, peer: Peer, generation: int) -> None:
        await asyncio.sleep(self.config.connect_timeout)
        if peer.generation == generation and peer.state != "connected":
            log.info("%s did not connect in %.0f s", peer.tag, self.config.connect_timeout)
            self._set_state(peer, "failed")
            peer.failed_at = time.monotonic()
            await self._drop_failed(peer, generation)

    async def _drop_failed(self, peer: Peer, generation: int) -> None:
        if peer.generation == generation:
            await peer.close_connection()
            peer.room.update_slots()

    async def remove_peer(self, room: Room, uid: str) -> None:
        peer = room.peers.pop(uid, None)
        if peer is None:
            return
        self.audio_wait_sum += peer.playout.wait_sum
        self.audio_wait_count += peer.playout.wait_count
        self.audio_underruns += peer.playout.underruns
        await peer.close_connection()
        room.speaker.remove(uid)
        self._set_state(peer, "closed")
        room.update_slots()
        if not room.peers:
            self.rooms.pop(room.id, None)

    async def close_room(self, room_id: str) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            return
        for uid in list(room.peers):
            await self.remove_peer(room, uid)
        self.rooms.pop(room_id, None)
        log.info("[%s] closed", room_id)

    # -- channel
    async def _on_connection(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        conn = ChannelConnection(self, reader, writer)
        try:
            if not await conn.handshake():
                log.warning("channel connection from %s refused: no valid hello",
                            writer.get_extra_info("peername"))
                conn.close()
                return
            self.connections.add(conn)
            await conn.run()
        except asyncio.CancelledError:
            pass
        finally:
            conn.close()
            self.connections.discard(conn)
            for room in self.rooms.values():
                room.subscribers.discard(conn)


class ChannelConnection:
    """One web process connected to this worker: newline-delimited JSON both ways."""

    def __init__(self, worker: MediaWorker, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.worker = worker
        self.reader = reader
        self.writer = writer
        self.closed = False
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            self.writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        except Exception:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self.writer.close()

    async def handshake(self) -> bool:
        """Read the hello (handshake.py) and welcome a web process that proved it holds the
        secret. Whoever does not gets not a byte back: no error, no ping, nothing."""
        try:
            line = await asyncio.wait_for(self._hello_line(), HELLO_TIMEOUT)
        except (TimeoutError, ConnectionError):
            return False
        answer = self.worker.hellos.welcome(line) if line is not None else None
        if answer is None:
            return False
        self.writer.write(answer)
        return True

    async def _hello_line(self) -> bytes | None:
        """The first line, at most MAX_HELLO_BYTES, with nothing sent after it: the web
        process waits for the welcome before its first request."""
        buf = b""
        while b"\n" not in buf:
            chunk = await self.reader.read(MAX_HELLO_BYTES + 1 - len(buf))
            if not chunk:
                return None
            buf += chunk
            if len(buf) > MAX_HELLO_BYTES:
                return None
        line, rest = buf.split(b"\n", 1)
        return None if rest else line

    async def run(self) -> None:
        try:
            while not self.closed:
                try:
                    line = await self.reader.readline()
                except (ConnectionError, asyncio.LimitOverrunError, ValueError):
                    break
                if not line:
                    break
                try:
                    msg = json.loads(line)
                    if not isinstance(msg, dict):
                        raise ValueError
                except ValueError:
                    self.send({"ok": False, "error": "not a JSON object"})
                    continue
                task = asyncio.ensure_future(self._answer(msg))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        finally:
            self.close()

    async def _answer(self, msg: dict[str, Any]) -> None:
        rid = msg.get("id")
        try:
            result = await self.worker.handle(self, msg)
            self.send({"id": rid, "ok": True, **result})
        except RequestError as exc:
            self.send({"id": rid, "ok": False, "error": str(exc)})
        except Exception as exc:
            log.exception("request %s failed", msg.get("op"))
            self.send({"id": rid, "ok": False, "error": f"internal error: {type(exc).__name__}"})


# ---------------------------------------------------------------- entry point
def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s media[%(process)d] %(levelname)s %(message)s")
    for noisy in ("aiortc", "aioice"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def serve(host: str | None = None, port: int | None = None,
                parent_pid: int | None = None, announce: bool = False) -> None:
    """Run a worker until SIGTERM/SIGINT (or until ``parent_pid`` is gone)."""
    config = MediaConfig.from_env()
    config.secret = worker_secret(config, host or config.channel_host)
    worker = MediaWorker(config)
    bound_host, bound_port = await worker.start(host, port)
    log.info("media worker listening on %s:%d", bound_host, bound_port)
    if announce:  # the spawning process reads the port (useful with --port 0)
        print(json.dumps({"listening": [bound_host, bound_port]}), flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, worker.stopping.set)

    async def watch_parent() -> None:
        while parent_pid is not None:
            await asyncio.sleep(1.0)
            if os.getppid() != parent_pid:
                log.info("parent process gone; stopping")
                worker.stopping.set()
                return

    watcher = asyncio.ensure_future(watch_parent())
    await worker.stopping.wait()
    watcher.cancel()
    await worker.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Companion media worker")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--announce", action="store_true")
    parser.add_argument("--log-level", default=os.environ.get("COMPANION_MEDIA_LOG", "INFO"))
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        asyncio.run(serve(args.host, args.port, args.parent_pid, args.announce))
    except MediaConfigError as error:
        sys.exit(f"The media worker did not start: {error}.")


if __name__ == "__main__":
    main()
