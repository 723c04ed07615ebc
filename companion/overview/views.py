"""The counselor's dashboard and the admin's program report and on-call list."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from companion.accounts.models import Role
from companion.clinic import policy, programs
from companion.clinic.guards import audit_access, authorize, me
from companion.clinic.models import Program
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page_of_list
from companion.core.problems import ApiProblem, Problem
from companion.core.schemas import Day, RecordId
from companion.core.spec import registry
from companion.overview import dashboard, reports


class DashboardRow(BaseModel):
    client: dict[str, Any]
    last_checkin_at: str | None
    streak_days: int
    missed_days: int = Field(description="Days of the last seven without a check-in")
    craving: list[int | None] = Field(description="Daily highest craving, last 14 days")
    mood: list[int | None] = Field(description="Daily mood, last 14 days")
    open_alerts: int
    top_urgency: str | None
    newest_alert_kind: str | None
    hours_this_week: float
    target_hours: int
    next_session: dict[str, Any] | None
    measures: dict[str, Any]
    attention: int = Field(description="Higher needs attention sooner; rows come sorted by it")


class DashboardPage(BaseModel):
    items: list[DashboardRow]
    next: str | None


class ReportQuery(BaseModel):
    program_id: RecordId
    week: Day = Field(description="Any day of the week: it runs Monday to Sunday in the "
                                   "program's time zone")


class ProgramReport(BaseModel):
    program: dict[str, Any]
    week: str = Field(description="The Monday the week starts on")
    census: dict[str, Any]
    alerts: dict[str, Any]
    measures: dict[str, Any]


class OnCallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_ids: list[RecordId] = Field(max_length=20)


class OnCallOut(BaseModel):
    program_id: int
    on_call: list[dict[str, Any]]


@registry.route(api, "/dashboard", "GET", tag="care", query=PageQuery,
                summary="My caseload at a glance, who needs attention first (counselors)",
                responses={200: DashboardPage, 403: Problem})
def caseload_dashboard(query: PageQuery) -> dict[str, Any]:
    if me().role != Role.COUNSELOR:
        raise ApiProblem(403, "Not allowed", "Only counselors have a caseload.")
    rows = dashboard.caseload_rows(me())
    audit_access("read", "dashboard", me().id)
    return page_of_list(rows, query, dashboard.row_json)


def _program(program_id: int) -> Program:
    program = db.session.get(Program, program_id)
    if program is None or program.clinic_id != me().clinic_id:
        raise ApiProblem(404, "Not found", "No such program.",
                         [{"field": "program_id", "message": "no such program"}])
    return program


@registry.route(api, "/reports/program", "GET", tag="reports", query=ReportQuery,
                summary="Census, alerts and response times, measure completion (admin)",
                responses={200: ProgramReport, 403: Problem, 404: Problem})
def program_report(query: ReportQuery) -> dict[str, Any]:
    authorize(policy.Action.MANAGE_USERS)
    program = _program(query.program_id)
    audit_access("read", "program_report", program.id)
    return reports.program_report(program, query.week)


@registry.route(api, "/programs/<int:program_id>/on-call", "PUT", tag="programs",
                body=OnCallBody, summary="Who receives escalated alerts (admin)",
                responses={200: OnCallOut, 403: Problem, 404: Problem})
def set_on_call(program_id: int, body: OnCallBody) -> dict[str, Any]:
    authorize(policy.Action.MANAGE_USERS)
    program = _program(program_id)
    staff = programs.set_on_call(me(), program, body.user_ids)
    return {"program_id": program.id,
            "on_call": [{"id": u.id, "display_name": u.display_name} for u in staff]}


