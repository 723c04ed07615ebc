"""Audio and video in live rooms: the ``rtc_*`` Socket.IO events (docs/realtime.md), relayed to
the media workers (docs/media.md), and the workers' events relayed back to the room.

The web process never touches media. ``rtc_offer`` passes the browser's offer to the worker that
holds the session's room and acks with the worker's answer; the worker's events come back on the
pool's reader greenlet: ``slots`` to the subscriber's socket, ``active_speaker`` and
``peer_state`` to the room, ``quality`` to the session's staff (and to the participant). When a
peer's media connects its attendance interval switches modality (video / audio only), so minutes
per modality stay right; when it closes or fails the connection counts as chat again.

Only people admitted to the session's room, on a socket that is in the room, may send these.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from flask import Flask
from pydantic import StringConstraints
from sqlalchemy import select

from companion.accounts.models import User
from companion.clinic.models import Session
from companion.core import clock, events
from companion.core.events import session_room, socket_room, staff_room
from companion.core.extensions import db, socketio
from companion.media.protocol import (
    EventKind,
    LeaveRequest,
    MediaKind,
    MuteRequest,
    OfferRequest,
    PeerState,
    ProfileRequest,
    member_of,
)
from companion.media.protocol import Profile as WireProfile
from companion.rooms import presence
from companion.rooms import services as rooms
from companion.rooms import sockets as handlers
from companion.rooms.connections import Connection
from companion.rooms.models import Modality
from companion.rooms.payloads import Payload
from companion.rooms.sockets import _fail, room_event

log = logging.getLogger(__name__)

Profile = Literal["standard", "low_bandwidth", "audio_only"]
OFFER_TIMEOUT = 20.0


class OfferPayload(Payload):
    sdp: Annotated[str, StringConstraints(min_length=3, max_length=200_000, pattern=r"^v=0")]
    type: Literal["offer"]
    profile: Profile = "standard"


class ProfilePayload(Payload):
    profile: Profile


@dataclass
class MediaPeer:
    """One person's media connection as this web process knows it."""

    session_id: int
    user_id: int
    sid: str  # the socket that offered: its attendance interval gets the modality
    profile: str
    sends_video: bool
    state: PeerState = PeerState.CONNECTING
    quality: dict[str, Any] = field(default_factory=dict)

    @property
    def modality(self) -> Modality:
        if self.sends_video and self.profile != "audio_only":
            return Modality.VIDEO
        return Modality.AUDIO


class _Plane:
    """This process's media plane: the pool (None when media is off) and the peers it knows."""

    def __init__(self) -> None:
        self.pool: Any = None
        self.app: Flask | None = None
        self.workers: Any = None
        self.peers: dict[tuple[int, int], MediaPeer] = {}
        self.worker_pids: dict[str, Any] = {}


plane = _Plane()


def media_room(session_id: int) -> str:
    return f"session:{session_id}"


def session_of(room: Any) -> int | None:
    match = re.fullmatch(r"session:(\d+)", str(room))
    return int(match.group(1)) if match else None


def sends_video(sdp: str) -> bool:
    """Whether an offer has a video section the client sends (sendonly or sendrecv)."""
    for section in re.split(r"\r?\nm=", sdp)[1:]:
        if section.startswith("video") and re.search(r"^a=(sendonly|sendrecv)\s*$", section,
                                                     re.MULTILINE):
            return True
    return False


# --- setting up -----------------------------------------------------------------------------


def install(app: Flask, pool: Any) -> None:
    """Use ``pool`` (a MediaPool, or a stand-in in tests) for this app's rooms."""
    plane.app = app
    plane.pool = pool
    plane.peers.clear()
    handlers.media_hooks = _Hooks(pool.hooks())


