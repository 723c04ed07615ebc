"""A counselor's caseload: the clients they treat."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from companion.accounts.models import Role, User
from companion.clinic import schedule
from companion.clinic.guards import audit_access, me
from companion.clinic.models import Enrollment
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page_of_list
from companion.core.problems import ApiProblem, Problem
from companion.core.spec import registry


class CaseloadClient(BaseModel):
    id: int
    display_name: str
    program: str
    phase: str | None


class CaseloadPage(BaseModel):
    items: list[CaseloadClient]
    next: str | None


@registry.route(api, "/caseload", "GET", summary="Clients I treat (counselors)", tag="care",
                query=PageQuery, responses={200: CaseloadPage, 403: Problem})
def caseload(query: PageQuery) -> dict[str, Any]:
    if me().role != Role.COUNSELOR:
        raise ApiProblem(403, "Not allowed", "Only counselors have a caseload.")
    clients = schedule.caseload(me())
    enrollments = {
        e.client_id: e
        for e in db.session.scalars(
            select(Enrollment).where(Enrollment.client_id.in_([c.id for c in clients]))
        )
    }
    audit_access("read", "caseload", me().id)

    def render(client: User) -> dict[str, Any]:
        enrollment = enrollments.get(client.id)
        return {
            "id": client.id,
            "display_name": client.display_name,
            "program": enrollment.program.name if enrollment else "",
            "phase": enrollment.phase.name if enrollment and enrollment.phase else None,
        }

    return page_of_list(clients, query, render)
