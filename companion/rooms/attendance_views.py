"""Attendance: per session (and its attestation), per program week, and the week's CSV."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Response
from pydantic import BaseModel, Field

from companion.accounts.models import Role, User
from companion.clinic import policy, schedule
from companion.clinic.guards import audit_access, authorize, me
from companion.clinic.models import Program, Session
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page_of_list
from companion.core.problems import ApiProblem, Problem
from companion.core.schemas import Day, RecordId
from companion.core.spec import registry
from companion.rooms import attendance


class Person(BaseModel):
    id: int
    display_name: str


class SessionAttendanceRow(BaseModel):
    client: Person
    start: datetime
    stop: datetime
    minutes: int
    modality: str


class SessionAttendance(BaseModel):
    session_id: int
    attested_by: Person | None
    attested_at: datetime | None
    items: list[SessionAttendanceRow]


class AttendanceDay(BaseModel):
    date: date
    start: datetime
    stop: datetime
    minutes: int
    modality: str
    short_day: bool = Field(description="under 3 hours (HCPCS H0015)")
    attested_by: list[str]


class ClientWeek(BaseModel):
    client: Person
    hours: float
    target_hours: int
    short_week: bool
    days: list[AttendanceDay]


class WeekPage(BaseModel):
    week: date = Field(description="The Monday the week starts on")
    items: list[ClientWeek]
    next: str | None


class WeekQuery(PageQuery):
    program_id: RecordId
    week: Day = Field(description="Any day of the week: it runs Monday to Sunday in the "
                                   "program's time zone")


def _session(session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None:
        raise ApiProblem(404, "Not found", "No such session.")
    return session


def _session_json(session: Session) -> dict[str, Any]:
    signed = attendance.attestation(session)
    signer = db.session.get(User, signed.counselor_id) if signed else None
    return {
        "session_id": session.id,
        "attested_by": {"id": signer.id, "display_name": signer.display_name} if signer else None,
        "attested_at": signed.attested_at.isoformat() if signed else None,
        "items": [
            {
                "client": {"id": row.client.id, "display_name": row.client.display_name},
                "start": row.stretch.start.isoformat(),
                "stop": row.stretch.stop.isoformat(),
                "minutes": row.stretch.minutes,
                "modality": row.stretch.modality.value,
            }
            for row in attendance.session_attendance(session)
        ],
    }


@registry.route(api, "/sessions/<int:session_id>/attendance", "GET", tag="attendance",
                summary="Who attended a session, for how long, how (its counselors, admin)",
                responses={200: SessionAttendance, 403: Problem, 404: Problem})
def session_attendance(session_id: int) -> dict[str, Any]:
    session = _session(session_id)
    authorize(policy.Action.VIEW_ATTENDANCE, session, hide=True)
    audit_access("read", "attendance", session.id)
    return _session_json(session)


@registry.route(api, "/sessions/<int:session_id>/attest", "POST", tag="attendance",
                summary="The counselor attests a session's attendance",
                responses={200: SessionAttendance, 403: Problem, 404: Problem})
def attest_session(session_id: int) -> dict[str, Any]:
    session = _session(session_id)
    authorize(policy.Action.ATTEST_ATTENDANCE, session, hide=True)
    attendance.attest(session, me())
    return _session_json(session)


def _week(query: WeekQuery) -> tuple[Program, date, list[attendance.ClientWeek]]:
    program = db.session.get(Program, query.program_id)
    if program is None or program.clinic_id != me().clinic_id:
        raise ApiProblem(404, "Not found", "No such program.",
                         [{"field": "program_id", "message": "no such program"}])
    authorize(policy.Action.VIEW_ATTENDANCE, program)
    if me().role == Role.COUNSELOR:
        clients = schedule.caseload(me())
    else:
        clients = schedule.program_clients(program)
    monday = attendance.monday_of(query.week)
    report = attendance.week_report(program, monday, clients)
    audit_access("read", "attendance_week", f"{program.id}:{monday.isoformat()}")
    return program, monday, report


@registry.route(api, "/attendance/weekly", "GET", tag="attendance", query=WeekQuery,
                summary="Hours per client for one week against the target (counselor: caseload)",
                responses={200: WeekPage, 403: Problem, 404: Problem})
def weekly_attendance(query: WeekQuery) -> dict[str, Any]:
    _, monday, report = _week(query)
    return {"week": monday.isoformat(), **page_of_list(report, query, lambda row: {
        "client": {"id": row.client.id, "display_name": row.client.display_name},
        "hours": row.hours,
        "target_hours": row.target_hours,
        "short_week": row.short_week,
        "days": [
            {"date": d.day.isoformat(), "start": d.start.isoformat(), "stop": d.stop.isoformat(),
             "minutes": d.minutes, "modality": d.modality.value, "short_day": d.short,
             "attested_by": d.attested_by}
            for d in row.days
        ],
    })}


@registry.route(api, "/attendance/weekly.csv", "GET", tag="attendance", query=WeekQuery,
                summary="The week as CSV: one row per client-day", content_type="text/csv",
                responses={200: None, 403: Problem, 404: Problem})
def weekly_attendance_csv(query: WeekQuery) -> Response:
    program, monday, report = _week(query)
    filename = f"attendance-{program.id}-{monday.isoformat()}.csv"
    return Response(attendance.week_csv(program, report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
