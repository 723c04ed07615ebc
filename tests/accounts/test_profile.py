"""A person's own profile: the name others see and the time zone their times are in."""

from __future__ import annotations

from companion.accounts.models import Role
from companion.core.models import AuditEvent


def test_a_person_changes_their_time_zone_and_name(app, world, auth):
    client = world.user(Role.CLIENT, name="Alex")
    auth.login(client)
    changed = auth.patch("/api/v1/me", {"timezone": "America/Denver", "display_name": " Lex "})
    assert changed.status_code == 200
    assert changed.get_json()["timezone"] == "America/Denver"
    assert changed.get_json()["display_name"] == "Lex"
    again = auth.get("/api/v1/me").get_json()
    assert (again["timezone"], again["display_name"]) == ("America/Denver", "Lex")
    from companion.core.extensions import db

    row = db.session.query(AuditEvent).filter_by(record_type="profile").one()
    assert (row.actor_id, row.subject_id, row.action) == (client.id, client.id, "update")


def test_an_unknown_zone_or_an_empty_name_is_refused_and_changes_nothing(app, world, auth):
    client = world.user(Role.CLIENT, name="Alex")
    auth.login(client)
    bad_zone = auth.patch("/api/v1/me", {"timezone": "Mars/Olympus_Mons"})
    assert bad_zone.status_code == 422
    problem = bad_zone.get_json()
    assert problem["errors"][0]["field"] == "timezone"
    assert "America/Chicago" in problem["errors"][0]["message"]  # an example of what works
    for name in ("Alex\u202eevil", "   "):  # text turned backwards; nothing but spaces
        bad_name = auth.patch("/api/v1/me", {"display_name": name, "timezone": "Europe/Madrid"})
        assert bad_name.status_code == 422
        assert bad_name.get_json()["errors"][0]["field"] == "display_name"
    me = auth.get("/api/v1/me").get_json()
    assert (me["timezone"], me["display_name"]) == ("America/Chicago", "Alex")


def test_changing_the_profile_needs_the_csrf_token_and_a_login(app, world, auth, client):
    assert client.patch("/api/v1/me", json={"timezone": "America/Denver"}).status_code == 401
    person = world.user(Role.COUNSELOR, name="Chris")
    auth.login(person)
    refused = auth.client.patch("/api/v1/me", json={"timezone": "America/Denver"})
    assert refused.status_code == 403
    assert auth.get("/api/v1/me").get_json()["timezone"] != "America/Denver"


def test_a_new_client_starts_in_their_programs_zone(app, world):
    """Invited into a program, the account takes the program's zone (they may change it)."""
    from companion.clinic import admissions

    world.program.timezone = "America/Denver"
    admin = world.user(Role.ADMIN)
    issued = admissions.invite(admin, "newcomer@example.test", Role.CLIENT, "http://localhost",
                               program_id=world.program.id)
    token = issued.url.rsplit("/", 1)[-1].split("#")[-1].split("=")[-1]
    client = admissions.accept(token, "a long enough passphrase 42", "Newcomer", None)
    assert client.timezone == "America/Denver"
