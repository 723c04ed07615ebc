"""Sessions (group meetings and 1:1s) the caller takes part in, and scheduling one."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field, StrictBool

from companion.accounts.models import Role, User
from companion.clinic import occurrences, policy, retries, schedule
from companion.clinic.guards import me
from companion.clinic.models import Group, Session
from companion.clinic.schemas import RetryId
from companion.core import clock
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page_of_list
from companion.core.problems import ApiProblem, Problem, field_problem
from companion.core.schemas import Day, RecordId, SessionOut, SessionPage, Strict
from companion.core.spec import registry


class SessionQuery(PageQuery):
    from_: Day | None = Field(None, alias="from",
                              description="First day (in your time zone); includes ended ones")
    to: Day | None = Field(None, description="Last day (in your time zone), inclusive")
    group_id: RecordId | None = Field(None, description="Only this group's occurrences")


@registry.route(
    api, "/sessions", "GET", query=SessionQuery, responses={200: SessionPage}, tag="sessions",
    summary="Sessions I may join: upcoming and in progress, or all of a date range (with "
    "group_id, its admin and counselors see all of the group's)",
)
def list_sessions(query: SessionQuery) -> dict[str, Any]:
    now = clock.now()
    window = None
    if query.from_ is not None or query.to is not None:
        zone = ZoneInfo(me().timezone)
        first = query.from_ or (query.to or now.date()) - timedelta(days=7)
        last = query.to or first + timedelta(days=7)
        window = (datetime.combine(first, time(0), tzinfo=zone),
                  datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone))
    group = db.session.get(Group, query.group_id) if query.group_id is not None else None
    if group is not None and policy.can(me(), policy.Action.VIEW_GROUP, group):
        # The group's admin and leaders see all its occurrences, joinable by them or not.
        listed = schedule.group_sessions(group, now, window)
    else:
        listed = schedule.joinable_sessions(me(), now, window)
        if query.group_id is not None:
            listed = [j for j in listed if j.session.group_id == query.group_id]
    return page_of_list(listed, query, lambda item: _session_json(item.session, item.role, now))


def _session_json(session: Session, role: str, now: datetime) -> dict[str, Any]:
    return {
        "id": session.id,
        "kind": session.kind.value,
        "title": session.title,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "state": session.state(now),
        "ended_at": _ended_at(session, now),
        "counselor": session.counselor.display_name,
        "role": role,
        "family": session.family,
        "group_id": session.group_id,
        "cancel_reason": session.cancel_reason,
    }


def _ended_at(session: Session, now: datetime) -> str | None:
    """When it ended: ended by staff, or its time ran out."""
    if session.state(now) != "ended":
        return None
    ended = session.ended_at if session.ended_at is not None else session.ends_at
    return min(ended, session.ends_at).isoformat()


# A session is scheduled at most this far ahead (and an absurd date never reaches the database).
SCHEDULE_AHEAD = timedelta(days=366)


class SessionBody(Strict):
    client_id: RecordId | None = Field(
        None, description="A 1:1 with this client (one you treat); or give group_id")
    group_id: RecordId | None = Field(
        None, description="A session of this group (one you lead or co-lead); or give client_id")
    title: str = Field("", max_length=200,
                       description="Default: the group's name, or Individual / Family session")
    starts_at: AwareDatetime = Field(description="When it starts (the room opens 15 minutes "
                                                 "before)")
    duration_minutes: int = Field(60, ge=15, le=600)
    family: StrictBool = Field(False, description=(
        "A family session (1:1 only): family members the client invited may join (waiting "
        "room, admitted by staff) while the client's consent for family sessions is in force"))


@registry.route(
    api, "/sessions", "POST", body=SessionBody, tag="sessions",
    summary="Schedule a session (counselor): a 1:1 with a client, or one of a group's",
    responses={201: SessionOut, 403: Problem, 404: Problem, 409: Problem},
)
def create_session(body: SessionBody) -> tuple[dict[str, Any], int]:
    if me().role != Role.COUNSELOR:
        raise ApiProblem(403, "Not allowed", "Only counselors schedule sessions.")
    if (body.client_id is None) == (body.group_id is None):
        raise field_problem("client_id", "Name the client (a 1:1) or the group, one of them.")
    if body.family and body.group_id is not None:
        # A guest in a group would hear the other clients, whose consents (42 CFR Part 2) name
        # their own family only.
        raise field_problem("family", "A family session is a 1:1 with one client: in a group, "
                            "a family member would hear clients who have not consented to that.")
    now = clock.now()
    starts_at = body.starts_at.astimezone(UTC)
    if starts_at > now + SCHEDULE_AHEAD:
        raise field_problem("starts_at", "At most a year ahead.")
    if starts_at + timedelta(minutes=body.duration_minutes) <= now:
        raise field_problem("starts_at", "That session would be over already.")
    group = client = None
    if body.group_id is not None:
        group = db.session.get(Group, body.group_id)
        if group is None or not policy.can(me(), policy.Action.SCHEDULE_SESSION, group):
            raise ApiProblem(404, "Not found", "No such group, or not one you lead.",
                             [{"field": "group_id", "message": "not a group you lead"}])
    else:
        assert body.client_id is not None
        client = db.session.get(User, body.client_id)
        if client is None or client.role != Role.CLIENT or not policy.can(
                me(), policy.Action.SCHEDULE_SESSION, client.id):
            raise ApiProblem(404, "Not found", "No such client, or not one you treat.",
                             [{"field": "client_id", "message": "not a client you treat"}])
    session = schedule.schedule_session(
        me(), client=client, group=group, title=body.title, starts_at=starts_at,
        minutes=body.duration_minutes, family=body.family)
    return _session_json(session, "staff", now), 201


class CancelBody(Strict):
    id: RetryId = None
    reason: str = Field(min_length=1, max_length=300,
                        description="Members see it on the cancelled session")


class MoveBody(Strict):
    starts_at: AwareDatetime
    duration_minutes: int = Field(ge=15, le=600)


def _reschedulable(session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None or not policy.can(me(), policy.Action.RESCHEDULE_SESSION, session):
        raise ApiProblem(404, "Not found", "No such session, or not one you may change.")
    return session


@registry.route(api, "/sessions/<int:session_id>/cancel", "POST", body=CancelBody,
                tag="sessions", summary="Cancel one session (its counselors, the admin)",
                responses={200: SessionOut, 404: Problem, 409: Problem})
def cancel_session(session_id: int, body: CancelBody) -> tuple[dict[str, Any], int]:
    now = clock.now()
    session = _reschedulable(session_id)
    retry = retries.asked(me(), body, f"cancel session {session.id}", 200,
                          lambda s: _session_json(s, "staff", now))
    return retries.once(retry, lambda: occurrences.cancel(me(), session, body.reason, now,
                                                          retry=retry))


@registry.route(api, "/sessions/<int:session_id>/move", "POST", body=MoveBody,
                tag="sessions", summary="Move one session to another time (its counselors, "
                "the admin); the weekly schedule stays",
                responses={200: SessionOut, 404: Problem, 409: Problem})
def move_session(session_id: int, body: MoveBody) -> dict[str, Any]:
    now = clock.now()
    starts_at = body.starts_at.astimezone(UTC)
    if starts_at > now + SCHEDULE_AHEAD:
        raise field_problem("starts_at", "At most a year ahead.")
    session = occurrences.move(me(), _reschedulable(session_id), starts_at,
                               body.duration_minutes, now)
    return _session_json(session, "staff", now)
