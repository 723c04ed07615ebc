"""A family member looks meetings up (Al-Anon, Nar-Anon: meetings for families), as anyone of
the clinic may; they still save nothing and see no chart."""

from __future__ import annotations

from companion.accounts.models import Role
from tests import meeting_factories


def test_a_family_member_finds_a_meeting_opens_it_and_adds_it_to_a_calendar(world, make_auth):
    guest = make_auth(world.user(Role.FAMILY, name="Jamie"))
    client = world.user(Role.CLIENT, name="Casey")
    ours, theirs = meeting_factories.matrix_meetings({"client": client}, {})
    listed = guest.get("/api/v1/meetings?limit=10")
    assert listed.status_code == 200
    assert {m["id"] for m in listed.get_json()["items"]} == {ours["meeting"]}  # each day it meets
    assert guest.get(f"/api/v1/meetings/{ours['meeting']}").status_code == 200
    ics = guest.get(f"/api/v1/meetings/{ours['meeting']}.ics")
    assert ics.status_code == 200 and b"BEGIN:VEVENT" in ics.data
    # Another clinic's meeting stays hidden; a client's saved meetings are not theirs to read.
    assert guest.get(f"/api/v1/meetings/{theirs['meeting']}").status_code == 404
    assert guest.get(f"/api/v1/clients/{client.id}/meeting-favourites").status_code in (403, 404)
