"""A client's private calendar feed of their saved meetings: issuing its secret URL token (a new
one stops the old), turning it off, and what a calendar app that presents the token may read.

Calendar apps cannot log in, so the token is the credential: only its hash is stored, and every
read through it is audited on the client's record.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from companion.accounts.models import User
from companion.core import audit, clock
from companion.core.extensions import db
from companion.meetings.models import Meeting, MeetingCalendar, MeetingFavourite


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_calendar_token(actor: User, client_id: int) -> str:
    """A new private calendar-feed token; any earlier one stops working."""
    token = secrets.token_urlsafe(32)
    calendar = db.session.scalar(
        select(MeetingCalendar).where(MeetingCalendar.client_id == client_id))
    if calendar is None:
        calendar = MeetingCalendar(client_id=client_id, token_hash=_token_hash(token),
                                   created_at=clock.now())
        db.session.add(calendar)
    else:
        calendar.token_hash = _token_hash(token)
        calendar.created_at = clock.now()
    db.session.flush()
    audit.record(actor, "create", "meeting_calendar", calendar.id, subject_id=client_id)
    db.session.commit()
    return token


def revoke_calendar_token(actor: User, client_id: int) -> bool:
    calendar = db.session.scalar(
        select(MeetingCalendar).where(MeetingCalendar.client_id == client_id))
    if calendar is None:
        return False
    audit.record(actor, "delete", "meeting_calendar", calendar.id, subject_id=client_id)
    db.session.delete(calendar)
    db.session.commit()
    return True


def calendar_owner(token: str) -> User | None:
    """The client whose calendar feed this token opens (None for an unknown or revoked one)."""
    if not token or len(token) > 100:
        return None
    calendar = db.session.scalar(
        select(MeetingCalendar).where(MeetingCalendar.token_hash == _token_hash(token)))
    if calendar is None:
        return None
    user = db.session.get(User, calendar.client_id)
    return user if user is not None and user.is_active else None


def calendar_meetings(owner: User) -> list[Meeting]:
    rows = db.session.scalars(
        select(Meeting).join(MeetingFavourite, MeetingFavourite.meeting_id == Meeting.id)
        .where(MeetingFavourite.client_id == owner.id, Meeting.removed_at.is_(None))
        .order_by(Meeting.name, Meeting.id)
    )
    return list(rows)
