"""Attendance as a clinical record: from what the server saw, per session, day and week.

A program bills per day of service (HCPCS H0015: at least 3 hours a day on at least 3 days a
week), so each day's record has its date, start and stop times, minutes of direct service and
modality, and the counselor's attestation. Reconnect gaps under five minutes are merged (a
dropped rural link is not a departure); longer gaps are breaks and do not count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from companion.accounts.models import Role, User
from companion.clinic.models import Enrollment, Program, Session
from companion.core import audit, clock, signals
from companion.core.extensions import db
from companion.core.spreadsheet_csv import csv_text
from companion.rooms.models import AttendanceAttestation, AttendanceInterval, Modality

MERGE_GAP = timedelta(minutes=5)
SHORT_DAY_MINUTES = 180  # H0015: at least 3 hours on a day of service


@dataclass
class Stretch:
    """Merged presence: from first arrival to last departure, the minutes actually present."""

    start: datetime
    stop: datetime
    seconds: float = 0.0
    by_modality: dict[Modality, float] = field(default_factory=dict)

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)

    @property
    def modality(self) -> Modality:
        """The modality of most of the time (video over audio over phone over chat on a tie)."""
        order = [Modality.VIDEO, Modality.AUDIO, Modality.PHONE, Modality.CHAT]
        return max(order, key=lambda m: (self.by_modality.get(m, 0.0), -order.index(m)))


def merge(intervals: list[tuple[datetime, datetime, Modality]]) -> Stretch | None:
    """One stretch from raw intervals; gaps shorter than MERGE_GAP count as present."""
    if not intervals:
        return None
    ordered = sorted(intervals)
    stretch = Stretch(ordered[0][0], ordered[0][1])
    cursor = ordered[0][0]
    for start, end, modality in ordered:
        if start - stretch.stop < MERGE_GAP and start > stretch.stop:
            # A short reconnect gap: bridged, counted in the modality just before it.
            stretch.seconds += (start - stretch.stop).total_seconds()
        begin = max(start, cursor)
        if end > begin:
            length = (end - begin).total_seconds()
            stretch.seconds += length
            stretch.by_modality[modality] = stretch.by_modality.get(modality, 0.0) + length
            cursor = end
        stretch.stop = max(stretch.stop, end)
    return stretch


def _session_end(session: Session, now: datetime) -> datetime:
    return min(session.ended_at or session.ends_at, session.ends_at, max(now, session.starts_at))


def _intervals(session_ids: list[int], user_ids: list[int] | None = None
               ) -> dict[tuple[int, int], list[tuple[datetime, datetime, Modality]]]:
    """(session, user) -> intervals, open ones ending at the session's end (or now)."""
    if not session_ids:
        return {}
    now = clock.now()
    sessions = {
        s.id: s for s in db.session.scalars(select(Session).where(Session.id.in_(session_ids)))
    }
    stmt = select(AttendanceInterval).where(AttendanceInterval.session_id.in_(session_ids))
    if user_ids is not None:
        stmt = stmt.where(AttendanceInterval.user_id.in_(user_ids))
    out: dict[tuple[int, int], list[tuple[datetime, datetime, Modality]]] = defaultdict(list)
    for interval in db.session.scalars(stmt):
        session = sessions[interval.session_id]
        cap = _session_end(session, now)
        start = max(interval.started_at, session.starts_at)
        end = min(interval.ended_at or cap, cap)
        if end > start:
            out[(interval.session_id, interval.user_id)].append((start, end, interval.modality))
    return out


@dataclass
class SessionRow:
    client: User
    stretch: Stretch


def session_attendance(session: Session) -> list[SessionRow]:
    """Each client's merged presence in one session (staff are not billed attendees)."""
    per_user = _intervals([session.id])
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_([u for _, u in per_user]), User.role == Role.CLIENT))}
    rows = []
    for (_, user_id), intervals in per_user.items():
        stretch = merge(intervals)
        if user_id in users and stretch is not None:
            rows.append(SessionRow(users[user_id], stretch))
    return sorted(rows, key=lambda r: (r.client.display_name, r.client.id))


def attestation(session: Session) -> AttendanceAttestation | None:
    return db.session.scalar(
        select(AttendanceAttestation).where(AttendanceAttestation.session_id == session.id))


