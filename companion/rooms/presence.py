"""Presence as attendance: the intervals the server saw each person in a room, per connection
and modality (companion/rooms/attendance.py turns them into the clinical record)."""

from __future__ import annotations

from sqlalchemy import select

from companion.accounts.models import User
from companion.clinic.models import Session
from companion.core import clock
from companion.core.extensions import db
from companion.rooms.models import AttendanceInterval, Modality


def open_interval(session: Session, user: User, connection_id: str,
                  modality: Modality = Modality.CHAT) -> None:
    """The server saw this person arrive in the room on this connection."""
    db.session.add(AttendanceInterval(
        session_id=session.id, user_id=user.id, started_at=clock.now(), modality=modality,
        connection_id=connection_id,
    ))
    db.session.commit()


def close_intervals(session_id: int | None = None, user_id: int | None = None,
                    connection_id: str | None = None) -> list[tuple[int, int]]:
    """End open intervals matching the filters; returns the (session, user) pairs closed."""
    stmt = select(AttendanceInterval).where(AttendanceInterval.ended_at.is_(None))
    if session_id is not None:
        stmt = stmt.where(AttendanceInterval.session_id == session_id)
    if user_id is not None:
        stmt = stmt.where(AttendanceInterval.user_id == user_id)
    if connection_id is not None:
        stmt = stmt.where(AttendanceInterval.connection_id == connection_id)
    closed = []
    now = clock.now()
    for interval in db.session.scalars(stmt):
        interval.ended_at = now
        closed.append((interval.session_id, interval.user_id))
    return closed


def switch_modality(session_id: int, user_id: int, connection_id: str,
                    modality: Modality) -> bool:
    """This connection's media changed (video, audio only, back to chat): its open interval
    ends now and a new one starts with the new modality, so minutes per modality stay right.
    Returns whether anything changed (no open interval, or the same modality: nothing)."""
    open_ = list(db.session.scalars(
        select(AttendanceInterval).where(
            AttendanceInterval.session_id == session_id,
            AttendanceInterval.user_id == user_id,
            AttendanceInterval.connection_id == connection_id,
            AttendanceInterval.ended_at.is_(None),
        )
    ))
    if not open_ or all(i.modality == modality for i in open_):
        return False
    now = clock.now()
    for interval in open_:
        interval.ended_at = now
    db.session.add(AttendanceInterval(
        session_id=session_id, user_id=user_id, started_at=now, modality=modality,
        connection_id=connection_id,
    ))
    db.session.commit()
    return True


def leave_connection(connection_id: str) -> list[tuple[int, int]]:
    closed = close_intervals(connection_id=connection_id)
    db.session.commit()
    return closed


