"""A group's sessions, made from its weekly schedule: far enough ahead that members see the
coming weeks, at the same local time across daylight-saving changes, once per slot whichever
process makes them (a unique constraint on group and slot start, not a lock in one process).

Past occurrences are never touched: a schedule change replans future ones only; a cancelled
occurrence stays, with its reason, so members see why it is not on.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from companion.accounts.models import User
from companion.clinic.models import ClosedDay, Group, Program, Session, SessionKind
from companion.clinic.retries import Retry, keep
from companion.core import audit, clock, signals
from companion.core.errors import ServiceError
from companion.core.extensions import db

UTC = ZoneInfo("UTC")
# Members see at least the coming eight weeks whatever the weekday today: a ninth week makes
# sure a weekly group's next meeting after the eight-week mark is already there, and a day's
# margin covers the hourly job's period.
HORIZON = timedelta(weeks=9, days=1)
CLOSED = "The program is closed that day: {reason}"


class OccurrenceError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def slots_between(group: Group, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """The (start, end) moments in UTC of the group's weekly slots on days first..last, within
    the group's own dates. Slots are wall-clock times in the program's zone."""
    zone = ZoneInfo(group.program.timezone)
    if group.starts_on is not None:
        first = max(first, group.starts_on)
    if group.ends_on is not None:
        last = min(last, group.ends_on)
    out = []
    day = first
    while day <= last:
        for slot in group.schedule:
            if slot.weekday == day.weekday():
                begins = datetime.combine(day, slot.start_time, tzinfo=zone).astimezone(UTC)
                out.append((begins, begins + timedelta(minutes=slot.duration_minutes)))
        day += timedelta(days=1)
    return sorted(out)


def generate(group: Group, now: datetime, horizon: timedelta = HORIZON) -> int:
    """Make the group's occurrences from today (in its zone) to the horizon that do not exist
    yet; returns how many this call made. Safe to run on several processes at once."""
    if group.archived_at is not None or not group.schedule:
        return 0
    zone = ZoneInfo(group.program.timezone)
    today = now.astimezone(zone).date()
    closed = {c.day: c.reason for c in group.program.closed_days}
    rows = []
    for begins, ends in slots_between(group, today, (now + horizon).astimezone(zone).date()):
        if ends <= now:
            continue
        reason = closed.get(begins.astimezone(zone).date())
        rows.append({
            "program_id": group.program_id, "kind": SessionKind.GROUP,
            "group_id": group.id, "counselor_id": group.counselor_id, "title": group.name,
            "starts_at": begins, "ends_at": ends, "slot_start": begins,
            "cancelled_at": now if reason else None,
            "cancel_reason": CLOSED.format(reason=reason) if reason else None,
        })
    if not rows:
        return 0
    return _insert_missing(rows)


def _insert_missing(rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on the (group, slot start) constraint."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The model's column types convert aware datetimes and the kind for either database.
    stmt = insert(Session).values(rows).on_conflict_do_nothing(
        index_elements=["group_id", "slot_start"])
    result: Any = db.session.execute(stmt)
    return max(result.rowcount or 0, 0)


def generate_all(now: datetime) -> int:
    """Every active group's occurrences to the horizon (the periodic job)."""
    made = 0
    for group in db.session.scalars(select(Group).where(Group.archived_at.is_(None))):
        made += generate(group, now)
    db.session.commit()
    return made


def replan(group: Group, now: datetime) -> None:
    """After a schedule (or zone, or dates) change: future occurrences nobody has used yet go
    and are made again from the new schedule. Started, ended and used ones stay as they were;
    so do cancelled ones (their reason was told) and ones staff moved by hand."""
    db.session.execute(delete(Session).where(
        Session.group_id == group.id, Session.starts_at > now, Session.ended_at.is_(None),
        Session.last_seq == 0, Session.cancelled_at.is_(None),
        Session.slot_start == Session.starts_at).execution_options(synchronize_session=False))
    db.session.flush()
    db.session.expire(group, ["schedule"])
    generate(group, now)


def cancel(staff: User, session: Session, reason: str, now: datetime,
           retry: Retry | None = None) -> Session:
    """Staff cancel one occurrence; members see it cancelled, with the reason."""
    reason = reason.strip()
    if not reason:
        raise OccurrenceError(422, "reason", "Say why it is cancelled: members see the reason.")
    if session.cancelled_at is not None:
        return session  # pressed twice: already cancelled, nothing changes
    if session.state(now) != "scheduled" and session.state(now) != "open":
        raise OccurrenceError(409, "session_id", "That session has started or is over; only a "
                              "session still to come can be cancelled.")
    session.cancelled_at = now
    session.cancel_reason = reason
    audit.record(staff, "cancel", "session", session.id, subject_id=session.client_id)
    keep(retry, session, "session", session.id, subject_id=session.client_id)
    db.session.commit()
    return session


def move(staff: User, session: Session, starts_at: datetime, minutes: int,
         now: datetime) -> Session:
    """Staff move one occurrence to another time; the weekly slot it came from stays filled."""
    if session.cancelled_at is not None or session.state(now) not in ("scheduled", "open"):
        raise OccurrenceError(409, "session_id", "Only a session still to come can be moved.")
    if starts_at + timedelta(minutes=minutes) <= now:
        raise OccurrenceError(422, "starts_at", "That time is already past.")
    session.starts_at = starts_at
    session.ends_at = starts_at + timedelta(minutes=minutes)
    audit.record(staff, "move", "session", session.id, subject_id=session.client_id)
    db.session.commit()
    signals.session_moved.send(session.id)
    return session


def cancel_closed_day(program: Program, closed: ClosedDay) -> int:
    """That day's occurrences of the program's groups, not yet begun, are cancelled."""
    zone = ZoneInfo(program.timezone)
    begins = datetime.combine(closed.day, time(0), tzinfo=zone).astimezone(UTC)
    ends = datetime.combine(closed.day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    now = clock.now()
    sessions = db.session.scalars(select(Session).where(
        Session.program_id == program.id, Session.group_id.is_not(None),
        Session.starts_at >= begins, Session.starts_at < ends, Session.starts_at > now,
        Session.cancelled_at.is_(None)))
    count = 0
    for session in sessions:
        session.cancelled_at = now
        session.cancel_reason = CLOSED.format(reason=closed.reason)
        count += 1
    return count
