"""Programs and people of the caller's clinic: the admin sets programs up (zone, level of care,
phases, closed days); everyone of the clinic sees its programs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from sqlalchemy import select

from companion.accounts.models import Role, User
from companion.accounts.services import user_json
from companion.clinic import policy
from companion.clinic import programs as service
from companion.clinic.guards import authorize, me
from companion.clinic.models import Program
from companion.clinic.schemas import (
    ClosedDayBody,
    ClosedDayOut,
    ProgramBody,
    ProgramOut,
    ProgramPage,
    ProgramPatch,
)
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import Problem
from companion.core.schemas import AccountRole, UserPage
from companion.core.spec import registry


def program_json(program: Program) -> dict[str, Any]:
    return ProgramOut.model_validate(program).model_dump(mode="json")


def _phases(body: ProgramBody | ProgramPatch) -> list[service.PhasePlan] | None:
    if body.phases is None:
        return None
    return [service.PhasePlan(p.name, p.weekly_hours_target, p.description,
                              None if p.group_ids is None else tuple(p.group_ids))
            for p in body.phases]


def _managed(program_id: int) -> Program:
    program = service.program_of_clinic(me(), program_id)
    authorize(policy.Action.MANAGE_PROGRAM, program)
    return program


@registry.route(api, "/programs", "GET", summary="Programs of my clinic", tag="programs",
                query=PageQuery, responses={200: ProgramPage})
def list_programs(query: PageQuery) -> dict[str, Any]:
    stmt = select(Program).where(Program.clinic_id == me().clinic_id).order_by(Program.id)
    return page(stmt, query, program_json)


@registry.route(api, "/programs", "POST", summary="Create a program (admin)", tag="programs",
                body=ProgramBody, responses={201: ProgramOut, 403: Problem})
def create_program(body: ProgramBody) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.MANAGE_PROGRAM, Program(clinic_id=me().clinic_id))
    program = service.create_program(
        me(), name=body.name, timezone=body.timezone, level_of_care=body.level_of_care,
        adolescent=body.adolescent, phases=_phases(body))
    return program_json(program), 201


@registry.route(api, "/programs/<int:program_id>", "GET", summary="One program of my clinic",
                tag="programs", responses={200: ProgramOut, 404: Problem})
def get_program(program_id: int) -> dict[str, Any]:
    return program_json(service.program_of_clinic(me(), program_id))


@registry.route(api, "/programs/<int:program_id>", "PATCH", summary="Change a program (admin)",
                tag="programs", body=ProgramPatch,
                responses={200: ProgramOut, 403: Problem, 404: Problem, 409: Problem})
def update_program(program_id: int, body: ProgramPatch) -> dict[str, Any]:
    program = service.update_program(
        me(), _managed(program_id), name=body.name, timezone=body.timezone,
        level_of_care=body.level_of_care, adolescent=body.adolescent, phases=_phases(body),
        dial_in_enabled=body.dial_in_enabled, outbound_calls_allowed=body.outbound_calls_allowed)
    return program_json(program)


@registry.route(api, "/programs/<int:program_id>/closed-days", "POST",
                summary="Close the program for a day: its sessions that day are cancelled",
                tag="programs", body=ClosedDayBody,
                responses={201: ClosedDayOut, 403: Problem, 404: Problem})
def add_closed_day(program_id: int, body: ClosedDayBody) -> tuple[dict[str, Any], int]:
    closed = service.add_closed_day(me(), _managed(program_id), body.day, body.reason)
    return ClosedDayOut.model_validate(closed).model_dump(mode="json"), 201


def _as_list(value: Any) -> Any:
    # One ?role= arrives as a string, a repeated one as a list (spec._parse_query).
    return [value] if isinstance(value, str) else value


class UserQuery(PageQuery):
    role: Annotated[list[AccountRole], BeforeValidator(_as_list)] = Field(
        default_factory=list,
        description="Only people with one of these roles (repeat for several); default: everyone",
    )


@registry.route(api, "/users", "GET", summary="People of my clinic (admin)", tag="programs",
                query=UserQuery, responses={200: UserPage, 403: Problem})
def list_users(query: UserQuery) -> dict[str, Any]:
    authorize(policy.Action.MANAGE_USERS)
    stmt = select(User).where(User.clinic_id == me().clinic_id).order_by(User.id)
    if query.role:
        stmt = stmt.where(User.role.in_({Role(r) for r in query.role}))
    return page(stmt, query, user_json)
