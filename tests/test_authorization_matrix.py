"""Every API route × every role × own / someone else's record (SECURITY.md, least privilege).

Each documented operation must have a row here: a new route without one fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from companion.models import Role

ROLES = ["client", "counselor", "peer_supporter", "admin"]
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/api/v1/crisis-resources"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/invitations/preview"),
    ("POST", "/api/v1/invitations/accept"),
}


@dataclass
class Case:
    method: str
    path: str
    # status per role when acting on their own (or allowed) record
    own: dict[str, int]
    # status per role when the record is someone else's (None: the route has no "other")
    other: dict[str, int] | None = None
    body: Any = None
    template: str = field(default="")

    def __post_init__(self) -> None:
        self.template = self.template or self.path


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def only(status_ok: int, allowed: set[str], refused: int = 403) -> dict[str, int]:
    return {r: status_ok if r in allowed else refused for r in ROLES}


CASES = [
    Case("GET", "/api/v1/me", everyone(200)),
    Case("POST", "/api/v1/auth/logout", everyone(204)),
    Case("GET", "/api/v1/sessions", everyone(200)),
    Case("GET", "/api/v1/programs", everyone(200)),
    Case("GET", "/api/v1/caseload", only(200, {"counselor"})),
    Case("GET", "/api/v1/users", only(200, {"admin"})),
    Case("GET", "/api/v1/invitations", only(200, {"admin"})),
    Case("POST", "/api/v1/invitations", only(201, {"admin"}),
         body={"email": "{unique}@example.test", "role": "counselor"}),
]


@pytest.fixture
def people(world):
    """Two of each role; the first client is in the first counselor's group."""
    made = {r: world.user(Role(r), name=f"{r}-a") for r in ROLES}
    others = {r: world.user(Role(r), name=f"{r}-b") for r in ROLES}
    world.group(made["counselor"], [made["client"]], [made["peer_supporter"]])
    world.group(others["counselor"], [others["client"]], [others["peer_supporter"]])
    return made, others


def test_every_documented_route_is_in_the_matrix(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    covered = {(c.method, c.template) for c in CASES}
    assert documented - PUBLIC == covered


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.template}")
@pytest.mark.parametrize("role", ROLES)
def test_route_by_role(case, role, people, make_auth, client):
    made, others = people
    # Anonymous: always 401 with a problem document.
    response = client.open(case.path, method=case.method, json=_body(case, "anon"))
    assert response.status_code == 401, response.get_json()
    assert response.mimetype == "application/problem+json"

    auth = make_auth(made[role])
    response = auth.client.open(case.path, method=case.method, json=_body(case, role),
                                headers=auth.headers())
    assert response.status_code == case.own[role], response.get_data(as_text=True)
    if case.other is not None:
        path = case.path.format(other=others[role].id)
        response = auth.client.open(path, method=case.method, json=_body(case, role),
                                    headers=auth.headers())
        assert response.status_code == case.other[role]


def _body(case: Case, role: str) -> Any:
    if case.body is None:
        return None
    import uuid

    return {k: (v.format(unique=f"{role}-{uuid.uuid4().hex[:6]}") if isinstance(v, str) else v)
            for k, v in case.body.items()}


def test_counselor_caseload_holds_only_their_clients(people, make_auth):
    made, others = people
    names = [c["display_name"] for c in
             make_auth(made["counselor"]).get("/api/v1/caseload").get_json()["items"]]
    assert names == ["client-a"]


def test_sessions_list_only_shows_sessions_one_takes_part_in(people, world, make_auth):
    from companion.models import Group

    made, others = people
    mine = world.db.session.query(Group).filter_by(counselor_id=made["counselor"].id).one()
    theirs = world.db.session.query(Group).filter_by(counselor_id=others["counselor"].id).one()
    s_mine = world.session(mine)
    world.session(theirs)
    one_to_one = world.session(counselor=made["counselor"], client=made["client"])
    for role, expected in [
        ("client", {s_mine.id, one_to_one.id}),
        ("counselor", {s_mine.id, one_to_one.id}),
        ("peer_supporter", {s_mine.id}),
        ("admin", set()),
    ]:
        items = make_auth(made[role]).get("/api/v1/sessions").get_json()["items"]
        assert {i["id"] for i in items} == expected, role


def test_users_list_stays_inside_the_clinic(world, make_auth):
    from companion.models import Clinic

    other_clinic = Clinic(name="Elsewhere")
    world.db.session.add(other_clinic)
    world.db.session.commit()
    stranger = world.user(Role.CLIENT, clinic_id=other_clinic.id)
    admin = world.user(Role.ADMIN)
    emails = {u["email"] for u in make_auth(admin).get("/api/v1/users").get_json()["items"]}
    assert admin.email in emails and stranger.email not in emails
