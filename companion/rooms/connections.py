"""This process's sockets: who each one is, which rooms it is in, and the rules that follow it.

Socket.IO handlers do not run Flask's request hooks, so a socket's login is checked here: at
connect, and again every few seconds while events come in; between those the enforcer
(enforcer.py) disconnects sockets whose login ended and applies what other processes decided.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flask import current_app
from flask_socketio import join_room, leave_room

from companion.accounts import services as accounts
from companion.accounts.models import LoginSession, Role
from companion.clinic.models import Session
from companion.core import events
from companion.core.events import (
    counselors_room,
    lobby_room,
    login_room,
    members_room,
    session_room,
    staff_room,
    user_room,
)
from companion.core.extensions import socketio
from companion.rooms.wire import Shown, shown

log = logging.getLogger(__name__)

# Seconds between re-validations of a socket's login on its events (which also keep the login
# from idling out); between rechecks the enforcer (enforcer.py) ends dead logins' sockets in bulk.
RECHECK_LOGIN_EVERY = 30.0

# Rate limits on socket events, counted per login and per person, however many sockets they
# open (each socket its own allowance once let one login send 8,000 chats in 20 s): a login
# sends LOGIN_RATE events a second in bursts of LOGIN_BURST; all logins of one person together
# USER_RATE in bursts of USER_BURST (a phone and a laptop in the same session).
LOGIN_RATE, LOGIN_BURST = 5.0, 20
USER_RATE, USER_BURST = 8.0, 30


class TokenBucket:
    """``capacity`` events at once, then ``per_second``."""

    __slots__ = ("capacity", "per_second", "tokens", "refilled_at")

    def __init__(self, capacity: float, per_second: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = capacity
        self.refilled_at = time.monotonic()

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.refilled_at) * self.per_second)
        self.refilled_at = now

    def full(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= self.capacity


# A login's and a person's buckets, shared by their sockets on this process. Kept after their
# sockets go until they have filled up again: reconnecting never resets an allowance.
_login_buckets: dict[str, TokenBucket] = {}
_user_buckets: dict[int, TokenBucket] = {}


@dataclass
class Connection:
    sid: str
    user_id: int
    login_id: str
    checked_at: float
    shown: Shown  # name and staff badge, as chat shows them, read once at connect
    # A family guest's socket: kept out of the check-in round, its right rechecked each pass.
    family: bool = False
    # Sessions this socket is in (admitted) or waiting to be admitted to.
    joined: set[int] = field(default_factory=set)
    waiting: set[int] = field(default_factory=set)
    # The rate limits this socket's events count against: its login's and its person's.
    login_bucket: TokenBucket = field(default_factory=lambda: TokenBucket(LOGIN_BURST,
                                                                          LOGIN_RATE))
    user_bucket: TokenBucket = field(default_factory=lambda: TokenBucket(USER_BURST, USER_RATE))

    def take_token(self) -> bool:
        """One event's worth of both allowances, or False (and nothing taken)."""
        now = time.monotonic()
        login, user = self.login_bucket, self.user_bucket
        login.refill(now)
        user.refill(now)
        if login.tokens < 1 or user.tokens < 1:
            return False
        login.tokens -= 1
        user.tokens -= 1
        return True


# sid -> Connection, for sockets connected to this process only.
connections: dict[str, Connection] = {}
# login id -> how many of those sockets it has.
_sockets_of_login: dict[str, int] = {}


def may_open_socket(login_id: str) -> bool:
    """Whether this login may open one more socket here (COMPANION_SOCKETS_PER_LOGIN)."""
    return _sockets_of_login.get(login_id, 0) < current_app.config["SOCKETS_PER_LOGIN"]


def register(sid: str, login: LoginSession) -> Connection:
    conn = Connection(
        sid=sid, user_id=login.user_id, login_id=login.id, checked_at=time.monotonic(),
        shown=shown(login.user.display_name, login.user.role),
        family=login.user.role == Role.FAMILY,
        login_bucket=_login_buckets.setdefault(login.id, TokenBucket(LOGIN_BURST, LOGIN_RATE)),
        user_bucket=_user_buckets.setdefault(login.user_id, TokenBucket(USER_BURST, USER_RATE)),
    )
    connections[sid] = conn
    _sockets_of_login[login.id] = _sockets_of_login.get(login.id, 0) + 1
    join_room(user_room(login.user_id))
    join_room(login_room(login.id))
    return conn


def forget(sid: str) -> Connection | None:
    conn = connections.pop(sid, None)
    if conn is not None:
        left = _sockets_of_login.pop(conn.login_id, 1) - 1
        if left > 0:
            _sockets_of_login[conn.login_id] = left
    return conn


def forget_all() -> None:
    """This process knows no sockets (and no allowances): a test's clean slate."""
    connections.clear()
    _sockets_of_login.clear()
    _login_buckets.clear()
    _user_buckets.clear()


def prune_buckets() -> None:
    """Drop the allowances of logins and people with no socket here once they are full."""
    now = time.monotonic()
    logins = {c.login_id for c in connections.values()}
    users = {c.user_id for c in connections.values()}
    for key in [k for k, b in _login_buckets.items() if k not in logins and b.full(now)]:
        del _login_buckets[key]
    for uid in [k for k, b in _user_buckets.items() if k not in users and b.full(now)]:
        del _user_buckets[uid]


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


def disconnect(sid: str, reason: str) -> None:
    """Tell the socket why (at once: it is closed next), then close it."""
    events.send_now([events.socket_room(sid)], reason, {})
    socketio.server.disconnect(sid, namespace="/")


def connections_of_user(user_id: int) -> list[Connection]:
    """This process's sockets of one user."""
    return [c for c in connections.values() if c.user_id == user_id]
