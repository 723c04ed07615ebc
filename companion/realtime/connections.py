"""This process's sockets: who each one is, which rooms it is in, and the rules that follow it.

Socket.IO handlers do not run Flask's request hooks, so a socket's login is checked here: at
connect, again every few seconds while events come in, and by the enforcer loop, which also
disconnects sockets whose login ended (logout, idle timeout) and applies admissions and
removals made on another web process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, current_app
from flask_socketio import join_room, leave_room
from sqlalchemy import select

from companion import clock, policy
from companion.events import user_room
from companion.extensions import db, socketio
from companion.models import (
    LoginSession,
    ParticipantState,
    Role,
    RoomParticipant,
    Session,
    User,
)
from companion.services import accounts

log = logging.getLogger(__name__)

# Seconds between re-validations of a socket's login on its events (which also keep the login
# from idling out); the enforcer ends dead logins' sockets in bulk every ENFORCE_EVERY.
RECHECK_LOGIN_EVERY = 30.0
ENFORCE_EVERY = 2.0  # seconds between enforcer passes


def session_room(session_id: int) -> str:
    return f"session:{session_id}"


def staff_room(session_id: int) -> str:
    return f"staff:{session_id}"


def counselors_room(session_id: int) -> str:
    return f"counselors:{session_id}"


def members_room(session_id: int) -> str:
    """Everyone in the room but family guests: the check-in round goes here."""
    return f"members:{session_id}"


def lobby_room(session_id: int) -> str:
    """Everyone at the door, not in the room: waiting to be admitted, or kept out by the lock.
    They hear that the room was unlocked or the session ended."""
    return f"lobby:{session_id}"


_SESSION_ROOM_KINDS = ("session", "members", "staff", "counselors", "lobby")


def session_of_room(room: str) -> int | None:
    """The session a room above belongs to (None for a user's, a login's or a socket's)."""
    kind, _, number = room.partition(":")
    return int(number) if kind in _SESSION_ROOM_KINDS and number.isdigit() else None


@dataclass
class Connection:
    sid: str
    user_id: int
    login_id: str
    checked_at: float
    display_name: str  # as chat shows it, read once at connect
    # A family guest's socket: kept out of the check-in round, its right rechecked each pass.
    family: bool = False
    # Sessions this socket is in (admitted) or waiting to be admitted to.
    joined: set[int] = field(default_factory=set)
    waiting: set[int] = field(default_factory=set)
    # Token bucket: per-socket rate limit on events.
    tokens: float = 20.0
    refilled_at: float = field(default_factory=time.monotonic)

    def take_token(self, capacity: float = 20.0, per_second: float = 5.0) -> bool:
        now = time.monotonic()
        self.tokens = min(capacity, self.tokens + (now - self.refilled_at) * per_second)
        self.refilled_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# sid -> Connection, for sockets connected to this process only.
connections: dict[str, Connection] = {}


def register(sid: str, login: LoginSession) -> Connection:
    conn = Connection(sid=sid, user_id=login.user_id, login_id=login.id,
                      checked_at=time.monotonic(), display_name=login.user.display_name,
                      family=login.user.role == Role.FAMILY)
    connections[sid] = conn
    join_room(user_room(login.user_id))
    join_room(f"login:{login.id}")
    return conn


def forget(sid: str) -> Connection | None:
    return connections.pop(sid, None)


def login_alive(conn: Connection) -> bool:
    """Is this socket's login still live? Rechecked (and kept from idling out) at most every
    RECHECK_LOGIN_EVERY; between rechecks the enforcer ends dead logins' sockets in bulk."""
    if time.monotonic() - conn.checked_at > RECHECK_LOGIN_EVERY:
        if accounts.resume_login_session(conn.login_id) is None:
            return False
        conn.checked_at = time.monotonic()
    return True


def enter(conn: Connection, session: Session, staff: bool, clinical: bool) -> None:
    """Put this socket in the session's rooms (call inside its own handler or with sid)."""
    conn.waiting.discard(session.id)
    conn.joined.add(session.id)
    rooms = [session_room(session.id)]
    rooms += [] if conn.family else [members_room(session.id)]
    rooms += [staff_room(session.id)] if staff else []
    rooms += [counselors_room(session.id)] if clinical else []
    for room in rooms:
        try:
            # namespace given: this also runs outside the socket's own handler (the enforcer).
            join_room(room, sid=conn.sid, namespace="/")
        except KeyError:  # the socket disconnected meanwhile; its disconnect handler cleans up
            return
    leave_room(lobby_room(session.id), sid=conn.sid, namespace="/")


def leave(conn: Connection, session_id: int) -> None:
    conn.joined.discard(session_id)
    conn.waiting.discard(session_id)
    for room in (session_room(session_id), members_room(session_id), staff_room(session_id),
                 counselors_room(session_id), lobby_room(session_id)):
        leave_room(room, sid=conn.sid, namespace="/")


# --- the enforcer ---------------------------------------------------------------------------

_started = False


def start_enforcer(app: Flask) -> None:
    """Start this process's enforcer loop once (on the first connection)."""
    global _started
    if _started or not app.config.get("REALTIME_ENFORCER", True):
        return
    _started = True
    socketio.start_background_task(_enforcer_loop, app)


def _enforcer_loop(app: Flask) -> None:
    while True:
        socketio.sleep(ENFORCE_EVERY)
        with app.app_context():
            try:
                enforce_once()
            except Exception as error:  # the loop must outlive a bad pass (database blip, say)
                log.error("enforcer pass failed: %s", type(error).__name__)
            finally:
                db.session.remove()


def enforce_once() -> None:
    """One pass: end dead logins' sockets, apply admissions and removals made elsewhere."""
    if not connections:
        return
    _disconnect_dead_logins()
    _sync_room_membership()


def _disconnect_dead_logins() -> None:
    now = clock.now()
    idle = timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"])
    absolute = timedelta(hours=current_app.config["ABSOLUTE_TIMEOUT_HOURS"])
    login_ids = {c.login_id for c in connections.values()}
    # Ids only: this runs every ENFORCE_EVERY over every socket of the process.
    live = set(db.session.scalars(
        select(LoginSession.id).where(
            LoginSession.id.in_(login_ids), LoginSession.ended_at.is_(None),
            LoginSession.last_seen_at >= now - idle, LoginSession.created_at >= now - absolute,
        )
    ))
    for conn in list(connections.values()):
        if conn.login_id not in live:
            login = db.session.get(LoginSession, conn.login_id)
            if login is not None and login.ended_at is None:
                accounts.end_login_session(login, "idle")
            disconnect(conn.sid, "signed_out")


def disconnect(sid: str, reason: str) -> None:
    socketio.emit(reason, {}, to=sid)
    socketio.server.disconnect(sid, namespace="/")


def _sync_room_membership() -> None:
    from companion.realtime import handlers

    pending = [(c, s) for c in connections.values() for s in c.waiting | c.joined]
    if not pending:
        return
    session_ids = {s for _, s in pending}
    states = {
        (session_id, user_id): state
        for session_id, user_id, state in db.session.execute(
            select(RoomParticipant.session_id, RoomParticipant.user_id, RoomParticipant.state)
            .where(RoomParticipant.session_id.in_(session_ids))
        )
    }
    ended = set(db.session.scalars(
        select(Session.id).where(Session.id.in_(session_ids), Session.ended_at.is_not(None))
    ))
    for conn, session_id in pending:
        if conn.sid not in connections:
            continue  # disconnected earlier in this pass (a family guest expelled)
        state = states.get((session_id, conn.user_id))
        if session_id in ended or state == ParticipantState.REMOVED:
            handlers.drop_from_session(conn, session_id)
        elif conn.family and not _guest_may_stay(conn.user_id, session_id):
            handlers.expel_guest(conn.user_id, session_id)
        elif session_id in conn.waiting and state == ParticipantState.ADMITTED:
            handlers.admit_connection(conn, session_id)


def _guest_may_stay(user_id: int, session_id: int) -> bool:
    """A family guest's right to the room, now (a consent expires with no event to say so)."""
    user = db.session.get(User, user_id)
    room_session = db.session.get(Session, session_id)
    return (user is not None and room_session is not None
            and policy.can(user, policy.Action.JOIN_SESSION, room_session))


def connections_of_user(user_id: int) -> list[Connection]:
    """This process's sockets of one user."""
    return [c for c in connections.values() if c.user_id == user_id]
