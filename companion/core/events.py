"""The one event funnel: every Socket.IO event the server sends goes out here, after the commit.

Recipients are rooms, named only here: ``user:<id>`` (every socket of that user),
``login:<id>`` (every socket of one login), ``session:<id>`` (everyone admitted to a session's
room), ``members:<id>`` (the room but family guests), ``staff:<id>`` (its counselor and peer
supporters), ``counselors:<id>`` (its counselors), ``lobby:<id>`` (everyone at its door), and
one socket by its id. The caller names them, because a wrong list is a privacy leak. With
REDIS_URL set, Flask-SocketIO's message queue carries the event to sockets on every web process.

``publish`` ties an event to the database transaction it is published in: it is queued on the
SQLAlchemy session, sent when that transaction commits, and dropped if it rolls back, so
nobody hears of a write that did not happen. Published while no transaction is open, it goes
at once: whatever it reports was committed already. ``send_now`` sends at once whatever is open,
for what reports no write of the caller's transaction: an error reply to one socket, a replay of
stored events, relays of the media workers' events, a notice to a socket about to be closed.

Each event name has a payload model (``core/event_schemas.py``); in debug and testing every
payload is checked against it before it is queued or sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NewType

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from companion.core import event_schemas
from companion.core.extensions import db, socketio

log = logging.getLogger(__name__)

# A Socket.IO room name, made by one of the functions below (mypy keeps raw strings out).
Room = NewType("Room", str)


def user_room(user_id: int) -> Room:
    return Room(f"user:{user_id}")


def login_room(login_id: str) -> Room:
    return Room(f"login:{login_id}")


def session_room(session_id: int) -> Room:
    return Room(f"session:{session_id}")


def members_room(session_id: int) -> Room:
    """Everyone in the room but family guests: the check-in round goes here."""
    return Room(f"members:{session_id}")


def staff_room(session_id: int) -> Room:
    return Room(f"staff:{session_id}")


def counselors_room(session_id: int) -> Room:
    return Room(f"counselors:{session_id}")


def lobby_room(session_id: int) -> Room:
    """Everyone at the door, not in the room: waiting to be admitted, or kept out by the lock.
    They hear that the room was unlocked or the session ended."""
    return Room(f"lobby:{session_id}")


def socket_room(sid: str) -> Room:
    """One socket: Socket.IO puts every socket in a room named by its id."""
    return Room(sid)


_SESSION_ROOM_KINDS = ("session", "members", "staff", "counselors", "lobby")


def session_of_room(room: str) -> int | None:
    """The session a room above belongs to (None for a user's, a login's or a socket's)."""
    kind, _, number = room.partition(":")
    return int(number) if kind in _SESSION_ROOM_KINDS and number.isdigit() else None


# --- sending --------------------------------------------------------------------------------


def publish(recipients: Iterable[Room], event: str, payload: dict[str, Any]) -> None:
    """Send ``event`` to each recipient room when the current transaction commits (never, if it
    rolls back); at once if no transaction is open."""
    rooms = _rooms(recipients)
    _check(event, payload)
    if not rooms:
        return
    session = db.session() if has_app_context() else None
    if session is None or not session.in_transaction():
        _deliver(rooms, event, payload)
        return
    # Tied to the innermost transaction: a savepoint rolled back drops what it published.
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None
    session.info.setdefault(_QUEUED, []).append(_Queued(transaction, rooms, event, payload))


def send_now(recipients: Iterable[Room], event: str, payload: dict[str, Any]) -> None:
    """Send ``event`` at once, whatever transaction is open. Only for what reports no write of
    the caller's transaction (see the module's docstring); everything else uses ``publish``."""
    rooms = _rooms(recipients)
    _check(event, payload)
    if rooms:
        _deliver(rooms, event, payload)


def _rooms(recipients: Iterable[Room]) -> list[Room]:
    if isinstance(recipients, str):  # one room passed bare: its letters are not rooms
        raise TypeError("recipients is a list of rooms")
    return sorted(set(recipients))


def _check(event: str, payload: dict[str, Any]) -> None:
    if has_app_context() and (current_app.testing or current_app.debug):
        event_schemas.validate(event, payload)


def _deliver(rooms: list[Room], event: str, payload: dict[str, Any]) -> None:
    """One emit to all the rooms: a socket in several of them gets the event once. Never fails
    the caller: what it reports is stored (room events are replayed on the next join)."""
    try:
        socketio.emit(event, payload, to=rooms[0] if len(rooms) == 1 else rooms)
    except Exception as error:  # noqa: BLE001 - delivery is best effort after the commit
        log.error("event %s not sent: %s", event, type(error).__name__)


# --- the queue on the session ---------------------------------------------------------------

_QUEUED = "companion.events.queued"
_ROLLING_BACK = "companion.events.rolling_back"


@dataclass(frozen=True)
class _Queued:
    transaction: SessionTransaction
    rooms: list[Room]
    event: str
    payload: dict[str, Any]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def _send_queued(session: Session) -> None:
    """after_commit: the outermost transaction committed; send what it published, in order."""
    if session.in_nested_transaction():
        return  # a savepoint released: its events wait for the transaction around it
    for queued in session.info.pop(_QUEUED, None) or ():
        _deliver(queued.rooms, queued.event, queued.payload)


def _note_rollback(session: Session) -> None:
    session.info[_ROLLING_BACK] = True


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """after_soft_rollback: what the rolled back transaction (or savepoint) published goes."""
    session.info.pop(_ROLLING_BACK, None)
    queued = session.info.get(_QUEUED)
    if queued:
        session.info[_QUEUED] = [q for q in queued
                                 if not _within(q.transaction, previous_transaction)]


def _drop_unsent(session: Session, transaction: SessionTransaction) -> None:
    """after_transaction_end: an outermost transaction that ended with neither a commit nor a
    rollback (the session closed, as at the end of a request) sends nothing; say so, since the
    caller meant it to be sent."""
    if transaction.parent is not None:
        return
    queued = session.info.pop(_QUEUED, None)
    if queued and not session.info.get(_ROLLING_BACK):
        log.error("%d event(s) never sent (%s): their transaction ended without a commit",
                  len(queued), ", ".join(sorted({q.event for q in queued})))


# Registered once, on the scoped session's factory: every session the app uses has them,
# whatever thread or greenlet runs it (each has a session, and so a queue, of its own).
for _name, _listener in (("after_commit", _send_queued), ("after_rollback", _note_rollback),
                         ("after_soft_rollback", _drop_rolled_back),
                         ("after_transaction_end", _drop_unsent)):
    if not sa_event.contains(db.session, _name, _listener):
        sa_event.listen(db.session, _name, _listener)