def record_attestation(session: Session, counselor: User
                       ) -> AttendanceAttestation:
    """The attestation row and its audit row, in the caller's transaction (the first signature
    stands); the caller commits, then sends ``signals.session_attested``. Signing a session's
    clinical note (companion/notes) attests its attendance this way."""
    signed = attestation(session)
    if signed is None:
        signed = AttendanceAttestation(session_id=session.id, counselor_id=counselor.id,
                                       attested_at=clock.now())
        db.session.add(signed)
    audit.record(counselor, "attest", "attendance", session.id)
    return signed


def attest(session: Session, counselor: User) -> AttendanceAttestation:
    """The counselor signs the session's attendance (once; the first signature stands), then
    the domains that follow attendance hear of it (rewards), after the commit."""
    signed = record_attestation(session, counselor)
    db.session.commit()
    signals.session_attested.send(session.id, counselor_id=counselor.id)
    return signed


@dataclass
class Day:
    day: date
    start: datetime
    stop: datetime
    minutes: int
    modality: Modality
    attested_by: list[str]

    @property
    def short(self) -> bool:
        return self.minutes < SHORT_DAY_MINUTES


@dataclass
class ClientWeek:
    client: User
    target_hours: int
    days: list[Day]

    @property
    def hours(self) -> float:
        return round(sum(d.minutes for d in self.days) / 60, 2)

    @property
    def short_week(self) -> bool:
        return self.hours < self.target_hours


def monday_of(day: date) -> date:
    """The Monday of the week this day is in: a program's week runs Monday to Sunday."""
    return day - timedelta(days=day.weekday())


def week_bounds(program: Program, week_start: date) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 in the program's zone, for any day of the week."""
    zone = ZoneInfo(program.timezone)
    start = datetime.combine(monday_of(week_start), time(0), tzinfo=zone)
    return start, start + timedelta(days=7)


def week_report(program: Program, week_start: date, clients: list[User]) -> list[ClientWeek]:
    """Per client: each day's sessions (merged per session), totalled against the target.
    ``week_start`` may be any day of the week."""
    zone = ZoneInfo(program.timezone)
    start, end = week_bounds(program, week_start)
    sessions = list(db.session.scalars(
        select(Session).where(Session.program_id == program.id, Session.starts_at >= start,
                              Session.starts_at < end)))
    per_pair = _intervals([s.id for s in sessions], [c.id for c in clients])
    by_id = {s.id: s for s in sessions}
    signers = {a.session_id: a.counselor_id for a in db.session.scalars(
        select(AttendanceAttestation).where(
            AttendanceAttestation.session_id.in_(list(by_id))))}
    names = dict(db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(set(signers.values())))).all())
    targets = dict(db.session.execute(
        select(Enrollment.client_id, Enrollment.weekly_hours_target)
        .where(Enrollment.program_id == program.id)).all())
    report = []
    for client in clients:
        days: dict[date, list[tuple[Session, Stretch]]] = defaultdict(list)
        for (session_id, user_id), intervals in per_pair.items():
            if user_id != client.id:
                continue
            stretch = merge(intervals)
            if stretch is not None and stretch.seconds > 0:
                session = by_id[session_id]
                days[session.starts_at.astimezone(zone).date()].append((session, stretch))
        rows = []
        for day, parts in sorted(days.items()):
            minutes = sum(s.minutes for _, s in parts)
            main = max(parts, key=lambda p: p[1].seconds)[1]
            signed_by = sorted({names[signers[s.id]] for s, _ in parts if s.id in signers})
            # A day is attested when every session in it is.
            attested = signed_by if all(s.id in signers for s, _ in parts) else []
            rows.append(Day(day, min(p[1].start for p in parts), max(p[1].stop for p in parts),
                            minutes, main.modality, attested))
        report.append(ClientWeek(client, targets.get(client.id, 9), rows))
    return report


def week_csv(program: Program, week: list[ClientWeek]) -> str:
    """One row per client-day: the record a program bills from."""
    zone = ZoneInfo(program.timezone)
    rows = [
        [row.client.id, row.client.display_name, day.day.isoformat(),
         day.start.astimezone(zone).strftime("%H:%M"), day.stop.astimezone(zone).strftime("%H:%M"),
         day.minutes, day.modality.value, "; ".join(day.attested_by)]
        for row in week for day in row.days
    ]
    return csv_text(["client_id", "client", "date", "start", "stop", "minutes", "modality",
                     "attested_by"], rows)
