"""Daily self-care: check-ins, craving logs, coping exercises, the safety plan, trends.

A client writes and reads their own entries; a counselor who treats the client reads them with
``?client_id=``; nobody else does. Every read and write is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from companion.accounts.models import Role, User
from companion.clinic import policy
from companion.clinic.guards import audit_access, authorize, me, subject, writer
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import page
from companion.core.problems import ApiProblem, Problem
from companion.core.spec import registry
from companion.selfcare import content as selfcare_content
from companion.selfcare import services as selfcare
from companion.selfcare.models import CheckIn, CopingCompletion, Craving, SafetyPlan
from companion.selfcare.schemas import (
    CheckInBody,
    CheckInOut,
    CheckInPage,
    ClientQuery,
    CompletionBody,
    CompletionOut,
    CompletionPage,
    CravingBody,
    CravingOut,
    CravingPage,
    EntryListQuery,
    ExerciseList,
    SafetyPlanBody,
    SafetyPlanOut,
    TodayOut,
    TrendsOut,
    TrendsQuery,
    TriggerList,
)

TAG = "self-care"


# --- rendering ----------------------------------------------------------------------------


def _common(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "client_id": entry.client_id,
        "occurred_at": selfcare.local_moment(entry).isoformat(),
        "utc_offset_minutes": entry.utc_offset_minutes,
        "local_date": entry.local_date.isoformat(),
        "received_at": entry.received_at.isoformat(),
    }


def checkin_json(c: CheckIn) -> dict[str, Any]:
    return {
        **_common(c),
        "mood": c.mood,
        "craving": c.craving,
        "sleep_hours": c.sleep_hours,
        "sleep_quality": c.sleep_quality.value if c.sleep_quality else None,
        "used": c.used.value,
        "medication_taken": c.medication_taken,
        "note": c.note,
        "need_to_talk": c.need_to_talk,
    }


def craving_json(c: Craving) -> dict[str, Any]:
    return {
        **_common(c),
        "intensity": c.intensity,
        "triggers": list(c.triggers),
        "trigger_other": c.trigger_other,
        "where": c.where,
        "with_whom": c.with_whom,
        "coping": list(c.coping),
        "used": c.used,
        "duration_minutes": c.duration_minutes,
        "notes": c.notes,
    }


def completion_json(c: CopingCompletion) -> dict[str, Any]:
    return {
        **_common(c),
        "exercise": c.exercise,
        "craving_before": c.craving_before,
        "craving_after": c.craving_after,
        "duration_seconds": c.duration_seconds,
        "responses": dict(c.responses),
        "notes": c.notes,
    }


def plan_json(client: User, plan: SafetyPlan | None) -> dict[str, Any]:
    updated_by = db.session.get(User, plan.updated_by_id) if plan and plan.updated_by_id else None
    counselor = selfcare.counselor_of(client)
    return {
        "client_id": client.id,
        "warning_signs": list(plan.warning_signs) if plan else [],
        "coping_strategies": list(plan.coping_strategies) if plan else [],
        "distractions": list(plan.distractions) if plan else [],
        "help_contacts": list(plan.help_contacts) if plan else [],
        "professionals": list(plan.professionals) if plan else [],
        "environment": list(plan.environment) if plan else [],
        "reason_for_living": plan.reason_for_living if plan else "",
        "version": plan.version if plan else None,
        "updated_at": plan.updated_at.isoformat() if plan else None,
        "updated_by": updated_by.display_name if updated_by else None,
        "counselor": counselor.display_name if counselor else None,
        "steps": selfcare_content.safety_plan_steps(),
    }


# --- whose records ------------------------------------------------------------------------


def _stored(result: selfcare.Stored, render: Any) -> tuple[dict[str, Any], int]:
    return render(result.entry), 201 if result.created else 200


def _one(model: Any, entry_id: str, record_type: str) -> Any:
    try:
        key = str(uuid.UUID(entry_id))
    except ValueError:
        raise ApiProblem(404, "Not found", "No such record, or not yours to see.") from None
    entry = db.session.get(model, key)
    if entry is None:
        raise ApiProblem(404, "Not found", "No such record, or not yours to see.")
    authorize(policy.Action.READ_CLIENT_RECORD, entry.client_id, hide=True)
    audit_access("read", record_type, entry.id, subject_id=entry.client_id)
    return entry


def _list(model: Any, query: EntryListQuery, record_type: str, render: Any) -> dict[str, Any]:
    client = subject(query.client_id)
    stmt = selfcare.list_entries(model, client, query.from_, query.to)
    audit_access("read", f"{record_type}_list", None, subject_id=client.id)
    return page(stmt, query, render)


# --- check-ins ----------------------------------------------------------------------------

_WRITE_RESPONSES: dict[int, Any] = {200: None, 403: Problem, 409: Problem, 413: Problem}


@registry.route(api, "/checkins", "POST", summary="Record a daily check-in (idempotent by id)",
                tag=TAG, body=CheckInBody,
                responses={**_WRITE_RESPONSES, 200: CheckInOut, 201: CheckInOut})
def create_checkin(body: CheckInBody) -> tuple[dict[str, Any], int]:
    result = selfcare.record_checkin(writer(), body)
    return _stored(result, checkin_json)


@registry.route(api, "/checkins", "GET", summary="Check-ins, newest first", tag=TAG,
                query=EntryListQuery, responses={200: CheckInPage, 403: Problem, 404: Problem})
def list_checkins(query: EntryListQuery) -> dict[str, Any]:
    return _list(CheckIn, query, "checkin", checkin_json)


@registry.route(api, "/checkins/<entry_id>", "GET", summary="One check-in", tag=TAG,
                responses={200: CheckInOut, 404: Problem})
def get_checkin(entry_id: str) -> dict[str, Any]:
    return checkin_json(_one(CheckIn, entry_id, "checkin"))


@registry.route(api, "/selfcare/today", "GET",
                summary="Today (in the client's time zone): is the check-in done?", tag=TAG,
                query=ClientQuery, responses={200: TodayOut, 403: Problem, 404: Problem})
def today(query: ClientQuery) -> dict[str, Any]:
    client = subject(query.client_id)
    day, latest = selfcare.today(client)
    audit_access("read", "checkin_today", None, subject_id=client.id)
    return {
        "date": day.isoformat(),
        "timezone": client.timezone,
        "checked_in": latest is not None,
        "checkin": checkin_json(latest) if latest else None,
    }


# --- cravings -----------------------------------------------------------------------------


@registry.route(api, "/cravings", "POST", summary="Log a craving (idempotent by id)", tag=TAG,
                body=CravingBody,
                responses={**_WRITE_RESPONSES, 200: CravingOut, 201: CravingOut})
def create_craving(body: CravingBody) -> tuple[dict[str, Any], int]:
    result = selfcare.record_craving(writer(), body)
    return _stored(result, craving_json)


@registry.route(api, "/cravings", "GET", summary="Craving logs, newest first", tag=TAG,
                query=EntryListQuery, responses={200: CravingPage, 403: Problem, 404: Problem})
def list_cravings(query: EntryListQuery) -> dict[str, Any]:
    return _list(Craving, query, "craving", craving_json)


@registry.route(api, "/cravings/<entry_id>", "GET", summary="One craving log", tag=TAG,
                responses={200: CravingOut, 404: Problem})
def get_craving(entry_id: str) -> dict[str, Any]:
    return craving_json(_one(Craving, entry_id, "craving"))


@registry.route(api, "/triggers", "GET", summary="Trigger codes (Matrix Model, HALT, others)",
                tag=TAG, responses={200: TriggerList})
def list_triggers() -> dict[str, Any]:
    data = selfcare_content.triggers()
    return {"groups": data["groups"], "items": data["triggers"]}


# --- coping -------------------------------------------------------------------------------


@registry.route(api, "/coping/exercises", "GET", summary="The coping-skills library", tag=TAG,
                responses={200: ExerciseList})
def list_exercises() -> dict[str, Any]:
    data = selfcare_content.coping()
    return {"rating": data["rating"], "items": data["exercises"]}


@registry.route(api, "/coping/completions", "POST",
                summary="Record a finished coping exercise (idempotent by id)", tag=TAG,
                body=CompletionBody,
                responses={**_WRITE_RESPONSES, 200: CompletionOut, 201: CompletionOut})
def create_completion(body: CompletionBody) -> tuple[dict[str, Any], int]:
    result = selfcare.record_completion(writer(), body)
    return _stored(result, completion_json)


@registry.route(api, "/coping/completions", "GET", summary="Coping exercises done, newest first",
                tag=TAG, query=EntryListQuery,
                responses={200: CompletionPage, 403: Problem, 404: Problem})
def list_completions(query: EntryListQuery) -> dict[str, Any]:
    return _list(CopingCompletion, query, "coping_completion", completion_json)


# --- safety plan --------------------------------------------------------------------------


@registry.route(api, "/safety-plan", "GET", summary="The client's safety plan (six steps)",
                tag=TAG, query=ClientQuery,
                responses={200: SafetyPlanOut, 403: Problem, 404: Problem})
def get_safety_plan(query: ClientQuery) -> dict[str, Any]:
    client = subject(query.client_id)
    plan = selfcare.safety_plan(client)
    audit_access("read", "safety_plan", plan.id if plan else None, subject_id=client.id)
    return plan_json(client, plan)


@registry.route(api, "/safety-plan", "PUT",
                summary="Write the safety plan (the client, or their counselor with client_id)",
                tag=TAG, query=ClientQuery, body=SafetyPlanBody,
                responses={200: SafetyPlanOut, 403: Problem, 404: Problem, 409: Problem,
                           413: Problem})
def put_safety_plan(query: ClientQuery, body: SafetyPlanBody) -> dict[str, Any]:
    client_id = query.client_id if query.client_id is not None else me().id
    authorize(policy.Action.WRITE_SAFETY_PLAN, client_id)
    client = db.session.get(User, client_id)
    if client is None or client.role != Role.CLIENT:
        raise ApiProblem(404, "Not found", "No such client.")
    plan = selfcare.save_safety_plan(me(), client, body)
    return plan_json(client, plan)


# --- trends -------------------------------------------------------------------------------


@registry.route(api, "/trends", "GET",
                summary="Craving and mood by day and week, triggers, coping skills that helped",
                tag=TAG, query=TrendsQuery, responses={200: TrendsOut, 403: Problem, 404: Problem})
def get_trends(query: TrendsQuery) -> dict[str, Any]:
    client = subject(query.client_id)
    data = selfcare.trends(client, query.days)
    audit_access("read", "trends", None, subject_id=client.id)
    return TrendsOut.model_validate(data).model_dump(mode="json")

