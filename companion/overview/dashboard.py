"""The counselor's caseload at a glance, sorted by who needs attention first.

One row per client: last check-in, craving and mood over the last two weeks (sparklines),
check-in streak and missed days, open alerts, this week's IOP hours against the target, next
session and the latest measure scores. Queries are per caseload, not per client.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from companion.accounts.models import User
from companion.alerts.models import Alert, AlertUrgency
from companion.clinic import schedule
from companion.clinic.models import Enrollment, GroupMember, Program, Session
from companion.core import clock
from companion.core.extensions import db
from companion.measures.models import Measure
from companion.rooms import attendance
from companion.selfcare.models import CheckIn

TREND_DAYS = 14
URGENCY_WEIGHT = {AlertUrgency.URGENT: 1000, AlertUrgency.HIGH: 100, AlertUrgency.NORMAL: 10}


@dataclass
class ClientRow:
    client: User
    last_checkin_at: datetime | None = None
    streak_days: int = 0
    missed_days: int = 0  # of the last 7 days, how many had no check-in
    craving: list[int | None] = field(default_factory=list)  # daily highest, oldest first
    mood: list[int | None] = field(default_factory=list)  # daily latest, oldest first
    open_alerts: list[Alert] = field(default_factory=list)
    hours_this_week: float = 0.0
    target_hours: int = 9
    next_session: Session | None = None
    measures: dict[str, Measure] = field(default_factory=dict)

    @property
    def attention(self) -> int:
        """Higher first: open alerts by urgency, then missed check-ins, then short hours."""
        score = sum(URGENCY_WEIGHT[a.urgency] for a in self.open_alerts)
        score += self.missed_days * 5
        recent = [c for c in self.craving[-3:] if c is not None]
        if recent and max(recent) >= 7:
            score += 5
        if self.hours_this_week < self.target_hours:
            score += 1
        return score


def caseload_rows(counselor: User) -> list[ClientRow]:
    clients = schedule.caseload(counselor)
    if not clients:
        return []
    ids = [c.id for c in clients]
    rows = {c.id: ClientRow(c) for c in clients}
    now = clock.now()
    zone = ZoneInfo(counselor.timezone)
    today = now.astimezone(zone).date()
    _checkins(rows, ids, today)
    _alerts(rows, ids)
    _measures(rows, ids)
    _next_sessions(rows, ids, now)
    _hours(rows, clients, today)
    return sorted(rows.values(), key=lambda r: (-r.attention, r.client.display_name, r.client.id))


def _checkins(rows: dict[int, ClientRow], ids: list[int], today: date) -> None:
    first = today - timedelta(days=TREND_DAYS - 1)
    days = [first + timedelta(days=i) for i in range(TREND_DAYS)]
    mood: dict[int, dict[date, int]] = defaultdict(dict)
    craving: dict[int, dict[date, int]] = defaultdict(dict)
    checked: dict[int, set[date]] = defaultdict(set)
    stmt = (
        select(CheckIn)
        .where(CheckIn.client_id.in_(ids), CheckIn.local_date >= first - timedelta(days=60))
        .order_by(CheckIn.occurred_at)
    )
    for entry in db.session.scalars(stmt):
        row = rows[entry.client_id]
        row.last_checkin_at = entry.occurred_at
        checked[entry.client_id].add(entry.local_date)
        mood[entry.client_id][entry.local_date] = entry.mood  # the latest of the day counts
        craving[entry.client_id][entry.local_date] = max(
            entry.craving, craving[entry.client_id].get(entry.local_date, 0))
    for client_id, row in rows.items():
        row.mood = [mood[client_id].get(d) for d in days]
        row.craving = [craving[client_id].get(d) for d in days]
        done = checked[client_id]
        row.missed_days = sum(1 for d in days[-7:] if d not in done and d != today)
        # The streak runs back from today (or yesterday, if today's is not in yet).
        cursor = today if today in done else today - timedelta(days=1)
        while cursor in done:
            row.streak_days += 1
            cursor -= timedelta(days=1)


def _alerts(rows: dict[int, ClientRow], ids: list[int]) -> None:
    stmt = (
        select(Alert)
        .where(Alert.client_id.in_(ids), Alert.acknowledged_at.is_(None))
        .order_by(Alert.created_at.desc())
    )
    for alert in db.session.scalars(stmt):
        rows[alert.client_id].open_alerts.append(alert)


def _measures(rows: dict[int, ClientRow], ids: list[int]) -> None:
    latest = (
        select(Measure.client_id, Measure.kind, func.max(Measure.completed_at).label("at"))
        .where(Measure.client_id.in_(ids))
        .group_by(Measure.client_id, Measure.kind)
        .subquery()
    )
    stmt = select(Measure).join(
        latest, (Measure.client_id == latest.c.client_id) & (Measure.kind == latest.c.kind)
        & (Measure.completed_at == latest.c.at))
    for measure in db.session.scalars(stmt):
        rows[measure.client_id].measures[measure.kind] = measure


def _next_sessions(rows: dict[int, ClientRow], ids: list[int], now: datetime) -> None:
    memberships = db.session.execute(
        select(GroupMember.user_id, GroupMember.group_id).where(GroupMember.user_id.in_(ids))
    ).all()
    groups_of: dict[int, set[int]] = defaultdict(set)
    for user_id, group_id in memberships:
        groups_of[user_id].add(group_id)
    all_groups = {g for gs in groups_of.values() for g in gs}
    stmt = (
        select(Session)
        .where(Session.ends_at > now, Session.ended_at.is_(None))
        .where(or_(Session.group_id.in_(all_groups), Session.client_id.in_(ids)))
        .order_by(Session.starts_at)
    )
    for session in db.session.scalars(stmt):
        for client_id, row in rows.items():
            if row.next_session is None and (
                session.client_id == client_id or session.group_id in groups_of[client_id]
            ):
                row.next_session = session


def _hours(rows: dict[int, ClientRow], clients: list[User], today: date) -> None:
    enrollments = db.session.scalars(
        select(Enrollment).where(Enrollment.client_id.in_([c.id for c in clients]),
                                 Enrollment.end_date.is_(None)))
    by_program: dict[int, list[User]] = defaultdict(list)
    for enrollment in enrollments:
        rows[enrollment.client_id].target_hours = enrollment.weekly_hours_target
        by_program[enrollment.program_id].append(rows[enrollment.client_id].client)
    monday = today - timedelta(days=today.weekday())
    for program_id, members in by_program.items():
        program = db.session.get(Program, program_id)
        assert program is not None
        for week in attendance.week_report(program, monday, members):
            rows[week.client.id].hours_this_week = week.hours


def row_json(row: ClientRow) -> dict[str, Any]:
    def measure(m: Measure | None) -> dict[str, Any] | None:
        if m is None:
            return None
        out: dict[str, Any] = {"completed_at": m.completed_at.isoformat()}
        if m.subscales is not None:
            out["subscales"] = m.subscales
        else:
            out |= {"total": m.total, "band": m.band}
        return out

    newest = row.open_alerts[0] if row.open_alerts else None
    return {
        "client": {"id": row.client.id, "display_name": row.client.display_name},
        "last_checkin_at": row.last_checkin_at.isoformat() if row.last_checkin_at else None,
        "streak_days": row.streak_days,
        "missed_days": row.missed_days,
        "craving": row.craving,
        "mood": row.mood,
        "open_alerts": len(row.open_alerts),
        "top_urgency": (
            min((a.urgency for a in row.open_alerts),
                key=lambda u: list(AlertUrgency).index(u)).value
            if row.open_alerts else None
        ),
        "newest_alert_kind": newest.kind.value if newest else None,
        "hours_this_week": row.hours_this_week,
        "target_hours": row.target_hours,
        "next_session": {
            "id": row.next_session.id, "title": row.next_session.title,
            "starts_at": row.next_session.starts_at.isoformat(),
        } if row.next_session else None,
        "measures": {k: measure(row.measures.get(k)) for k in ("phq9", "gad7", "bam")},
        "attention": row.attention,
    }
