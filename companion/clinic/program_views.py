"""Programs and people of the caller's clinic."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from sqlalchemy import select

from companion.accounts.models import Role, User
from companion.accounts.views import user_json
from companion.clinic import policy
from companion.clinic.guards import authorize, me
from companion.clinic.models import Program
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import Problem
from companion.core.schemas import AccountRole, ProgramPage, UserPage
from companion.core.spec import registry


@registry.route(api, "/programs", "GET", summary="Programs of my clinic", tag="programs",
                query=PageQuery, responses={200: ProgramPage})
def list_programs(query: PageQuery) -> dict[str, Any]:
    stmt = select(Program).where(Program.clinic_id == me().clinic_id).order_by(Program.id)
    return page(stmt, query, lambda p: {
        "id": p.id, "name": p.name, "timezone": p.timezone,
        "phases": [phase.name for phase in p.phases],
    })


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
