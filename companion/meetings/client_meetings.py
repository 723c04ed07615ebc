"""What a client does with the directory's meetings: the ones they saved (favourites), the ones
they say they went to (self-reported attendance, never counted as IOP hours) and the ones their
counselors suggested. Every read of these is audited as a read of the client's record.

The views authorise (the client writes their own; their care team reads); these functions
check only what the meeting itself allows, such as going on a day it is held.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import User
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.meetings.models import (
    Meeting,
    MeetingAttendance,
    MeetingFavourite,
    MeetingRecommendation,
)
from companion.meetings.schedule import held_on


class ClientMeetingError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def favourites(client_id: int) -> list[MeetingFavourite]:
    rows = list(db.session.scalars(
        select(MeetingFavourite).where(MeetingFavourite.client_id == client_id)
        .order_by(MeetingFavourite.created_at, MeetingFavourite.id)
    ))
    return rows


def save_favourite(actor: User, client_id: int, meeting: Meeting) -> tuple[MeetingFavourite, bool]:
    """Save (idempotent); returns (favourite, created)."""
    existing = db.session.scalar(select(MeetingFavourite).where(
        MeetingFavourite.client_id == client_id, MeetingFavourite.meeting_id == meeting.id))
    if existing is not None:
        return existing, False
    favourite = MeetingFavourite(client_id=client_id, meeting_id=meeting.id,
                                 created_at=clock.now())
    db.session.add(favourite)
    try:
        db.session.flush()
    except IntegrityError:  # the same save, racing itself
        db.session.rollback()
        again = db.session.scalar(select(MeetingFavourite).where(
            MeetingFavourite.client_id == client_id, MeetingFavourite.meeting_id == meeting.id))
        assert again is not None
        return again, False
    audit.record(actor, "create", "meeting_favourite", favourite.id, subject_id=client_id)
    db.session.commit()
    return favourite, True


def remove_favourite(actor: User, client_id: int, meeting_id: int) -> bool:
    favourite = db.session.scalar(select(MeetingFavourite).where(
        MeetingFavourite.client_id == client_id, MeetingFavourite.meeting_id == meeting_id))
    if favourite is None:
        return False
    audit.record(actor, "delete", "meeting_favourite", favourite.id, subject_id=client_id)
    db.session.delete(favourite)
    db.session.commit()
    return True


def attendance(client_id: int) -> list[MeetingAttendance]:
    rows = list(db.session.scalars(
        select(MeetingAttendance).where(MeetingAttendance.client_id == client_id)
        .order_by(MeetingAttendance.attended_on.desc(), MeetingAttendance.id.desc())
    ))
    return rows


def record_attendance(actor: User, client_id: int, meeting: Meeting, attended_on: date,
                      zone: ZoneInfo, now: datetime) -> tuple[MeetingAttendance, bool]:
    """A client says they went (once per meeting and day; a retry returns the same row).

    Only on a day the meeting is held, in the client's zone, and today only once it began.
    """
    today = now.astimezone(zone).date()
    if attended_on > today:
        raise ClientMeetingError(422, "attended_on", "That day has not come yet.")
    if attended_on < today - timedelta(days=60):
        raise ClientMeetingError(422, "attended_on", "Record meetings within 60 days of going.")
    starts = held_on(meeting, attended_on, zone)
    if not starts:
        when = "today" if attended_on == today else f"on {attended_on:%A, %B} {attended_on.day}"
        raise ClientMeetingError(422, "attended_on", f"{meeting.name} is not held {when}.")
    if min(starts) > now:
        raise ClientMeetingError(422, "attended_on", f"{meeting.name} has not started yet "
                                                     "today. Record it once you have been.")
    existing = db.session.scalar(select(MeetingAttendance).where(
        MeetingAttendance.client_id == client_id, MeetingAttendance.meeting_id == meeting.id,
        MeetingAttendance.attended_on == attended_on))
    if existing is not None:
        return existing, False
    row = MeetingAttendance(client_id=client_id, meeting_id=meeting.id, attended_on=attended_on,
                            created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "create", "meeting_attendance", row.id, subject_id=client_id)
    db.session.commit()
    return row, True


def recommendations(client_id: int) -> list[MeetingRecommendation]:
    rows = list(db.session.scalars(
        select(MeetingRecommendation).where(MeetingRecommendation.client_id == client_id)
        .order_by(MeetingRecommendation.created_at.desc(), MeetingRecommendation.id.desc())
    ))
    return rows


def recommend(actor: User, client_id: int, meeting: Meeting, note: str) -> MeetingRecommendation:
    row = MeetingRecommendation(client_id=client_id, meeting_id=meeting.id,
                                counselor_id=actor.id, note=note.strip(), created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "create", "meeting_recommendation", row.id, subject_id=client_id)
    db.session.commit()
    return row
