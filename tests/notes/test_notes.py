"""The clinical note of a session: formats, drafts, retries, signing (final, and the attestation
of attendance), addenda, late entries, the name warning, who may do what (docs/notes.md)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from companion.accounts.models import Role
from companion.clinic.models import Enrollment, GroupMember, GroupRole
from companion.core import clock
from companion.core.models import AuditEvent
from companion.notes.models import ClinicalNote, NoteAddendum, NoteParticipant
from companion.rooms.models import AttendanceAttestation, Modality
from tests.note_factories import (
    ended_session,
    note_body,
    participant,
    present,
    sections,
    stored_note,
)


@pytest.fixture
def group_world(world):
    """Chris leads a group of Alex, Sam and Jordan; its session ended an hour ago."""
    chris = world.user(Role.COUNSELOR, name="Chris")
    alex, sam, jordan = (world.user(Role.CLIENT, name=n) for n in ("Alex", "Sam", "Jordan"))
    group = world.group(chris, [alex, sam, jordan])
    session = ended_session(world, group)
    return {"chris": chris, "alex": alex, "sam": sam, "jordan": jordan, "group": group,
            "session": session}


def _count(world, model):
    return world.db.session.scalar(select(func.count()).select_from(model))


def _post(auth, session, body):
    return auth.post(f"/api/v1/sessions/{session.id}/notes", json=body)


# --- the form -------------------------------------------------------------------------------


def test_prefill_has_the_minutes_and_modality_the_server_saw(group_world, make_auth):
    g = group_world
    session = g["session"]
    present(session, g["alex"])  # the whole three hours, on video
    present(session, g["sam"], 60, after=25, modality=Modality.AUDIO)  # late, audio only
    present(session, g["sam"], 90, after=88, modality=Modality.AUDIO)  # a 3-minute drop
    response = make_auth(g["chris"]).get(f"/api/v1/sessions/{session.id}/notes/prefill")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["format"], body["parts"], body["shared_part"], body["note_id"]) == (
        "dap", ["data", "assessment", "plan"], True, None)
    rows = {r["client"]["display_name"]: r for r in body["participants"]}
    assert list(rows) == ["Alex", "Jordan", "Sam"]
    assert (rows["Alex"]["attendance"], rows["Alex"]["minutes"], rows["Alex"]["modality"]) == (
        "present", 180, "video")
    # Reconnect gaps under five minutes are merged, as the attendance reports count them.
    assert (rows["Sam"]["attendance"], rows["Sam"]["minutes"], rows["Sam"]["modality"],
            rows["Sam"]["seen_modality"]) == ("late", 60 + 3 + 90, "audio_only", "audio_only")
    assert (rows["Jordan"]["attendance"], rows["Jordan"]["minutes"],
            rows["Jordan"]["modality"]) == ("absent", 0, None)


def test_a_one_to_one_has_the_same_note_without_the_shared_part(world, make_auth):
    chris, riley = world.user(Role.COUNSELOR, name="Chris"), world.user(name="Riley")
    session = ended_session(world, counselor=chris, client=riley, hours=1)
    auth = make_auth(chris)
    prefill = auth.get(f"/api/v1/sessions/{session.id}/notes/prefill").get_json()
    assert prefill["shared_part"] is False
    assert [p["client"]["display_name"] for p in prefill["participants"]] == ["Riley"]
    refused = _post(auth, session, note_body([participant(riley, minutes=60)]))
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "shared"
    created = _post(auth, session, note_body([participant(riley, minutes=60)], shared=None))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["shared"] is None
    signed = auth.post(f"/api/v1/notes/{created.get_json()['id']}/sign")
    assert signed.status_code == 200 and signed.get_json()["status"] == "signed"


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "parts", "foreign"), [
    ("dap", ["data", "assessment", "plan"], "behavior"),
    ("birp", ["behavior", "intervention", "response", "plan"], "data"),
    ("soap", ["subjective", "objective", "assessment", "plan"], "response"),
])
def test_each_format_has_its_own_sections(group_world, world, make_auth, fmt, parts, foreign):
    g = group_world
    world.program.note_format = fmt
    world.db.session.commit()
    auth = make_auth(g["chris"])
    assert auth.get(f"/api/v1/sessions/{g['session'].id}/notes/prefill").get_json()[
        "parts"] == parts
    # A part of another format, in the shared section or in a client's: named, nothing stored.
    bad_shared = note_body([participant(g["alex"], fmt=fmt)], fmt=fmt,
                           shared={**sections(fmt), foreign: "x"})
    response = _post(auth, g["session"], bad_shared)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == f"shared.{foreign}"
    assert ", ".join(parts) in response.get_json()["detail"]
    mine = participant(g["alex"], fmt=fmt)
    mine["sections"][foreign] = "x"
    response = _post(auth, g["session"], note_body([mine], fmt=fmt))
    assert response.get_json()["errors"][0]["field"] == f"participants.0.sections.{foreign}"
    # Another format than the program's.
    other = "soap" if fmt != "soap" else "dap"
    response = _post(auth, g["session"],
                     note_body([participant(g["alex"], fmt=other)], fmt=other))
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "format"
    assert _count(world, ClinicalNote) == 0

    created = _post(auth, g["session"], note_body([participant(g["alex"], fmt=fmt)], fmt=fmt))
    assert created.status_code == 201
    note = created.get_json()
    assert (note["format"], note["parts"], note["status"]) == (fmt, parts, "draft")
    # JSON objects have no order: ``parts`` gives the format's.
    assert sorted(note["shared"]) == sorted(parts)
    assert sorted(note["participants"][0]["sections"]) == sorted(parts)


# --- drafts, retries, signing ---------------------------------------------------------------


def test_a_retry_with_the_same_id_stores_once_and_answers_the_same(group_world, world,
                                                                     make_auth):
    g = group_world
    auth = make_auth(g["chris"])
    body = note_body([participant(g["alex"]), participant(g["sam"], modality="audio_only")])
    first = _post(auth, g["session"], body)
    again = _post(auth, g["session"], body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert (_count(world, ClinicalNote), _count(world, NoteParticipant)) == (1, 2)
    # The same id with another body, or another note for the same session: refused.
    changed = {**body, "participants": [participant(g["alex"])]}
    assert _post(auth, g["session"], changed).status_code == 409
    second = _post(auth, g["session"], note_body([participant(g["alex"])]))
    assert second.status_code == 409 and second.get_json()["code"] == "note_exists"
    # The session's note is found from the session (the form opens it again).
    listed = auth.get(f"/api/v1/sessions/{g['session'].id}/notes").get_json()["items"]
    assert [n["id"] for n in listed] == [body["id"]]
    prefill = auth.get(f"/api/v1/sessions/{g['session'].id}/notes/prefill").get_json()
    assert prefill["note_id"] == body["id"]


def test_a_draft_is_patched_signing_locks_it_and_attests_attendance(group_world, world,
                                                                      make_auth):
    g = group_world
    auth = make_auth(g["chris"])
    body = note_body([participant(g["alex"]), participant(g["jordan"], attendance="absent",
                                                          minutes=0, modality=None,
                                                          location=None,
                                                          identity_checked=None)])
    note_id = _post(auth, g["session"], body).get_json()["id"]
    patched = auth.patch(f"/api/v1/notes/{note_id}",
                         json={"shared": {**sections(), "plan": "Next week: refusal skills"}})
    assert patched.status_code == 200
    assert patched.get_json()["shared"]["plan"] == "Next week: refusal skills"
    # Participants not given stay as they were.
    assert [p["client"]["display_name"] for p in patched.get_json()["participants"]] == [
        "Alex", "Jordan"]
    patched = auth.patch(f"/api/v1/notes/{note_id}", json={"participants": [
        participant(g["alex"], minutes=170, attendance="left_early"),
        participant(g["jordan"], attendance="absent", minutes=0, modality=None,
                    location=None, identity_checked=None)]})
    assert patched.get_json()["participants"][0]["minutes"] == 170
    assert _count(world, NoteParticipant) == 2

    signed = auth.post(f"/api/v1/notes/{note_id}/sign")
    assert signed.status_code == 200
    note = signed.get_json()
    assert (note["status"], note["signed_by"]["display_name"], note["late_entry"]) == (
        "signed", "Chris", False)
    # Signing the note is the attestation of the session's attendance.
    sheet = auth.get(f"/api/v1/sessions/{g['session'].id}/attendance").get_json()
    assert sheet["attested_by"]["display_name"] == "Chris"
    assert _count(world, AttendanceAttestation) == 1

    refused = auth.patch(f"/api/v1/notes/{note_id}", json={"shared": sections()})
    assert refused.status_code == 409 and refused.get_json()["code"] == "note_signed"
    # Signing again changes nothing.
    again = auth.post(f"/api/v1/notes/{note_id}/sign")
    assert again.status_code == 200 and again.get_json()["signed_at"] == note["signed_at"]
    actions = world.db.session.execute(
        select(AuditEvent.action, AuditEvent.record_type).where(
            AuditEvent.record_id.in_([note_id, str(g["session"].id)]))).all()
    assert {("create", "clinical_note"), ("update", "clinical_note"), ("sign", "clinical_note"),
            ("attest", "attendance")} <= set(actions)


def test_the_database_refuses_to_change_a_signed_note(group_world, world):
    g = group_world
    draft = stored_note(g["session"], g["chris"], [g["alex"]])
    other = ended_session(world, g["group"])
    signed = stored_note(other, g["chris"], [g["alex"]], signed=True)
    conn = world.db.session
    # A draft changes (the application patches drafts).
    conn.execute(text("UPDATE clinical_note SET shared = NULL WHERE id = :id"), {"id": draft.id})
    conn.execute(text("UPDATE note_participant SET minutes = 100 WHERE note_id = :id"),
                 {"id": draft.id})
    conn.commit()
    refused = [
        ("UPDATE clinical_note SET shared = NULL WHERE id = :id", "signed note is final"),
        ("UPDATE clinical_note SET signed_at = NULL WHERE id = :id", "signed note is final"),
        ("DELETE FROM clinical_note WHERE id = :id", "signed note is final"),
        ("UPDATE note_participant SET minutes = 1 WHERE note_id = :id", "signed note is final"),
        ("DELETE FROM note_participant WHERE note_id = :id", "signed note is final"),
        (f"INSERT INTO note_participant (note_id, position, client_id, attendance, minutes, "
         f"sections) VALUES (:id, 1, {g['sam'].id}, 'present', 180, '{{}}')",
         "signed note is final"),
        (f"UPDATE note_participant SET note_id = :id WHERE note_id = '{draft.id}'",
         "signed note is final"),
    ]
    for statement, message in refused:
        with pytest.raises(DBAPIError, match=message):
            conn.execute(text(statement), {"id": signed.id})
        conn.rollback()
    addendum = NoteAddendum(id=str(uuid.uuid4()), note_id=signed.id, author_id=g["chris"].id,
                            text="Correction", created_at=clock.now(), body_hash="0" * 64)
    conn.add(addendum)
    conn.commit()
    for statement in ("UPDATE note_addendum SET text = 'x' WHERE id = :id",
                      "DELETE FROM note_addendum WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement), {"id": addendum.id})
        conn.rollback()
    stored = conn.get(NoteParticipant, signed.participants[0].id)
    assert stored is not None and stored.minutes == 180


def test_addenda_follow_the_signature_dated_by_their_author(group_world, world, make_auth):
    g = group_world
    pat = world.user(Role.COUNSELOR, name="Pat")  # co-facilitates the group
    world.db.session.add(GroupMember(group_id=g["group"].id, user_id=pat.id,
                                     role=GroupRole.COUNSELOR))
    world.db.session.commit()
    chris = make_auth(g["chris"])
    note_id = _post(chris, g["session"], note_body([participant(g["alex"])])).get_json()["id"]
    addendum = {"id": str(uuid.uuid4()), "text": "Alex called after group: safe at home."}
    draft = chris.post(f"/api/v1/notes/{note_id}/addenda", json=addendum)
    assert draft.status_code == 409 and draft.get_json()["code"] == "note_draft"
    assert chris.post(f"/api/v1/notes/{note_id}/sign").status_code == 200

    first = chris.post(f"/api/v1/notes/{note_id}/addenda", json=addendum)
    again = chris.post(f"/api/v1/notes/{note_id}/addenda", json=addendum)
    assert (first.status_code, again.status_code) == (201, 200)
    assert _count(world, NoteAddendum) == 1
    added = first.get_json()["addenda"]
    assert [(a["author"]["display_name"], a["text"], a["late_entry"]) for a in added] == [
        ("Chris", addendum["text"], True)]
    assert added[0]["created_at"] >= first.get_json()["signed_at"]
    # The co-facilitator adds one of their own; an addendum id is not reused for another text.
    second = make_auth(pat).post(f"/api/v1/notes/{note_id}/addenda",
                                 json={"id": str(uuid.uuid4()), "text": "Spoke to Alex too."})
    assert [a["author"]["display_name"] for a in second.get_json()["addenda"]] == [
        "Chris", "Pat"]
    reused = chris.post(f"/api/v1/notes/{note_id}/addenda",
                        json={"id": addendum["id"], "text": "Something else"})
    assert reused.status_code == 409
    empty = chris.post(f"/api/v1/notes/{note_id}/addenda",
                       json={"id": str(uuid.uuid4()), "text": "   "})
    assert empty.status_code == 422 and empty.get_json()["errors"][0]["field"] == "text"


def test_a_note_signed_more_than_72_hours_after_the_session_is_a_late_entry(world, make_auth):
    chris, alex = world.user(Role.COUNSELOR, name="Chris"), world.user(name="Alex")
    group = world.group(chris, [alex])
    week_ago = ended_session(world, group, start=clock.now() - timedelta(days=5))
    yesterday = ended_session(world, group, start=clock.now() - timedelta(hours=30))
    auth = make_auth(chris)
    late = {}
    for session in (week_ago, yesterday):
        note_id = _post(auth, session, note_body([participant(alex)])).get_json()["id"]
        late[session.id] = auth.post(f"/api/v1/notes/{note_id}/sign").get_json()["late_entry"]
    assert late == {week_ago.id: True, yesterday.id: False}


def test_a_note_is_written_once_the_session_has_ended(world, make_auth):
    chris, alex = world.user(Role.COUNSELOR, name="Chris"), world.user(name="Alex")
    running = world.session(world.group(chris, [alex]), starts_in=-timedelta(minutes=30))
    response = _post(make_auth(chris), running, note_body([participant(alex, minutes=30)]))
    assert response.status_code == 409
    assert response.get_json()["errors"][0]["field"] == "session_id"
    # A cancelled session has no note.
    cancelled = ended_session(world, running.group)
    cancelled.cancelled_at = clock.now()
    world.db.session.commit()
    response = _post(make_auth(chris), cancelled, note_body([participant(alex)]))
    assert response.status_code == 409 and "cancelled" in response.get_json()["detail"]


# --- bad input --------------------------------------------------------------------------------


def test_bad_input_names_the_field_and_writes_nothing(group_world, world, make_auth):
    g = group_world
    stranger = world.user(Role.CLIENT, name="Stranger")
    auth = make_auth(g["chris"])
    audit_rows = _count(world, AuditEvent)
    cases = [
        (participant(stranger), "participants.1.client_id"),
        (participant(g["alex"]), "participants.1.client_id"),  # listed twice
        (participant(g["sam"], minutes=181), "participants.1.minutes"),  # a 3-hour session
        (participant(g["sam"], minutes=-1), "participants.1.minutes"),
        (participant(g["sam"], attendance="absent", minutes=20), "participants.1.minutes"),
        (participant(g["sam"], minutes=0), "participants.1.minutes"),
        (participant(g["sam"], audio_only_reason="declined_video"),
         "participants.1.audio_only_reason"),
        (participant(g["sam"], modality="in_person", location=None) | {"location": "home"},
         "participants.1.location"),
        (participant(g["sam"], attendance="sometimes"), "participants.1.attendance"),
        (participant(g["sam"], modality="carrier_pigeon"), "participants.1.modality"),
        (participant(g["sam"], started_at=g["session"].starts_at.isoformat()),
         "participants.1.ended_at"),
        (participant(g["sam"], started_at=(g["session"].starts_at - timedelta(hours=2))
                     .isoformat(), ended_at=g["session"].ends_at.isoformat()),
         "participants.1.started_at"),
    ]
    for second, field in cases:
        response = _post(auth, g["session"], note_body([participant(g["alex"]), second]))
        assert response.status_code == 422, (field, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"][0]["field"] == field, response.get_json()
    assert _count(world, ClinicalNote) == 0 and _count(world, NoteParticipant) == 0
    assert _count(world, AuditEvent) == audit_rows

    # A bad PATCH leaves the draft as it was.
    note_id = _post(auth, g["session"], note_body([participant(g["alex"])])).get_json()["id"]
    before = auth.get(f"/api/v1/notes/{note_id}").get_json()
    response = auth.patch(f"/api/v1/notes/{note_id}", json={"participants": [
        participant(g["alex"], minutes=60), participant(stranger)]})
    assert response.get_json()["errors"][0]["field"] == "participants.1.client_id"
    response = auth.patch(f"/api/v1/notes/{note_id}", json={"shared": {"topic": "x"}})
    assert response.get_json()["errors"][0]["field"] == "shared.topic"
    after = auth.get(f"/api/v1/notes/{note_id}").get_json()
    assert after["participants"] == before["participants"] and after["shared"] == before["shared"]


def test_signing_needs_every_part_and_the_telehealth_record(group_world, make_auth):
    g = group_world
    auth = make_auth(g["chris"])

    def draft(*people, shared=True):
        body = note_body(list(people), shared=shared)
        response = _post(auth, g["session"], body)
        assert response.status_code == 201, response.get_json()
        return body["id"]

    note_id = draft(participant(g["alex"]), shared={"data": "Topic", "assessment": "Engaged"})

    def sign_refused(field):
        response = auth.post(f"/api/v1/notes/{note_id}/sign")
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["errors"][0]["field"] == field
        assert auth.get(f"/api/v1/notes/{note_id}").get_json()["status"] == "draft"

    sign_refused("shared.plan")
    steps = [
        (participant(g["alex"]) | {"sections": {"data": "x", "assessment": "y"}},
         "participants.0.sections.plan"),
        (participant(g["alex"], modality=None), "participants.0.modality"),
        (participant(g["alex"], location=None), "participants.0.location"),
        (participant(g["alex"], identity_checked=" "), "participants.0.identity_checked"),
        (participant(g["alex"], modality="phone") | {"audio_only_reason": None},
         "participants.0.audio_only_reason"),
        (participant(g["alex"], modality="audio_only") | {"audio_only_reason": None},
         "participants.0.audio_only_reason"),
    ]
    auth.patch(f"/api/v1/notes/{note_id}", json={"shared": sections()})
    for person, field in steps:
        assert auth.patch(f"/api/v1/notes/{note_id}",
                          json={"participants": [person]}).status_code == 200
        sign_refused(field)
    # In person needs none of the telehealth record; an absent client no sections.
    assert auth.patch(f"/api/v1/notes/{note_id}", json={"participants": [
        participant(g["alex"], modality="in_person", identity_checked=None),
        {"client_id": g["sam"].id, "attendance": "absent", "minutes": 0}]}).status_code == 200
    assert auth.post(f"/api/v1/notes/{note_id}/sign").status_code == 200


# --- the shared part names nobody -----------------------------------------------------------


def test_a_part_naming_another_client_is_warned_about(group_world, make_auth):
    g = group_world
    auth = make_auth(g["chris"])
    alex = participant(g["alex"])
    alex["sections"]["data"] = "Alex spoke about work; said SAM's story helped."
    sam = participant(g["sam"])
    sam["sections"]["data"] = "Samantha (a coworker) called; Sam stayed calm."  # own name: fine
    body = note_body([alex, sam], shared={**sections(), "data": "Group discussed jordan's relapse"})
    note = _post(auth, g["session"], body).get_json()
    warnings = {w["field"]: w["message"] for w in note["warnings"]}
    assert set(warnings) == {"shared.data", "participants.0.sections.data"}
    assert warnings["shared.data"].startswith("Names Jordan: the shared part goes into every")
    assert warnings["participants.0.sections.data"].startswith("Names Sam: this part goes "
                                                               "into Alex's chart")
    # Rewritten, the warning is gone; it never stopped a save or a signature.
    fixed = auth.patch(f"/api/v1/notes/{note['id']}", json={"shared": sections()}).get_json()
    assert [w["field"] for w in fixed["warnings"]] == ["participants.0.sections.data"]
    assert auth.post(f"/api/v1/notes/{note['id']}/sign").status_code == 200


# --- who may do what -------------------------------------------------------------------------


def test_only_the_facilitating_counselors_write_and_the_admin_reads(group_world, world,
                                                                     make_auth):
    g = group_world
    co_lead = world.user(Role.COUNSELOR, name="Co")
    world.db.session.add(GroupMember(group_id=g["group"].id, user_id=co_lead.id,
                                     role=GroupRole.COUNSELOR))
    peer = world.user(Role.PEER_SUPPORTER, name="Peer")
    world.db.session.add(GroupMember(group_id=g["group"].id, user_id=peer.id,
                                     role=GroupRole.PEER_SUPPORTER))
    world.db.session.commit()
    other_counselor = world.user(Role.COUNSELOR, name="Other")
    admin = world.user(Role.ADMIN, name="Dana")
    session = g["session"]
    # The co-facilitator writes the note; the lead changes and signs it.
    note_id = _post(make_auth(co_lead), session,
                    note_body([participant(g["alex"])])).get_json()["id"]
    chris = make_auth(g["chris"])
    assert chris.patch(f"/api/v1/notes/{note_id}", json={"shared": sections()}).status_code == 200

    paths = {
        "read": ("GET", f"/api/v1/notes/{note_id}", None),
        "session": ("GET", f"/api/v1/sessions/{session.id}/notes", None),
        "prefill": ("GET", f"/api/v1/sessions/{session.id}/notes/prefill", None),
        "patch": ("PATCH", f"/api/v1/notes/{note_id}", {"shared": sections()}),
        "create": ("POST", f"/api/v1/sessions/{session.id}/notes",
                   note_body([participant(g["alex"])])),
    }
    expected = {
        "admin": {"read": 200, "session": 200, "prefill": 403, "patch": 403, "create": 403},
        "peer": dict.fromkeys(paths, 404),
        "client": dict.fromkeys(paths, 404),
        "other": dict.fromkeys(paths, 404),
    }
    people = {"admin": admin, "peer": peer, "client": g["alex"], "other": other_counselor}
    for who, statuses in expected.items():
        auth = make_auth(people[who])
        for name, (method, path, body) in paths.items():
            response = auth.client.open(path, method=method, json=body, headers=auth.headers())
            assert response.status_code == statuses[name], (who, name, response.get_json())
    for who in ("admin", "peer", "client", "other"):
        assert make_auth(people[who]).post(f"/api/v1/notes/{note_id}/sign").status_code in (
            403, 404)
    signed = chris.post(f"/api/v1/notes/{note_id}/sign").get_json()
    assert (signed["author"]["display_name"], signed["signed_by"]["display_name"]) == (
        "Co", "Chris")
    # Nobody learns whether a note id exists, or what a malformed one is.
    assert make_auth(peer).get(f"/api/v1/notes/{uuid.uuid4()}").status_code == 404
    assert chris.get("/api/v1/notes/not-a-note").status_code == 404


def test_a_clients_chart_holds_the_shared_part_and_their_own_only(group_world, world,
                                                                   make_auth):
    g = group_world
    primary = world.user(Role.COUNSELOR, name="Primary")
    enrollment = world.db.session.scalars(
        select(Enrollment).filter_by(client_id=g["alex"].id)).one()
    enrollment.primary_counselor_id = primary.id
    world.db.session.commit()
    chris = make_auth(g["chris"])
    alex = participant(g["alex"])
    alex["sections"]["plan"] = "Alex: attend Thursday"
    sam = participant(g["sam"])
    sam["sections"]["plan"] = "Sam's own plan"
    note_id = _post(chris, g["session"], note_body([alex, sam])).get_json()["id"]
    chris.post(f"/api/v1/notes/{note_id}/sign")

    for auth, facilitator in ((chris, True), (make_auth(primary), False)):
        chart = auth.get(f"/api/v1/clients/{g['alex'].id}/notes")
        assert chart.status_code == 200
        [entry] = chart.get_json()["items"]
        assert entry["note_id"] == note_id and entry["status"] == "signed"
        assert entry["participant"]["client"]["display_name"] == "Alex"
        assert entry["participant"]["sections"]["plan"] == "Alex: attend Thursday"
        assert "Sam's own plan" not in str(entry)
        assert entry["shared"] == sections("dap", "Topic: high-risk situations; skills practice")
        assert entry["facilitator"] is facilitator
    # The primary counselor does not facilitate: the whole note (Sam's part) is not theirs.
    assert make_auth(primary).get(f"/api/v1/notes/{note_id}").status_code == 404
    for who in (g["alex"], world.user(Role.ADMIN), world.user(Role.COUNSELOR),
                world.user(Role.PEER_SUPPORTER)):
        assert make_auth(who).get(f"/api/v1/clients/{g['alex'].id}/notes").status_code == 404
