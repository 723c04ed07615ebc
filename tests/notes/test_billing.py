"""The billing days of a program from signed notes: a hand-worked week, short days listed
apart, payer settings, the CSV for the biller (no formulas), who may export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from companion.accounts.models import Clinic, Role, User
from companion.notes.billing import CSV_HEADER
from tests.note_factories import ended_session, note_body, participant

# Monday 16 November 2026, 18:00 in America/Chicago (the program's zone), is Tuesday in UTC:
# days of service are the program's days.
MONDAY_6PM = datetime(2026, 11, 17, 0, 0, tzinfo=UTC)
WEEK = "program_id={program}&from=2026-11-16&to=2026-11-22"


def _day(n: int, hour_offset: float = 0) -> datetime:
    return MONDAY_6PM + timedelta(days=n, hours=hour_offset)


@pytest.fixture
def week(world, make_auth):
    """The hand-worked week (docs/notes.md):

    Monday group, 3 h, signed: Alex video from home (10, 95), Sam audio-only from home because
    he has no video (10, 93), Riley in person at the program (11, no modifier).
    Wednesday group, signed: Alex video from a friend's (02, 95), Sam left early after 150
    minutes (short: listed apart), Riley by phone from home, declined video (10, 93).
    Thursday group: the note is a draft (nothing billed, listed apart).
    Friday: Riley's 1:1 (60 min) and a 2-hour skills group make one 180-minute day.
    """
    chris = world.user(Role.COUNSELOR, name="Chris")
    alex, sam, riley = (world.user(Role.CLIENT, name=n) for n in ("Alex", "Sam", "Riley"))
    riley.birth_date = date(1990, 4, 2)
    world.db.session.commit()
    group = world.group(chris, [alex, sam, riley])
    auth = make_auth(chris)

    def write(session, people, sign=True):
        body = note_body(people, shared=session.group_id is not None)
        response = auth.post(f"/api/v1/sessions/{session.id}/notes", json=body)
        assert response.status_code == 201, response.get_json()
        if sign:
            assert auth.post(f"/api/v1/notes/{body['id']}/sign").status_code == 200
        return body["id"]

    monday = ended_session(world, group, start=_day(0))
    wednesday = ended_session(world, group, start=_day(2))
    thursday = ended_session(world, group, start=_day(3))
    friday_one = ended_session(world, counselor=chris, client=riley, start=_day(4, -2),
                               hours=1)
    friday_group = ended_session(world, group, start=_day(4), hours=2)
    ids = {
        "monday": write(monday, [
            participant(alex), participant(sam, modality="audio_only",
                                           audio_only_reason="no_video_capability"),
            participant(riley, modality="in_person", identity_checked=None)]),
        "wednesday": write(wednesday, [
            participant(alex, location="other"),
            participant(sam, attendance="left_early", minutes=150),
            participant(riley, modality="phone", audio_only_reason="declined_video")]),
        "thursday": write(thursday, [participant(alex)], sign=False),
        "friday_one": write(friday_one, [participant(riley, minutes=60)]),
        "friday_group": write(friday_group, [participant(riley, minutes=120),
                                             participant(alex, attendance="absent", minutes=0,
                                                         modality=None, location=None,
                                                         identity_checked=None)]),
    }
    return {"people": {"alex": alex, "sam": sam, "riley": riley}, "notes": ids,
            "query": WEEK.format(program=world.program.id)}


def test_the_hand_worked_week(world, make_auth, week):
    admin = make_auth(world.user(Role.ADMIN))
    body = admin.get(f"/api/v1/billing/days?{week['query']}").get_json()
    assert (body["service_code"], body["minimum_minutes"]) == ("H0015", 180)
    n = week["notes"]
    billed = [(d["date"], d["client"]["display_name"], d["minutes"], d["modality"],
               d["place_of_service"], d["modifier"], d["note_ids"]) for d in body["billable"]]
    assert billed == [
        ("2026-11-16", "Alex", 180, "video", "10", "95", [n["monday"]]),
        ("2026-11-16", "Riley", 180, "in_person", "11", "", [n["monday"]]),
        ("2026-11-16", "Sam", 180, "audio_only", "10", "93", [n["monday"]]),
        ("2026-11-18", "Alex", 180, "video", "02", "95", [n["wednesday"]]),
        ("2026-11-18", "Riley", 180, "phone", "10", "93", [n["wednesday"]]),
        ("2026-11-20", "Riley", 180, "video", "10", "95",
         sorted([n["friday_one"], n["friday_group"]])),
    ]
    assert all(d["signed_by"] == ["Chris"] and d["service_code"] == "H0015"
               for d in body["billable"])
    apart = [(d["date"], d["client"]["display_name"], d["minutes"], d["reason"])
             for d in body["not_billed"]]
    assert apart == [("2026-11-18", "Sam", 150, "short_day"),
                     ("2026-11-19", "Alex", 0, "note_not_signed")]
    assert body["not_billed"][0]["detail"] == (
        "150 minutes, under the 180 minutes H0015 needs: not billed under it.")

    response = admin.get(f"/api/v1/billing/days.csv?{week['query']}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="billing-' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == CSV_HEADER == ["date", "client_id", "client_name", "birth_date",
                                     "service_code", "minutes", "modality", "place_of_service",
                                     "modifier", "signed_by", "note_id"]
    riley = week["people"]["riley"]
    assert rows[2] == ["2026-11-16", str(riley.id), "Riley", "1990-04-02", "H0015", "180",
                       "in_person", "11", "", "Chris", n["monday"]]
    assert [r[2] for r in rows[1:]] == ["Alex", "Riley", "Sam", "Alex", "Riley", "Riley"]
    # Short days and unsigned notes are not billed: not in the biller's file.
    assert not any(r[0] in ("2026-11-19",) or (r[0] == "2026-11-18" and r[2] == "Sam")
                   for r in rows[1:])
    # A range of one day.
    one_day = admin.get(f"/api/v1/billing/days?program_id={world.program.id}"
                        "&from=2026-11-18&to=2026-11-18").get_json()
    assert {d["date"] for d in one_day["billable"] + one_day["not_billed"]} == {"2026-11-18"}


def test_modifiers_and_the_minimum_are_payer_settings(world, make_auth, week):
    admin = make_auth(world.user(Role.ADMIN))
    path = f"/api/v1/programs/{world.program.id}/note-settings"
    assert admin.get(path).get_json() == {
        "program_id": world.program.id, "note_format": "dap",
        "payer": {"service_code": "H0015", "minimum_minutes": 180,
                  "modifiers": {"video": "95", "audio_only": "93", "phone": "93",
                                "in_person": ""}}}
    # An FQHC's payer: FQ for audio-only, GT for video; a day of 150 minutes is enough.
    saved = admin.put(path, json={"payer": {"modifiers": {"video": "GT", "audio_only": "FQ",
                                                          "phone": "FQ"},
                                            "minimum_minutes": 150}})
    assert saved.status_code == 200
    assert saved.get_json()["payer"]["modifiers"] == {"video": "GT", "audio_only": "FQ",
                                                      "phone": "FQ", "in_person": ""}
    body = admin.get(f"/api/v1/billing/days?{week['query']}").get_json()
    monday = {d["client"]["display_name"]: d["modifier"] for d in body["billable"]
              if d["date"] == "2026-11-16"}
    assert monday == {"Alex": "GT", "Riley": "", "Sam": "FQ"}
    assert ("2026-11-18", "Sam") in {(d["date"], d["client"]["display_name"])
                                     for d in body["billable"]}
    for bad, field in (({"payer": {"modifiers": {"video": "9x"}}}, "payer.modifiers.video"),
                       ({"payer": {"service_code": "=1+1"}}, "payer.service_code"),
                       ({"note_format": "narrative"}, "note_format")):
        response = admin.put(path, json=bad)
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == field
    # The format is the program's choice: new notes follow it.
    assert admin.put(path, json={"note_format": "birp"}).get_json()["note_format"] == "birp"


def test_the_range_is_checked(world, make_auth):
    admin = make_auth(world.user(Role.ADMIN))
    program = world.program.id
    for query, field in ((f"program_id={program}&from=2026-11-22&to=2026-11-16", "to"),
                         (f"program_id={program}&from=2025-01-01&to=2026-11-16", "to"),
                         (f"program_id={program}&from=monday&to=2026-11-16", "from"),
                         (f"program_id={program}&to=2026-11-16", "from")):
        response = admin.get(f"/api/v1/billing/days.csv?{query}")
        assert response.status_code == 422, query
        assert response.get_json()["errors"][0]["field"] == field
    assert admin.get("/api/v1/billing/days?program_id=99999&from=2026-11-16&to=2026-11-22"
                     ).status_code == 404


def test_only_the_clinics_admin_exports(world, make_auth, week):
    for role in (Role.COUNSELOR, Role.CLIENT, Role.PEER_SUPPORTER):
        response = make_auth(world.user(role)).get(f"/api/v1/billing/days.csv?{week['query']}")
        assert response.status_code == 403
    elsewhere = Clinic(name="Elsewhere")
    world.db.session.add(elsewhere)
    world.db.session.commit()
    stranger = make_auth(world.user(Role.ADMIN, clinic_id=elsewhere.id))
    assert stranger.get(f"/api/v1/billing/days.csv?{week['query']}").status_code == 404
    assert stranger.get(f"/api/v1/programs/{world.program.id}/note-settings").status_code == 404


def test_hostile_names_in_the_billing_csv_are_not_formulas(world, make_auth, week):
    from tests.core.test_spreadsheet_csv import HOSTILE, starts_a_formula

    people = week["people"]
    people["alex"].display_name = HOSTILE[0]
    people["riley"].display_name = HOSTILE[1]
    chris = world.db.session.query(User).filter_by(display_name="Chris").one()
    chris.display_name = "@SUM(1+1)*cmd|' /C calc'!A0"
    world.db.session.commit()
    response = make_auth(world.user(Role.ADMIN)).get(f"/api/v1/billing/days.csv?{week['query']}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    cells = [cell for row in rows for cell in row]
    assert [c for c in cells if starts_a_formula(c)] == []
    # Still the names, as text: the quote is the only change.
    assert {r[2] for r in rows[1:]} == {"'" + HOSTILE[0], "'" + HOSTILE[1], "Sam"}
    assert {r[9] for r in rows[1:]} == {"'@SUM(1+1)*cmd|' /C calc'!A0"}