class _Hooks:
    """The pool's moderation hooks (mute, remove, end), called with no transaction open: the
    moderation handlers have stored their event; a transaction held while the worker answers
    would stall every other writer (SQLite; the whole process under gevent)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def muted(self, session_id: int, user_id: int, what: str, muted: bool) -> None:
        _end_transaction()
        self.inner.muted(session_id, user_id, what, muted)

    def left(self, session_id: int, user_id: int) -> None:
        _end_transaction()
        self.inner.left(session_id, user_id)

    def closed(self, session_id: int) -> None:
        _end_transaction()
        self.inner.closed(session_id)


def uninstall() -> None:
    plane.pool = None
    plane.peers.clear()
    handlers.media_hooks = handlers._NoMedia()


def start(app: Flask, count: int) -> Any:
    """``companion serve --media-workers N``: spawn N embedded workers (or use the scale-out
    ones in ``COMPANION_MEDIA_WORKERS``), wire the pool, and watch for restarted workers.
    Returns the pool, or None when media is off (N = 0 and no workers listed)."""
    from companion.media.config import MediaConfig, TurnConfig, web_secret
    from companion.media.pool import MediaPool, parse_addresses
    from companion.media.process import spawn_workers

    MediaConfig.from_env()  # refuse a bad configuration now, not at the first offer
    TurnConfig.from_env()
    listed = parse_addresses(os.environ.get("COMPANION_MEDIA_WORKERS", ""))
    if not listed and count <= 0:
        return None
    # Every worker answers only a process that proves it holds this (media/handshake.py).
    secret = web_secret(Path(app.config["INSTANCE_PATH"]), [host for host, _ in listed])
    if listed:
        pool = MediaPool.from_env(listed, secret=secret, on_event=relay_event,
                                  on_rooms_moved=restart_rooms)
    else:
        # Embedded workers listen on 127.0.0.1 only, whatever COMPANION_MEDIA_HOST says.
        plane.workers = spawn_workers(count, host="127.0.0.1", secret=secret)
        plane.workers.start_supervisor(interval=0.5)
        pool = MediaPool.from_env(plane.workers.addresses, secret=secret, on_event=relay_event,
                                  on_rooms_moved=restart_rooms)
    install(app, pool)
    pool.start()
    socketio.start_background_task(_watch_restarts, pool)
    log.info("media plane: %d worker(s)", len(pool.workers))
    return pool


def _watch_restarts(pool: Any) -> None:
    """A worker that came back (the supervisor restarted it on the same port) lost its rooms'
    peers, and nothing moved: tell those rooms' clients to offer again."""
    while plane.pool is pool:
        socketio.sleep(0.25)
        try:
            if _embedded_worker_back(pool):
                pool.check()  # now, rather than at the next ping after the client's backoff
            for key, state in list(pool.workers.items()):
                pid = state.load.get("pid")
                if pid is None:
                    continue
                before = plane.worker_pids.get(key)
                plane.worker_pids[key] = pid
                if before is not None and before != pid:
                    log.warning("media worker %s restarted; its rooms offer again", key)
                    restart_rooms([room for room, k in pool.store.items() if k == key])
        except Exception as error:  # the watch must outlive a bad pass
            log.error("media restart watch failed: %s", type(error).__name__)


def _embedded_worker_back(pool: Any) -> bool:
    """An embedded worker the pool holds dead has been restarted and accepts connections."""
    from companion.media.client import MediaWorkerUnavailable

    if plane.workers is None:
        return False
    back = False
    for proc in plane.workers.workers:
        state = pool.workers.get(f"{proc.host}:{proc.port}")
        if state is None or state.alive or not proc.alive():
            continue
        try:
            state.client.connect()
            back = True
        except MediaWorkerUnavailable:
            pass  # still starting
    return back


# --- worker events --------------------------------------------------------------------------

# How a piece of database work runs off the reader greenlet; tests may run it inline.
def _spawn(fn: Callable[..., None], *args: Any) -> None:
    socketio.start_background_task(_in_app, fn, *args)


run_later: Callable[..., None] = _spawn


def _in_app(fn: Callable[..., None], *args: Any) -> None:
    app = plane.app
    if app is None:
        return
    with app.app_context():
        try:
            fn(*args)
        except Exception as error:
            db.session.rollback()
            log.error("media bookkeeping failed: %s", type(error).__name__)
        finally:
            db.session.remove()


def restart_rooms(rooms_moved: list[str]) -> None:
    """The pool moved these rooms to another worker: their clients offer again."""
    for room in rooms_moved:
        session_id = session_of(room)
        if session_id is not None:
            events.send_now([session_room(session_id)], "rtc_restart", {"session_id": session_id})


