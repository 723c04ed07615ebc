"""Measures: the client fills in PHQ-9, GAD-7 or BAM; their counselor reads and schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from companion.accounts.models import User
from companion.clinic import policy
from companion.clinic.guards import audit_access, authorize, me, subject, writer
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import Problem
from companion.core.schemas import RecordId
from companion.core.spec import registry
from companion.measures import services as measures
from companion.measures.models import Measure, MeasureSchedule

Kind = Literal["phq9", "gad7", "bam"]


class MeasureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: UUID
    kind: Kind
    answers: list[Any] = Field(max_length=17, description=(
        "PHQ-9: 9 answers 0-3. GAD-7: 7 answers 0-3. BAM: 17 answers, each the item's 0-4 "
        "response code as on the form (item 14: 0 no, 4 yes); item 7 is null or its A-G "
        "detail {letter: day code}"))
    completed_at: AwareDatetime


class MeasureOut(BaseModel):
    id: str
    client_id: int
    kind: Kind
    answers: list[Any]
    completed_at: datetime
    total: int | None = None
    band: Literal["minimal", "mild", "moderate", "moderately_severe", "severe"] | None = None
    subscales: dict[str, int] | None = Field(None, description="BAM: use, risk, protective")
    crisis: bool = Field(description="Show crisis resources now (PHQ-9 item 9 above 0)")


class MeasurePage(BaseModel):
    items: list[MeasureOut]
    next: str | None


class MeasureQuery(PageQuery):
    client_id: RecordId | None = None
    kind: Kind | None = None


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: RecordId
    kind: Kind
    every_weeks: int = Field(ge=1, le=26)
    first_due: AwareDatetime


class ScheduleOut(BaseModel):
    client_id: int
    kind: Kind
    every_weeks: int
    next_due: datetime
    due_now: bool


class SchedulePage(BaseModel):
    items: list[ScheduleOut]
    next: str | None


class ClientOnlyQuery(PageQuery):
    client_id: RecordId | None = None


class MeasureForms(BaseModel):
    phq9: dict[str, Any]
    gad7: dict[str, Any]
    bam: dict[str, Any]


@registry.route(api, "/measures", "POST", tag="measures", body=MeasureBody,
                summary="Submit a completed PHQ-9, GAD-7 or BAM (idempotent by id)",
                responses={201: MeasureOut, 200: MeasureOut, 403: Problem, 409: Problem})
def submit_measure(body: MeasureBody) -> tuple[dict[str, Any], int]:
    stored = measures.record(writer(), body)
    return measures.measure_json(stored.measure), 201 if stored.created else 200


@registry.route(api, "/measures", "GET", tag="measures", query=MeasureQuery,
                summary="Completed measures, newest first (staff: ?client_id=)",
                responses={200: MeasurePage, 403: Problem, 404: Problem})
def list_measures(query: MeasureQuery) -> dict[str, Any]:
    client = subject(query.client_id)
    stmt = select(Measure).where(Measure.client_id == client.id)
    if query.kind:
        stmt = stmt.where(Measure.kind == query.kind)
    audit_access("read", "measure_list", None, subject_id=client.id)
    return page(stmt.order_by(Measure.completed_at.desc(), Measure.id), query,
                measures.measure_json)


@registry.route(api, "/measures/forms", "GET", tag="measures",
                summary="The questionnaires' items and answer options",
                responses={200: MeasureForms})
def measure_forms() -> dict[str, Any]:
    return measures.content()


def _schedule_json(plan: MeasureSchedule) -> dict[str, Any]:
    due = {p.id for p in measures.due(plan.client_id)}
    return {"client_id": plan.client_id, "kind": plan.kind, "every_weeks": plan.every_weeks,
            "next_due": plan.next_due.isoformat(), "due_now": plan.id in due}


@registry.route(api, "/measure-schedules", "PUT", tag="measures", body=ScheduleBody,
                summary="Schedule a measure for a client: first due, then every N weeks",
                responses={200: ScheduleOut, 403: Problem, 404: Problem})
def put_schedule(body: ScheduleBody) -> dict[str, Any]:
    authorize(policy.Action.SCHEDULE_MEASURE, body.client_id, hide=True)
    client = db.session.get(User, body.client_id)
    assert client is not None  # the policy only allows clients the counselor treats
    plan = measures.schedule(me(), client.id, body.kind, body.every_weeks, body.first_due)
    return _schedule_json(plan)


@registry.route(api, "/measure-schedules", "GET", tag="measures", query=ClientOnlyQuery,
                summary="A client's measure schedule and what is due now",
                responses={200: SchedulePage, 403: Problem})
def list_schedules(query: ClientOnlyQuery) -> dict[str, Any]:
    client = subject(query.client_id)
    stmt = select(MeasureSchedule).where(MeasureSchedule.client_id == client.id).order_by(
        MeasureSchedule.next_due)
    audit_access("read", "measure_schedule", None, subject_id=client.id)
    return page(stmt, query, _schedule_json)
