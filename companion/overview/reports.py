"""Program reports for the admin: census, alerts and response times, measure completion.
(Attendance hours per week per client are in rooms/attendance.py, with their CSV.)"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import select

from companion.alerts.models import Alert
from companion.clinic.models import Enrollment, Phase, Program
from companion.core.extensions import db
from companion.measures.models import Measure, MeasureSchedule
from companion.rooms import attendance


def program_report(program: Program, week_start: date) -> dict[str, Any]:
    """The week (Monday to Sunday) holding ``week_start``, which may be any day of it."""
    week_start = attendance.monday_of(week_start)
    start, end = attendance.week_bounds(program, week_start)
    enrollments = list(db.session.scalars(
        select(Enrollment).where(Enrollment.program_id == program.id)))
    active = [e for e in enrollments if e.end_date is None or e.end_date >= week_start]
    phases = {p.id: p.name for p in db.session.scalars(
        select(Phase).where(Phase.program_id == program.id))}
    by_phase = Counter(phases.get(e.phase_id, "No phase") if e.phase_id else "No phase"
                       for e in active)
    client_ids = [e.client_id for e in active]
    return {
        "program": {"id": program.id, "name": program.name},
        "week": week_start.isoformat(),
        "census": {
            "active": len(active),
            "adolescents": sum(1 for e in active if e.adolescent),
            "admitted_this_week": sum(1 for e in active
                                      if week_start <= e.start_date < week_start + timedelta(7)),
            "by_phase": dict(sorted(by_phase.items())),
        },
        "alerts": _alerts(client_ids, start, end),
        "measures": _measures(client_ids, start, end),
    }


def _alerts(client_ids: list[int], start: datetime, end: datetime) -> dict[str, Any]:
    raised = list(db.session.scalars(select(Alert).where(
        Alert.client_id.in_(client_ids), Alert.created_at >= start, Alert.created_at < end)))
    minutes = [(a.acknowledged_at - a.created_at).total_seconds() / 60
               for a in raised if a.acknowledged_at is not None]
    return {
        "raised": len(raised),
        "by_kind": dict(sorted(Counter(a.kind.value for a in raised).items())),
        "acknowledged": len(minutes),
        "escalated": sum(1 for a in raised if a.escalated_at is not None),
        "median_minutes_to_acknowledge": round(median(minutes), 1) if minutes else None,
        "longest_minutes_to_acknowledge": round(max(minutes), 1) if minutes else None,
    }


def _measures(client_ids: list[int], start: datetime, end: datetime) -> dict[str, Any]:
    scheduled = list(db.session.scalars(select(MeasureSchedule).where(
        MeasureSchedule.client_id.in_(client_ids))))
    done = list(db.session.scalars(select(Measure).where(
        Measure.client_id.in_(client_ids), Measure.completed_at >= start,
        Measure.completed_at < end)))
    overdue = [s for s in scheduled if s.next_due < start]
    return {
        "completed": len(done),
        "by_kind": dict(sorted(Counter(m.kind for m in done).items())),
        "scheduled": len(scheduled),
        "overdue": len(overdue),
    }
