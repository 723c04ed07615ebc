"""What a family member sees of a client, one consented category at a time.

Each function answers with the least that the category's description promises (see
``CONSENT_CATEGORIES``): hours rather than sessions, days rather than what was written.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from companion.accounts.models import User
from companion.careteam import psychoed, rewards
from companion.careteam.models import PsychoedAssignment
from companion.clinic import schedule, treatment
from companion.clinic.models import Enrollment, Session
from companion.core import clock
from companion.core.extensions import db
from companion.rooms import attendance
from companion.selfcare.models import CheckIn


def disclose(client: User, category: str) -> dict[str, Any]:
    return {
        "enrollment": _enrollment,
        "attendance": _attendance,
        "checkins": _checkins,
        "rewards": _rewards,
        "psychoeducation": _psychoeducation,
        "family_sessions": _family_sessions,
    }[category](client)


def _enrollment(client: User) -> dict[str, Any]:
    rows = db.session.scalars(select(Enrollment).where(Enrollment.client_id == client.id)
                              .order_by(Enrollment.start_date))
    return {"enrollments": [{"program": e.program.name, "start_date": e.start_date.isoformat(),
                             "end_date": e.end_date.isoformat() if e.end_date else None}
                            for e in rows]}


def _attendance(client: User) -> dict[str, Any]:
    program = treatment.client_program(client.id)
    if program is None:
        return {"weeks": []}
    today = clock.now().date()
    monday = today - timedelta(days=today.weekday())
    weeks = []
    for back in range(3, -1, -1):
        start = monday - timedelta(weeks=back)
        row = attendance.week_report(program, start, [client])[0]
        weeks.append({"week_start": start.isoformat(), "hours": row.hours,
                      "target_hours": row.target_hours})
    return {"weeks": weeks}


def _checkins(client: User) -> dict[str, Any]:
    since = clock.now().date() - timedelta(days=13)
    days = sorted({d.isoformat() for d in db.session.scalars(
        select(CheckIn.local_date).where(CheckIn.client_id == client.id,
                                         CheckIn.local_date >= since))})
    return {"since": since.isoformat(), "days_checked_in": days}


def _rewards(client: User) -> dict[str, Any]:
    summary = rewards.summary(client)
    return {"points_total": summary["points_total"], "prizes": summary["prizes"]}


def _family_sessions(client: User) -> dict[str, Any]:
    """The client's family sessions still to come: what the guest may join (GET /sessions)."""
    now = clock.now()
    sessions = schedule.family_sessions_of([client.id], (Session.ends_at > now)
                                           & Session.ended_at.is_(None))
    return {"upcoming": [{"id": s.id, "title": s.title, "starts_at": s.starts_at.isoformat(),
                          "ends_at": s.ends_at.isoformat()} for s in sessions]}


def _psychoeducation(client: User) -> dict[str, Any]:
    done = db.session.scalars(select(PsychoedAssignment).where(
        PsychoedAssignment.client_id == client.id, PsychoedAssignment.completed_at.is_not(None)))
    return {"completed": [{"title": (psychoed.module(a.module) or {"title": a.module})["title"],
                           "completed_at": a.completed_at.isoformat() if a.completed_at else None}
                          for a in done]}
