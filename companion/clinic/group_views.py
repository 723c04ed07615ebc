"""A program's groups: the admin makes them, gives them a weekly schedule and members, and
archives them; the counselors who lead a group see it."""

from __future__ import annotations

from datetime import time
from typing import Any

from pydantic import Field
from sqlalchemy import func, or_, select

from companion.accounts.models import Role
from companion.clinic import groups as service
from companion.clinic import policy, retries
from companion.clinic.guards import authorize, me
from companion.clinic.models import Group, GroupMember, GroupRole, Program, Session
from companion.clinic.programs import program_of_clinic
from companion.clinic.schemas import (
    GroupBody,
    GroupOut,
    GroupPage,
    GroupPatch,
    MemberBody,
    PersonOut,
    SlotIn,
    SlotOut,
)
from companion.core import clock
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import ApiProblem, Problem
from companion.core.schemas import RecordId
from companion.core.spec import registry


def group_json(group: Group) -> dict[str, Any]:
    by_role: dict[GroupRole, list[PersonOut]] = {role: [] for role in GroupRole}
    for member in sorted(group.members, key=lambda m: (m.user.display_name, m.user_id)):
        by_role[member.role].append(PersonOut.model_validate(member.user))
    following = db.session.scalar(select(func.min(Session.starts_at)).where(
        Session.group_id == group.id, Session.starts_at > clock.now(),
        Session.cancelled_at.is_(None)))
    return GroupOut(
        id=group.id, program_id=group.program_id, name=group.name, kind=group.kind,
        counselor=PersonOut.model_validate(group.counselor),
        co_facilitators=by_role[GroupRole.COUNSELOR],
        peer_supporters=by_role[GroupRole.PEER_SUPPORTER], clients=by_role[GroupRole.CLIENT],
        schedule=[SlotOut(weekday=s.weekday, start=s.start_time.strftime("%H:%M"),
                          duration_minutes=s.duration_minutes)
                  for s in sorted(group.schedule, key=lambda s: (s.weekday, s.start_time))],
        starts_on=group.starts_on, ends_on=group.ends_on,
        archived=group.archived_at is not None, next_session=following,
    ).model_dump(mode="json")


def _slots(slots: list[SlotIn]) -> list[service.Slot]:
    return [service.Slot(s.weekday, time.fromisoformat(s.start), s.duration_minutes)
            for s in slots]


def _seen(group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or not policy.can(me(), policy.Action.VIEW_GROUP, group):
        raise ApiProblem(404, "Not found", "No such group, or not one you may see.")
    return group


def _managed(group_id: int) -> Group:
    group = _seen(group_id)
    authorize(policy.Action.MANAGE_PROGRAM, group.program)
    return group


class GroupQuery(PageQuery):
    program_id: RecordId | None = Field(None, description="Only this program's groups")
    archived: bool = Field(False, description="true: archived groups instead")


@registry.route(api, "/groups", "GET", tag="groups", query=GroupQuery,
                summary="Groups of my clinic (admin), or the ones I lead (counselor)",
                responses={200: GroupPage, 403: Problem})
def list_groups(query: GroupQuery) -> dict[str, Any]:
    user = me()
    if user.role not in (Role.ADMIN, Role.COUNSELOR):
        raise ApiProblem(403, "Not allowed", "Your role does not allow this.")
    stmt = (select(Group).join(Program, Program.id == Group.program_id)
            .where(Program.clinic_id == user.clinic_id,
                   Group.archived_at.is_not(None) if query.archived
                   else Group.archived_at.is_(None))
            .order_by(Group.name, Group.id))
    if query.program_id is not None:
        stmt = stmt.where(Group.program_id == query.program_id)
    if user.role == Role.COUNSELOR:
        co_led = select(GroupMember.group_id).where(GroupMember.user_id == user.id,
                                                    GroupMember.role == GroupRole.COUNSELOR)
        stmt = stmt.where(or_(Group.counselor_id == user.id, Group.id.in_(co_led)))
    return page(stmt, query, group_json)


@registry.route(api, "/groups", "POST", tag="groups", body=GroupBody,
                summary="Create a group with its weekly schedule (admin)",
                responses={201: GroupOut, 403: Problem, 404: Problem})
def create_group(body: GroupBody) -> tuple[dict[str, Any], int]:
    program = program_of_clinic(me(), body.program_id)
    authorize(policy.Action.MANAGE_PROGRAM, program)
    group = service.create_group(
        me(), program, name=body.name, kind=body.kind, counselor_id=body.counselor_id,
        co_facilitator_ids=body.co_facilitator_ids, peer_supporter_ids=body.peer_supporter_ids,
        schedule=_slots(body.schedule), starts_on=body.starts_on, ends_on=body.ends_on)
    return group_json(group), 201


@registry.route(api, "/groups/<int:group_id>", "GET", tag="groups", summary="One group",
                responses={200: GroupOut, 404: Problem})
def get_group(group_id: int) -> dict[str, Any]:
    return group_json(_seen(group_id))


@registry.route(api, "/groups/<int:group_id>", "PATCH", tag="groups", body=GroupPatch,
                summary="Change a group, its schedule (future sessions only), or archive it",
                responses={200: GroupOut, 403: Problem, 404: Problem, 409: Problem})
def update_group(group_id: int, body: GroupPatch) -> dict[str, Any]:
    group = _managed(group_id)
    given = body.model_fields_set
    if given - {"archived"}:
        service.update_group(
            me(), group, name=body.name, kind=body.kind, counselor_id=body.counselor_id,
            co_facilitator_ids=body.co_facilitator_ids,
            peer_supporter_ids=body.peer_supporter_ids,
            schedule=_slots(body.schedule) if body.schedule is not None else None,
            starts_on=body.starts_on, ends_on=body.ends_on,
            clear_ends_on="ends_on" in given and body.ends_on is None)
    if body.archived:
        service.archive_group(me(), group)
    return group_json(group)


@registry.route(api, "/groups/<int:group_id>/members", "POST", tag="groups", body=MemberBody,
                summary="Add a client, peer supporter or co-facilitator to a group (admin)",
                responses={201: GroupOut, 403: Problem, 404: Problem, 409: Problem})
def add_member(group_id: int, body: MemberBody) -> tuple[dict[str, Any], int]:
    group = _managed(group_id)
    retry = retries.asked(me(), body, f"add to group {group.id}", 201, group_json)

    def write() -> Group:
        service.add_member(me(), group, body.user_id, retry=retry)
        db.session.expire(group, ["members"])
        return group

    return retries.once(retry, write)


@registry.route(api, "/groups/<int:group_id>/members/<int:user_id>", "DELETE", tag="groups",
                summary="Take someone out of a group (admin): out of its rooms at once",
                responses={204: None, 403: Problem, 404: Problem})
def remove_member(group_id: int, user_id: int) -> tuple[str, int]:
    service.remove_member(me(), _managed(group_id), user_id)
    return "", 204