def relay_event(event: dict[str, Any]) -> None:
    """A worker event (called on the pool's reader greenlet: emit and return)."""
    session_id = session_of(event.get("room"))
    if session_id is None:
        return
    kind = member_of(EventKind, event.get("event"))
    if kind is None:
        return
    try:
        user_id = int(event.get("peer"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    peer = plane.peers.get((session_id, user_id))
    if kind is EventKind.ACTIVE_SPEAKER:
        if any(s == session_id for s, _ in plane.peers):
            events.send_now([session_room(session_id)], "rtc_active_speaker",
                            {"session_id": session_id, "user_id": user_id})
        return
    if peer is None:
        return  # a peer another web process signals for: that process relays its events
    if kind is EventKind.SLOTS:
        slots = [{"mid": str(s.get("mid")), "user_id": _user_id(s.get("user_id"))}
                 for s in event.get("slots") or [] if isinstance(s, dict)]
        events.send_now([socket_room(peer.sid)], "rtc_slots",
                        {"session_id": session_id, "slots": slots})
    elif kind is EventKind.QUALITY:
        peer.quality = {k: event[k] for k in ("profile", "rtt_ms", "loss", "send_kbps")
                        if k in event}
        body = {"session_id": session_id, "user_id": user_id, **peer.quality}
        events.send_now([staff_room(session_id), socket_room(peer.sid)], "rtc_quality", body)
    elif kind is EventKind.PEER_STATE:
        state = member_of(PeerState, event.get("state"))
        if state is None:
            return
        peer.state = state
        events.send_now([session_room(session_id)], "rtc_peer_state",
                        {"session_id": session_id, "user_id": user_id, "state": state.value})
        if state is PeerState.CONNECTED:
            run_later(_set_modality, session_id, user_id, peer.sid, peer.modality)
        elif state in (PeerState.FAILED, PeerState.CLOSED):
            if state is PeerState.CLOSED:
                plane.peers.pop((session_id, user_id), None)
            run_later(_set_modality, session_id, user_id, peer.sid, Modality.CHAT)


def _user_id(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _set_modality(session_id: int, user_id: int, sid: str, modality: Modality) -> None:
    if presence.switch_modality(session_id, user_id, sid, modality):
        room_session = db.session.get(Session, session_id)
        if room_session is not None:
            handlers._publish_presence(room_session)


# --- client events --------------------------------------------------------------------------


def _admitted_here(name: str, conn: Connection, user: User,
                   room_session: Session) -> dict[str, Any] | None:
    """None when this socket may use media in the session, else the error ack."""
    rooms.require_admitted(room_session, user)  # RoomError -> {ok: false} by room_event
    if room_session.id not in conn.joined:
        return _fail(name, "not_admitted", "join the room on this connection first")
    if plane.pool is None:
        return _fail(name, "no_media", "audio and video are not available on this server")
    return None


# A session that ran past its end keeps its audio this long before the worker closes the room
# (a counselor finishing a sentence); chat stops at the end itself.
ROOM_CLOSES_AFTER_END = timedelta(minutes=10)


def close_ended_rooms() -> list[int]:
    """Close the media rooms of sessions that are over (ended by the counselor's button, whose
    hook closes them at once, or just by the clock, which has no hook) and forget their pins, so
    pins do not pile up and skew where new rooms go. Returns the sessions closed."""
    if plane.pool is None:
        return []
    pinned = {sid for room, _ in plane.pool.store.items()
              if (sid := session_of(room)) is not None}
    if not pinned:
        return []
    cutoff = clock.now() - ROOM_CLOSES_AFTER_END
    running = set(db.session.scalars(select(Session.id).where(
        Session.id.in_(pinned), Session.ended_at.is_(None), Session.ends_at > cutoff)))
    over = sorted(pinned - running)  # ended, or no longer there at all
    for session_id in over:
        handlers.media_hooks.closed(session_id)
    return over


def _end_transaction() -> None:
    """Hold no transaction while a worker answers: SQLite's BEGIN IMMEDIATE would keep every
    other writer (and, under gevent, the whole process) waiting. Touch no ORM object after."""
    db.session.commit()


def _worker_failure(name: str, exc: Exception) -> dict[str, Any]:
    from companion.media.client import MediaWorkerError

    if isinstance(exc, MediaWorkerError):
        detail = str(exc)
        if detail in ("no such peer", "no such room"):
            return _fail(name, "not_connected", "no audio/video connection: send rtc_offer")
        return _fail(name, "media_refused", detail[:200])
    return _fail(name, "media_unavailable", "audio and video are unavailable; try again")


@room_event(Payload)
def rtc_config(conn: Connection, user: User, room_session: Session,
               payload: Payload) -> dict[str, Any]:
    """Anyone admitted: the ICE servers to give RTCPeerConnection (none by default), with TURN
    credentials minted for this person in this session when a relay is configured (never
    logged; docs/media.md)."""
    refused = _admitted_here("rtc_config", conn, user, room_session)
    if refused is not None:
        return refused
    from companion.media.config import MediaConfigError, ice_servers_for_session

    try:
        servers = ice_servers_for_session(room_session.id, user.id)
    except MediaConfigError:
        log.error("rtc_config: the ICE/TURN configuration is not usable")
        return _fail("rtc_config", "media_unavailable", "audio and video are unavailable")
    return {"ok": True, "ice_servers": servers,
            "profiles": {"standard": 4, "low_bandwidth": 1, "audio_only": 0}}


@room_event(OfferPayload)
def rtc_offer(conn: Connection, user: User, room_session: Session,
              payload: OfferPayload) -> dict[str, Any]:
    """Anyone admitted: join (or rejoin) the session's media; replaces an earlier connection."""
    from companion.media.client import MediaWorkerError, MediaWorkerUnavailable

    refused = _admitted_here("rtc_offer", conn, user, room_session)
    if refused is not None:
        return refused
    member = rooms.participant(room_session, user)
    session_id, user_id = room_session.id, user.id
    room = media_room(session_id)
    audio_muted = bool(member and member.audio_muted)
    video_muted = bool(member and member.video_muted)
    _end_transaction()
    key = (session_id, user_id)
    previous = plane.peers.get(key)
    plane.peers[key] = MediaPeer(session_id, user_id, conn.sid, payload.profile,
                                 sends_video(payload.sdp),
                                 quality=previous.quality if previous else {})
    if previous is not None and previous.sid != conn.sid:
        run_later(_set_modality, session_id, user_id, previous.sid, Modality.CHAT)
    try:
        answer = plane.pool.send(OfferRequest(room, str(user_id), payload.sdp,
                                              WireProfile(payload.profile)),
                                 timeout=OFFER_TIMEOUT)
        # Mutes live in the database: a new worker (after a move) learns them here.
        for what, muted in ((MediaKind.AUDIO, audio_muted), (MediaKind.VIDEO, video_muted)):
            if muted:
                plane.pool.send(MuteRequest(room, str(user_id), what, True), timeout=5.0)
    except (MediaWorkerError, MediaWorkerUnavailable) as exc:
        log.info("[%s peer=%s] offer not answered: %s", room, user_id, type(exc).__name__)
        return _worker_failure("rtc_offer", exc)
    return {"ok": True, "sdp": answer["sdp"], "type": "answer"}


@room_event(ProfilePayload)
def rtc_profile(conn: Connection, user: User, room_session: Session,
                payload: ProfilePayload) -> dict[str, Any]:
    """Anyone admitted with media: lower what is forwarded at once; ``needs_offer`` says a
    new ``rtc_offer`` is needed to raise it (more slots, sending video again)."""
    from companion.media.client import MediaWorkerError, MediaWorkerUnavailable

    refused = _admitted_here("rtc_profile", conn, user, room_session)
    if refused is not None:
        return refused
    session_id, user_id = room_session.id, user.id
    _end_transaction()
    try:
        answer = plane.pool.send(ProfileRequest(media_room(session_id), str(user_id),
                                                WireProfile(payload.profile)), timeout=5.0)
    except (MediaWorkerError, MediaWorkerUnavailable) as exc:
        return _worker_failure("rtc_profile", exc)
    peer = plane.peers.get((session_id, user_id))
    if peer is not None:
        peer.profile = payload.profile
        if peer.state is PeerState.CONNECTED:
            run_later(_set_modality, session_id, user_id, peer.sid, peer.modality)
    return {"ok": True, "needs_offer": bool(answer.get("needs_offer"))}


@room_event(Payload)
def rtc_leave(conn: Connection, user: User, room_session: Session,
              payload: Payload) -> dict[str, Any]:
    """Anyone admitted: leave the session's media (the room and its chat stay)."""
    from companion.media.client import MediaWorkerError, MediaWorkerUnavailable

    refused = _admitted_here("rtc_leave", conn, user, room_session)
    if refused is not None:
        return refused
    session_id, user_id = room_session.id, user.id
    _end_transaction()
    peer = plane.peers.pop((session_id, user_id), None)
    try:
        plane.pool.send(LeaveRequest(media_room(session_id), str(user_id)), timeout=5.0)
    except (MediaWorkerError, MediaWorkerUnavailable) as exc:
        log.info("[session:%s peer=%s] leave not applied: %s", session_id, user_id,
                 type(exc).__name__)
    _set_modality(session_id, user_id, peer.sid if peer else conn.sid, Modality.CHAT)
    return {"ok": True}
