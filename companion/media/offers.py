"""Answering a peer's offer: its SDP read, its transceivers set up for mixing and forwarding, and
its connection watched until it connects, fails or is replaced (docs/media.md, "Peers and SDP").

The worker tells transceivers apart by direction, never by position: one audio (Opus only, or
G.711 only from a phone caller; received into the mixer, the mix sent back), at most one video
the client sends (VP8 only, so any publisher's frames suit any subscriber) and up to MAX_SLOTS
receive slots. It answers once ICE gathering is over (no trickle) and never renegotiates:
browsers refuse aiortc's re-offers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

from companion.media import compat
from companion.media.forward import (
    EncodedTrack,
    OpusPacker,
    PassThroughJitterBuffer,
    VideoSlot,
    Vp8Packer,
    install_packer,
    set_audio_jitter_buffer,
    tap_receiver,
)
from companion.media.g711 import G711Voice
from companion.media.protocol import (
    OfferAnswer,
    OfferRequest,
    PeerState,
    Profile,
    RequestError,
)
from companion.media.rooms import Peer, Room

log = logging.getLogger("companion.media")

MAX_SLOTS = 4
PHONE_CODECS = ("audio/pcmu", "audio/pcma")

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


async def answer_offer(room: Room, request: OfferRequest) -> OfferAnswer:
    """Set up (or replace) ``request.peer``'s connection in ``room`` and answer its offer."""
    uid, sdp, config = request.peer, request.sdp, room.host.config
    peer = room.peers.get(uid)
    replacing = peer is not None and peer.pc is not None
    if peer is None:
        peer = room.peers[uid] = Peer(room, uid)
        peer.new = True
    else:
        await peer.close_connection()
    if replacing:
        peer.set_state(PeerState.RECONNECTING)
    peer.profile = request.profile
    peer.failed_at = None
    if config.mdns == "ignore":
        sdp, dropped = drop_mdns_candidates(sdp)
        if dropped:
            log.debug("%s ignored %d mDNS candidates", peer.tag, dropped)
    try:
        remote_dirs = compat.media_directions(sdp)
    except ValueError as exc:
        raise RequestError("unreadable SDP offer") from exc

    servers = [RTCIceServer(**s) for s in config.ice_servers]
    pc = RTCPeerConnection(RTCConfiguration(iceServers=servers,
                                            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    peer.pc = pc
    generation = peer.generation
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        configure_transceivers(peer, pc, remote_dirs)
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        await peer.close_connection()
        if peer.new:
            await room.remove_peer(uid)
        if isinstance(exc, RequestError):
            raise
        log.warning("%s offer refused: %s", peer.tag, type(exc).__name__)
        raise RequestError(f"offer refused: {exc}") from exc
    peer.new = False
    if peer.generation != generation:  # replaced meanwhile by a newer offer
        raise RequestError("superseded by a newer offer")

    watch_connection(peer, pc, generation)
    asyncio.ensure_future(_connect_timeout(peer, generation))
    peer.set_state(PeerState.CONNECTING)
    room.update_slots()
    log.info("%s offer answered (%s, %d slots, %s)", peer.tag, peer.profile, len(peer.slots),
             "publishing" if peer.video_receiver is not None else "no video")
    local = pc.localDescription
    return {"sdp": local.sdp, "type": "answer"}


def configure_transceivers(peer: Peer, pc: RTCPeerConnection,
                           remote_dirs: dict[str, str]) -> None:
    """Point each transceiver at the mixer or at forwarding, by the direction the client gave
    it, and choose the direction the answer gives it."""
    audio_done = False
    for t in pc.getTransceivers():
        remote = remote_dirs.get(t.mid or "", "inactive")
        client_sends = remote in ("sendrecv", "sendonly")
        client_receives = remote in ("sendrecv", "recvonly")
        codecs = compat.codecs_of(t)
        if t.kind == "audio":
            # Opus from everyone; G.711 from a phone caller the dial-in line relays.
            wanted = PHONE_CODECS if peer.profile is Profile.PHONE else ("audio/opus",)
            voice = [c for c in codecs if c.mimeType.lower() in wanted][:1]
            compat.keep_codecs(t, voice)
            if audio_done or not voice:
                if not audio_done:
                    raise RequestError("the offer has no G.711 audio" if
                                       peer.profile is Profile.PHONE else
                                       "the offer has no Opus audio")
                t.direction = "inactive"
                continue
            audio_done = True
            if peer.profile is Profile.PHONE:
                peer.voice = G711Voice(voice[0].mimeType.lower().removeprefix("audio/"))
            if client_sends:
                set_audio_jitter_buffer(t.receiver, PassThroughJitterBuffer())
                tap_receiver(t.receiver, peer.on_audio)
                peer.receiving_audio = True
            if client_receives:
                track = EncodedTrack("audio", maxlen=5)
                t.sender.replaceTrack(track)
                install_packer(t.sender, OpusPacker(), None)  # one payload a frame, as G.711
                peer.audio_out = track
            t.direction = ("sendrecv" if client_sends and client_receives else
                           "recvonly" if client_sends else
                           "sendonly" if client_receives else "inactive")
            continue
        # video: VP8 only, so that every publisher's frames suit every subscriber
        vp8 = [c for c in codecs if c.mimeType.lower() == "video/vp8"]
        pts = {c.payloadType for c in vp8}
        compat.keep_codecs(t, vp8 + [c for c in codecs if c.mimeType.lower() == "video/rtx"
                                     and c.parameters.get("apt") in pts])
        if not vp8:
            t.direction = "inactive"
            continue
        direction = []
        if client_sends and peer.video_receiver is None and peer.profile != Profile.AUDIO_ONLY:
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


def watch_connection(peer: Peer, pc: RTCPeerConnection, generation: int) -> None:
    """Follow the connection's state until a newer offer replaces it."""
    room = peer.room

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if peer.generation != generation:
            return
        state = pc.connectionState
        if state == "connected":
            peer.set_state(PeerState.CONNECTED)
            room.update_slots()
            peer.request_keyframe(force=True)
            for slot in peer.slots:
                if slot.source is not None:
                    publisher = room.peers.get(slot.source)
                    if publisher is not None:
                        publisher.request_keyframe(force=True)
        elif state == "failed":
            peer.set_state(PeerState.FAILED)
            peer.failed_at = time.monotonic()
            asyncio.ensure_future(_drop_failed(peer, generation))
        elif state == "connecting":
            peer.set_state(PeerState.CONNECTING)


async def _connect_timeout(peer: Peer, generation: int) -> None:
    timeout = peer.config.connect_timeout
    await asyncio.sleep(timeout)
    if peer.generation == generation and peer.state is not PeerState.CONNECTED:
        log.info("%s did not connect in %.0f s", peer.tag, timeout)
        peer.set_state(PeerState.FAILED)
        peer.failed_at = time.monotonic()
        await _drop_failed(peer, generation)


async def _drop_failed(peer: Peer, generation: int) -> None:
    if peer.generation == generation:
        await peer.close_connection()
        peer.room.update_slots()
