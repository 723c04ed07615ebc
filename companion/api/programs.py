"""Programs and people of the caller's clinic."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from companion import policy
from companion.api import api
from companion.api.auth import user_json
from companion.api.guards import authorize, me
from companion.api.pagination import PageQuery, page
from companion.api.problems import Problem
from companion.api.schemas import ProgramPage, UserPage
from companion.api.spec import registry
from companion.models import Program, User


@registry.route(api, "/programs", "GET", summary="Programs of my clinic", tag="programs",
                query=PageQuery, responses={200: ProgramPage})
def list_programs(query: PageQuery) -> dict[str, Any]:
    stmt = select(Program).where(Program.clinic_id == me().clinic_id).order_by(Program.id)
    return page(stmt, query, lambda p: {
        "id": p.id, "name": p.name, "timezone": p.timezone,
        "phases": [phase.name for phase in p.phases],
    })


@registry.route(api, "/users", "GET", summary="People of my clinic (admin)", tag="programs",
                query=PageQuery, responses={200: UserPage, 403: Problem})
def list_users(query: PageQuery) -> dict[str, Any]:
    authorize(policy.Action.MANAGE_USERS)
    stmt = select(User).where(User.clinic_id == me().clinic_id).order_by(User.id)
    return page(stmt, query, user_json)
