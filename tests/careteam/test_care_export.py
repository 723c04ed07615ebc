"""The client's own record: everything of theirs, nothing of anyone else's, with the notice."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

from companion.accounts.models import FamilyLink, Invitation, Role, User
from companion.careteam import export, rewards
from companion.careteam.consents import REDISCLOSURE_NOTICE
from companion.careteam.models import TestResult
from companion.clinic.models import Enrollment, GroupMember
from companion.core import clock
from companion.core.extensions import db
from companion.core.models import Base
from companion.measures.models import Measure, MeasureSchedule
from companion.meetings.models import (
    MeetingAttendance,
    MeetingCalendar,
    MeetingFavourite,
    MeetingRecommendation,
)
from companion.rooms.models import (
    AttendanceInterval,
    Modality,
    ParticipantState,
    RoomEvent,
    RoomParticipant,
)
from companion.selfcare.models import SafetyPlan
from tests import care_factories, selfcare_factories
from tests.meeting_factories import _source


def _add(obj: Any) -> Any:
    db.session.add(obj)
    db.session.commit()
    return obj


def everything(world: Any, client: User, counselor: User, meeting_id: int) -> dict[str, set]:
    """One record of every kind for this client; section -> the ids the export must hold."""
    now = clock.now()
    settings = rewards.settings_for(world.program)
    settings.enabled, settings.scheme, settings.behaviours = True, "points", ["checkin"]
    _add(settings)
    group = world.group(counselor, [client], name=f"Group of {client.display_name}")
    session = world.session(counselor=counselor, client=client, starts_in=timedelta(hours=-1))
    invitation = _add(Invitation(
        clinic_id=client.clinic_id, email=f"fam-{uuid.uuid4().hex[:6]}@example.test",
        role=Role.FAMILY, token_hash=uuid.uuid4().hex, invited_by_id=client.id,
        expires_at=now + timedelta(days=7)))
    own_invitation = _add(Invitation(
        clinic_id=client.clinic_id, email=client.email, role=Role.CLIENT,
        token_hash=uuid.uuid4().hex, expires_at=now, accepted_at=now, user_id=client.id))
    entry = rewards.credit(client.id, "checkin", "2026-03-02", date(2026, 3, 2), True, client)
    assert entry is not None
    ids: dict[str, set] = {
        "enrollments": {e.id for e in db.session.query(Enrollment).filter_by(
            client_id=client.id)},
        "group_memberships": {m.id for m in db.session.query(GroupMember).filter_by(
            group_id=group.id, user_id=client.id)},
        "individual_sessions": {session.id},
        "checkins": {selfcare_factories.checkin(client).id},
        "cravings": {selfcare_factories.craving(client).id},
        "coping_completions": {selfcare_factories.completion(client).id},
        "safety_plan": {_add(SafetyPlan(client_id=client.id, warning_signs=["Skipping meals"],
                                        updated_by_id=client.id)).id},
        "measures": {_add(Measure(id=str(uuid.uuid4()), client_id=client.id, kind="phq9",
                                  answers=[0] * 9, total=0, band="minimal", completed_at=now,
                                  body_hash="0" * 64)).id},
        "measure_schedules": {_add(MeasureSchedule(client_id=client.id, kind="gad7",
                                                   next_due=now)).id},
        "alerts": {selfcare_factories.alert(client).id},
        "room_participation": {_add(RoomParticipant(session_id=session.id, user_id=client.id,
                                                    state=ParticipantState.ADMITTED)).id},
        "attendance_intervals": {_add(AttendanceInterval(
            session_id=session.id, user_id=client.id, started_at=session.starts_at,
            ended_at=now, modality=Modality.AUDIO, connection_id=uuid.uuid4().hex)).id},
        "room_messages": {_add(RoomEvent(
            session_id=session.id, seq=1, kind="chat", actor_id=client.id,
            client_id=str(uuid.uuid4()),
            payload={"text": f"<b>{client.display_name} says hello</b>"})).id},
        "meeting_favourites": {_add(MeetingFavourite(client_id=client.id,
                                                     meeting_id=meeting_id)).id},
        "meeting_attendance": {_add(MeetingAttendance(client_id=client.id, meeting_id=meeting_id,
                                                      attended_on=now.date())).id},
        "meeting_recommendations": {_add(MeetingRecommendation(
            client_id=client.id, meeting_id=meeting_id, counselor_id=counselor.id)).id},
        "meeting_calendar": {_add(MeetingCalendar(client_id=client.id,
                                                  token_hash=uuid.uuid4().hex)).id},
        "consents": {care_factories.consent(client).id},
        "family_members": {_add(FamilyLink(client_id=client.id,
                                           invitation_id=invitation.id)).id},
        "rewards_ledger": {entry.id},
        "test_results": {_add(TestResult(
            id=str(uuid.uuid4()), client_id=client.id, collected_at=now, result="negative",
            entered_by_id=counselor.id, body_hash="0" * 64)).id},
        "psychoeducation": {care_factories.assignment(client, counselor).id},
        "invitations": {own_invitation.id},
    }
    return ids


def test_every_table_is_exported_or_left_out_for_a_reason():
    import companion.all_models  # noqa: F401 - every table, whatever this run imported before

    exported = {stmt(0).column_descriptions[0]["entity"].__table__.name
                for _, stmt in export.EXPORTED.values()}
    tables = set(Base.metadata.tables)
    assert tables - exported - set(export.NOT_CLIENT_RECORDS) == set()
    assert exported & set(export.NOT_CLIENT_RECORDS) == set()


def test_the_export_holds_all_of_my_records_and_none_of_anothers(world, make_auth):
    counselor = world.user(Role.COUNSELOR, name="Dana Counselor")
    alice, bob = world.user(name="Alice"), world.user(name="Bob")
    _, meeting_id = _source(world.clinic.id)
    mine = everything(world, alice, counselor, meeting_id)
    theirs = everything(world, bob, counselor, meeting_id)
    # The counselor reads Alice's check-ins: Alice's access log says so; Bob's does not.
    staff = make_auth(counselor)
    assert staff.get(f"/api/v1/checkins?client_id={alice.id}").status_code == 200

    auth = make_auth(alice)
    response = auth.get("/api/v1/me/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    record = response.get_json()
    assert record["notice"] == REDISCLOSURE_NOTICE
    assert record["profile"]["id"] == alice.id and record["profile"]["email"] == alice.email
    assert "password_hash" not in record["profile"]
    for section, expected in mine.items():
        got = {row["id"] for row in record[section]}
        assert got == expected, section
        assert not got & theirs[section], section
    assert record["login_sessions"] and all(
        row["user_id"] == alice.id and "id" not in row for row in record["login_sessions"])
    text = json.dumps(record)
    assert "Bob says hello" not in text and bob.email not in text
    assert "Alice says hello" in text
    for secret in ("token_hash", "body_hash", "csrf_token", "password_hash"):
        assert secret not in text
    readers = [(e["who"], e["role"], e["what"]) for e in record["access_log"]]
    assert ("Dana Counselor", "counselor", "checkin_list") in readers

    bob_record = make_auth(bob).get("/api/v1/me/export").get_json()
    assert all(e["who"] != "Dana Counselor" for e in bob_record["access_log"])
    assert "Alice says hello" not in json.dumps(bob_record)


def test_the_readable_export_carries_the_notice_and_escapes_what_people_wrote(world, make_auth):
    counselor = world.user(Role.COUNSELOR)
    client = world.user(name="Alice")
    _, meeting_id = _source(world.clinic.id)
    everything(world, client, counselor, meeting_id)
    response = make_auth(client).get("/api/v1/me/export?format=html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "42 CFR part 2" in page and "Who accessed my record" in page
    assert "&lt;b&gt;Alice says hello&lt;/b&gt;" in page and "<b>Alice" not in page
    bad = make_auth(client).get("/api/v1/me/export?format=pdf")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "format"


def test_the_access_log_is_paginated_and_names_who_read_my_record(world, make_auth):
    counselor = world.user(Role.COUNSELOR, name="Dana Counselor")
    client = world.user()
    world.group(counselor, [client])
    staff = make_auth(counselor)
    for _ in range(3):
        staff.get(f"/api/v1/cravings?client_id={client.id}")
    auth = make_auth(client)
    first = auth.get("/api/v1/me/access-log?limit=2").get_json()
    assert len(first["items"]) == 2 and first["next"]
    assert first["items"][1] == {**first["items"][1], "who": "Dana Counselor",
                                 "role": "counselor", "what": "craving_list", "action": "read"}
    rest = auth.get(first["next"]).get_json()
    assert [e["what"] for e in rest["items"]] == ["craving_list"]
    assert rest["next"] is None


# Column names that hold a secret: a hash of a password or token, a key, a session token.
_SECRET_LOOKING = ("hash", "secret", "token", "password", "csrf", "key")


def test_every_secret_column_of_an_exported_table_is_left_out():
    # A new secret column (the second factor's TOTP secret was one) must be named here.
    exported = [stmt(0).column_descriptions[0]["entity"] for _, stmt in export.EXPORTED.values()]
    secret_looking = {
        f"{model.__tablename__}.{column.key}"
        for model in [User, *exported] for column in model.__mapper__.column_attrs
        if any(word in column.key for word in _SECRET_LOOKING)
        and column.key not in export.SECRET_COLUMNS
    }
    assert secret_looking == set()


def test_my_export_never_holds_a_second_factor_secret(world, make_auth):
    from companion.accounts import mfa

    alice = world.user(name="Alice")
    # A client has no second factor today; should one ever be set, it stays out of the export.
    alice.totp_secret = mfa.seal("ALICESTOTPSECRETALICESTOTPSECRET")
    world.db.session.commit()
    record = make_auth(alice).get("/api/v1/me/export").get_json()
    assert "totp_secret" not in record["profile"]
    assert "totp_secret" not in json.dumps(record)


def test_the_access_log_shows_other_people_in_words_not_my_own_visits(world, make_auth):
    counselor = world.user(Role.COUNSELOR, name="Dana Counselor")
    client = world.user(name="Alice")
    world.group(counselor, [client])
    selfcare_factories.checkin(client)
    auth = make_auth(client)
    # The client's own page views: many rows in the audit log, none in "who looked".
    for path in ("/api/v1/checkins", "/api/v1/safety-plan", "/api/v1/me/access-log"):
        assert auth.get(path).status_code == 200
    staff = make_auth(counselor)
    assert staff.get(f"/api/v1/checkins?client_id={client.id}").status_code == 200
    assert staff.get(f"/api/v1/safety-plan?client_id={client.id}").status_code == 200
    # The app itself acting (a room's enforcer removing someone) is not a person looking.
    from companion.core import audit, origin

    with origin.acting_from(origin.Origin("socket")):
        audit.record(None, "remove", "room", 1, subject_id=client.id)
    db.session.commit()

    items = auth.get("/api/v1/me/access-log").get_json()["items"]
    assert [(e["who"], e["role_text"], e["summary"]) for e in items] == [
        ("Dana Counselor", "counselor", "looked at your safety plan"),
        ("Dana Counselor", "counselor", "looked at your check-ins"),
    ]
    assert all(e["at"] for e in items)
    # The download still holds every row, each in words too.
    record = auth.get("/api/v1/me/export").get_json()
    summaries = {(e["role"], e["summary"]) for e in record["access_log"]}
    assert ("counselor", "looked at your check-ins") in summaries
    assert ("client", "logged in") in summaries
    assert all(e["summary"] and "_" not in e["summary"] for e in record["access_log"])


def _audited_about_a_client() -> set[tuple[str, str]]:
    """(action, record type) of every audit call in the code that names a client as subject,
    where both are written out; the computed ones are listed by the caller."""
    import ast
    from pathlib import Path

    found = set()
    for path in Path(export.__file__).parents[1].rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            skip = {"audit_access": 0, "record": 1}.get(name or "")
            if skip is None or not any(k.arg == "subject_id" for k in node.keywords):
                continue
            args = node.args[skip:skip + 2]
            if len(args) == 2 and all(isinstance(a, ast.Constant) for a in args):
                found.add((args[0].value, args[1].value))
    return found


def test_every_audited_record_type_about_a_client_has_words():
    from companion.accounts.models import CONSENT_CATEGORIES
    from companion.selfcare.services import RECORD_TYPES

    audited = _audited_about_a_client()
    assert ("read", "safety_plan") in audited and len(audited) > 20
    computed = {("read", t) for t in RECORD_TYPES.values()} | {
        ("read", f"{t}_list") for t in RECORD_TYPES.values()} | {
        (a, t) for t in RECORD_TYPES.values() for a in ("create", "replay")} | {
        ("disclose", c) for c in CONSENT_CATEGORIES} | {
        (a, "room") for a in ("join", "admit", "mute", "unmute", "remove")} | {
        ("read", "alert"), ("acknowledge", "alert")}
    fallback = export.describe_access("unknown_action", "unknown_type")
    for action, record_type in audited | computed:
        words = export.describe_access(action, record_type)
        assert "_" not in words and words != fallback, (action, record_type)


def test_the_export_names_triggers_in_words(world, make_auth):
    client = world.user(name="Alice")
    selfcare_factories.craving(client, triggers=["lonely", "time_of_day"])
    auth = make_auth(client)
    record = auth.get("/api/v1/me/export").get_json()
    assert record["cravings"][0]["triggers"] == ["lonely", "time_of_day"]  # for other apps
    assert record["cravings"][0]["trigger_labels"] == ["Lonely", "Time of day"]
    page = auth.get("/api/v1/me/export?format=html").get_data(as_text=True)
    assert "Lonely, Time of day" in page
    assert "time_of_day" not in page
    assert "<th scope=\"col\">what they did</th>" in page and "<td>logged in</td>" in page
