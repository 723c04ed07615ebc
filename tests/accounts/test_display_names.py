"""Display names are what others see in rooms and lists: no control characters and no
characters that reorder text (bidirectional overrides and isolates), wherever a name is set."""

from __future__ import annotations

import uuid

import pytest

from companion.accounts import services as accounts
from companion.accounts.models import FamilyLink, Invitation, Role, User
from tests.conftest import PASSWORD

HOSTILE = {
    "right-to-left override": "Dana\u202eroleSnuoC",
    "left-to-right override": "\u202dChris",
    "embedding": "Pat\u202b",
    "pop": "Pat\u202c",
    "isolate": "\u2066Counselor\u2069 Dana",
    "first-strong isolate": "\u2068Dana",
    "newline": "Dana\nCounselor",
    "bell": "Dana\x07",
    "tab": "Dana\tCounselor",
    "delete": "Dana\x7f",
    "C1 control": "Dana\x85",
    "line separator": "Dana\u2028Counselor",
}
FINE = ["José", "Zoë", "مريم", "Nguyễn Thị", "Ana-María O'Neil", "👩\u200d👧 Mom", "Lee 李"]


def _invite(auth, world, name: str):
    return auth.post("/api/v1/invitations", json={
        "email": f"{uuid.uuid4().hex[:12]}@example.test", "role": "client",
        "program_id": world.program.id, "display_name": name})


def _refused(response) -> None:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert body["errors"][0]["field"] == "display_name"
    message = body["errors"][0]["message"]
    assert message.endswith(".") and "name" in message


@pytest.mark.parametrize("case", list(HOSTILE))
def test_an_admins_invitation_refuses_the_name(world, auth, case):
    auth.login(world.user(Role.ADMIN))
    before = world.db.session.query(Invitation).count()
    _refused(_invite(auth, world, HOSTILE[case]))
    assert world.db.session.query(Invitation).count() == before


def test_ordinary_names_of_every_script_are_accepted(world, auth):
    auth.login(world.user(Role.ADMIN))
    for name in FINE:
        response = _invite(auth, world, name)
        assert response.status_code == 201, (name, response.get_json())
        assert response.get_json()["display_name"] == name


@pytest.mark.parametrize("case", ["right-to-left override", "isolate", "newline"])
def test_accepting_an_invitation_refuses_the_name(world, auth, app, case):
    auth.login(world.user(Role.ADMIN))
    url = _invite(auth, world, "Jo").get_json()["url"]
    token = url.split("#token=", 1)[1]
    newcomer = app.test_client()
    response = newcomer.post("/api/v1/invitations/accept", json={
        "token": token, "password": "my own long passphrase", "display_name": HOSTILE[case]})
    _refused(response)
    assert world.db.session.query(User).count() == 1  # the admin alone
    # The link still works with a plain name.
    accepted = newcomer.post("/api/v1/invitations/accept", json={
        "token": token, "password": "my own long passphrase", "display_name": "Jo"})
    assert accepted.status_code == 201


def test_an_invitation_stored_with_such_a_name_cannot_become_an_account(world, app):
    """Names stored before the rule (an older invitation): the account is not made with it."""
    from tests import care_factories

    client = world.user(Role.CLIENT, name="Casey")
    link = care_factories.family_link(client)
    invitation = world.db.session.get(Invitation, link.invitation_id)
    invitation.display_name = HOSTILE["right-to-left override"]
    invitation.accepted_at = invitation.user_id = None
    invitation.token_hash = accounts.token_hash("an-older-invitation-token")
    world.db.session.commit()
    response = app.test_client().post("/api/v1/invitations/accept", json={
        "token": "an-older-invitation-token", "password": PASSWORD})
    _refused(response)
    assert world.db.session.query(User).filter_by(role=Role.FAMILY).count() == 0


@pytest.mark.parametrize("case", ["right-to-left override", "isolate", "bell"])
def test_a_clients_family_invitation_refuses_the_name(world, make_auth, case):
    client = world.user(Role.CLIENT, name="Casey")
    auth = make_auth(client)
    response = auth.post("/api/v1/family", json={
        "email": "mom@example.test", "display_name": HOSTILE[case], "relationship": "mother"})
    _refused(response)
    assert world.db.session.query(Invitation).count() == 0
    assert world.db.session.query(FamilyLink).count() == 0
