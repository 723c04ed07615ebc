"""Family members in family sessions (issue 7): the rule (policy), the room (Socket.IO), the
scheduling field (API), and what a family guest never sees or counts for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from companion.accounts.models import Role
from companion.clinic import policy
from companion.clinic.models import Session
from companion.core import clock
from companion.core.extensions import db, socketio
from companion.core.models import AuditEvent
from companion.rooms import enforcer
from companion.rooms.models import AttendanceInterval, ParticipantState, RoomEvent, RoomParticipant
from tests import care_factories
from tests.rooms.test_rooms import Person


@pytest.fixture
def fam(app, world, make_auth):
    """Casey and Sam in Chris's group; Jamie, Casey's brother, with Casey's consent to join
    family sessions; a family group session, Casey's family 1:1, and sessions Jamie may not
    join (an ordinary one, another client's family session)."""
    counselor = world.user(Role.COUNSELOR, name="Chris")
    peer = world.user(Role.PEER_SUPPORTER, name="Pat")
    casey = world.user(Role.CLIENT, name="Casey")
    sam = world.user(Role.CLIENT, name="Sam")
    robin = world.user(Role.CLIENT, name="Robin")
    guest = world.user(Role.FAMILY, name="Jamie")
    group = world.group(counselor, [casey, sam], [peer])
    link = care_factories.family_link(casey, guest, relationship="brother")
    consent = care_factories.consent(casey, guest, ["family_sessions"])
    family_group = world.session(group)
    family_one = world.session(counselor=counselor, client=casey)
    plain = world.session(group)
    robins = world.session(counselor=counselor, client=robin)
    for s in (family_group, family_one, robins):
        s.family = True
    db.session.commit()

    def person(user):
        return Person(app, user, make_auth)

    return {"counselor": counselor, "peer": peer, "casey": casey, "sam": sam, "robin": robin,
            "guest": guest, "group": group, "link": link, "consent": consent,
            "family_group": family_group, "family_one": family_one, "plain": plain,
            "robins": robins, "person": person, "make_auth": make_auth}


def _staff_in(fam, session):
    counselor = fam["person"](fam["counselor"])
    assert counselor.emit("join_session", session_id=session.id)["state"] == "joined"
    return counselor


def _admitted_guest(fam, session, counselor):
    guest = fam["person"](fam["guest"])
    ack = guest.emit("join_session", session_id=session.id)
    assert ack == {"ok": True, "state": "waiting", "seq": ack["seq"]}, ack
    assert counselor.emit("admit", session_id=session.id, user_id=fam["guest"].id)["ok"]
    assert guest.received("admitted")
    return guest


def _stored_for(user_id: int, session_id: int) -> dict[str, int]:
    return {
        "participants": db.session.query(RoomParticipant).filter_by(
            user_id=user_id, session_id=session_id).count(),
        "intervals": db.session.query(AttendanceInterval).filter_by(
            user_id=user_id, session_id=session_id).count(),
        "events": db.session.query(RoomEvent).filter_by(session_id=session_id).count(),
        "audit": db.session.query(AuditEvent).filter_by(actor_id=user_id,
                                                        record_type="room").count(),
    }


# --- the rule ---------------------------------------------------------------------------------


def test_policy_family_guest_joins_only_family_sessions_of_their_client_with_consent(fam):
    guest = fam["guest"]
    for name in ("family_group", "family_one"):
        assert policy.session_role(guest, fam[name]) == "family", name
        assert policy.can(guest, policy.Action.JOIN_SESSION, fam[name]), name
        assert policy.family_guest_of(guest, fam[name]) == fam["casey"].id
        # Never a moderator, never attendance, never a chart.
        assert not policy.can(guest, policy.Action.MODERATE_SESSION, fam[name])
        assert not policy.can(guest, policy.Action.VIEW_ATTENDANCE, fam[name])
    assert not policy.can(guest, policy.Action.READ_CLIENT_RECORD, fam["casey"].id)
    assert not policy.can(guest, policy.Action.SCHEDULE_SESSION, fam["casey"].id)
    for name in ("plain", "robins"):
        assert policy.session_role(guest, fam[name]) is None, name
        assert not policy.can(guest, policy.Action.JOIN_SESSION, fam[name]), name
    assert policy.FAMILY_ACTIONS == {policy.Action.READ_DISCLOSED, policy.Action.JOIN_SESSION,
                                     policy.Action.VIEW_MEETING}
    # Other people's roles in a family session are unchanged.
    assert policy.session_role(fam["counselor"], fam["family_group"]) == "staff"
    assert policy.session_role(fam["sam"], fam["family_group"]) == "client"
    assert policy.session_role(fam["robin"], fam["family_group"]) is None


def test_policy_refuses_without_consent_in_force_or_an_open_link(fam):
    guest, session, consent = fam["guest"], fam["family_one"], fam["consent"]
    assert policy.can(guest, policy.Action.JOIN_SESSION, session)
    consent.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    assert not policy.can(guest, policy.Action.JOIN_SESSION, session)
    consent.expires_at = clock.now() + timedelta(days=1)
    consent.revoked_at = clock.now()
    db.session.commit()
    assert not policy.can(guest, policy.Action.JOIN_SESSION, session)
    consent.revoked_at = None
    fam["link"].ended_at = clock.now()
    db.session.commit()
    assert not policy.can(guest, policy.Action.JOIN_SESSION, session)
    fam["link"].ended_at = None
    consent.categories = ["enrollment", "attendance"]  # a consent, but not to this
    db.session.commit()
    assert not policy.can(guest, policy.Action.JOIN_SESSION, session)


# --- the room ---------------------------------------------------------------------------------


def test_family_guest_waits_is_admitted_chats_and_is_audited_like_a_client(fam):
    session = fam["family_group"]
    sid = session.id
    counselor = _staff_in(fam, session)
    casey = fam["person"](fam["casey"])
    casey.emit("join_session", session_id=sid)
    assert counselor.emit("admit", session_id=sid, user_id=fam["casey"].id)["ok"]
    counselor.received()
    guest = fam["person"](fam["guest"])
    ack = guest.emit("join_session", session_id=sid)
    assert ack["ok"] and ack["state"] == "waiting"
    knocks = counselor.received("knock")  # (the payload's own "name" is the guest's)
    assert [(k["user_id"], k["name"]) for k in knocks] == [(fam["guest"].id, "Jamie")]
    # Waiting: no chat yet.
    assert guest.emit("chat", session_id=sid, id="g0", text="hello?")["error"] == "not_admitted"
    assert counselor.emit("admit", session_id=sid, user_id=fam["guest"].id)["ok"]
    assert guest.received("admitted")
    for p in (counselor, casey, guest):
        p.received()
    sent = guest.emit("chat", session_id=sid, id="g1", text="Proud of you, Casey")
    assert sent["ok"], sent
    for p in (counselor, casey, guest):
        chats = p.received("chat")
        assert [c["text"] for c in chats] == ["Proud of you, Casey"]
        assert chats[0]["from"] == {"id": fam["guest"].id, "display_name": "Jamie"}
    # Presence shows the guest like anyone in the room.
    assert guest.emit("raise_hand", session_id=sid)["ok"]
    # Audited as a client's joining and admission are.
    rows = db.session.query(AuditEvent).filter_by(record_type="room", record_id=str(sid)).all()
    assert ("join", fam["guest"].id, fam["guest"].id) in {
        (r.action, r.actor_id, r.subject_id) for r in rows}
    assert ("admit", fam["counselor"].id, fam["guest"].id) in {
        (r.action, r.actor_id, r.subject_id) for r in rows}


def test_family_guest_never_moderates_nor_sees_the_check_in_round(fam):
    session = fam["family_group"]
    sid = session.id
    counselor = _staff_in(fam, session)
    casey = fam["person"](fam["casey"])
    casey.emit("join_session", session_id=sid)
    counselor.emit("admit", session_id=sid, user_id=fam["casey"].id)
    guest = _admitted_guest(fam, session, counselor)
    for event, extra in [("mute", {"user_id": fam["casey"].id, "what": "chat"}),
                         ("remove", {"user_id": fam["casey"].id}),
                         ("lock_room", {"locked": True}), ("end_session", {}),
                         ("admit_all", {}), ("checkin_round_start", {}),
                         ("delete_chat", {"seq": 1})]:
        ack = guest.emit(event, session_id=sid, **extra)
        assert ack["ok"] is False and ack["error"] == "forbidden", event
    for p in (counselor, casey, guest):
        p.received()
    assert counselor.emit("checkin_round_start", session_id=sid)["ok"]
    assert casey.emit("checkin", session_id=sid, id="c1", mood=4, craving=7, word="shaky")["ok"]
    # The guest may not take a turn either; nothing is stored for them.
    refused = guest.emit("checkin", session_id=sid, id="g1", mood=5, craving=0, word="")
    assert refused["error"] == "forbidden"
    assert guest.emit("checkin_pass", session_id=sid, id="g2")["error"] == "forbidden"
    assert {"checkin_round", "checkin"} <= {m["name"] for m in casey.received()}
    got = guest.received()
    assert {m["name"] for m in got} & {"checkin_round", "checkin", "checkin_detail"} == set()
    assert "shaky" not in str(got)
    assert counselor.emit("checkin_round_end", session_id=sid)["ok"]
    assert all(m["name"] != "checkin_round" for m in guest.received())
    assert db.session.query(RoomEvent).filter_by(session_id=sid, kind="checkin",
                                                 actor_id=fam["guest"].id).count() == 0
    # A reconnect's replay leaves the round out too.
    guest.sio.disconnect()
    again = Person.__new__(Person)
    again.user, again.http = fam["guest"], guest.http
    again.sio = socketio.test_client(guest.http.client.application,
                                     flask_test_client=guest.http.client)
    assert again.emit("join_session", session_id=sid, last_seq=0)["state"] == "joined"
    import time

    replayed: list[dict[str, Any]] = []
    for _ in range(50):
        replayed += [m for m in again.received() if "seq" in m]
        if any(m["name"] == "admitted" for m in replayed):
            break
        time.sleep(0.02)
    assert any(m["name"] == "admitted" for m in replayed)
    assert {m["name"] for m in replayed} & {"checkin_round", "checkin"} == set()


def _make_expired(fam):
    fam["consent"].expires_at = clock.now() - timedelta(minutes=1)


def _make_revoked(fam):
    fam["consent"].revoked_at = clock.now()


def _make_ended(fam):
    fam["link"].ended_at = clock.now()


def _make_unconsented(fam):
    db.session.delete(fam["consent"])


def _make_other_category(fam):
    fam["consent"].categories = ["enrollment"]


@pytest.mark.parametrize("case,session_name", [
    ("no consent", "family_one"),
    ("consent to other things only", "family_one"),
    ("expired consent", "family_group"),
    ("revoked consent", "family_one"),
    ("ended link", "family_group"),
    ("not a family session", "plain"),
    ("another client's family session", "robins"),
])
def test_family_guest_is_refused_with_a_clear_error_and_nothing_stored(fam, case, session_name):
    change = {"no consent": _make_unconsented, "consent to other things only": _make_other_category,
              "expired consent": _make_expired, "revoked consent": _make_revoked,
              "ended link": _make_ended}.get(case)
    if change is not None:
        change(fam)
        db.session.commit()
    session = fam[session_name]
    counselor = _staff_in(fam, session)
    counselor.received()
    before = _stored_for(fam["guest"].id, session.id)
    guest = fam["person"](fam["guest"])
    ack = guest.emit("join_session", session_id=session.id)
    assert ack == {"ok": False, "error": "forbidden", "detail": "not a member of this session"}
    assert guest.received("error")[-1]["event"] == "join_session"
    for event, extra in [("chat", {"id": "x", "text": "hi"}), ("raise_hand", {}),
                         ("rtc_config", {})]:
        assert guest.emit(event, session_id=session.id, **extra)["ok"] is False, event
    assert _stored_for(fam["guest"].id, session.id) == before == {
        "participants": 0, "intervals": 0, "events": before["events"], "audit": 0}
    assert counselor.received("knock") == []


def test_revoking_the_consent_takes_the_guest_out_at_once(fam):
    session = fam["family_one"]
    sid = session.id
    counselor = _staff_in(fam, session)
    guest = _admitted_guest(fam, session, counselor)
    assert guest.emit("chat", session_id=sid, id="g1", text="hi")["ok"]
    counselor.received()
    casey = fam["make_auth"](fam["casey"])
    revoked = casey.post(f"/api/v1/consents/{fam['consent'].id}/revoke")
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    # Disconnected, told why; the room sees the removal and the presence without them.
    assert not guest.sio.is_connected()
    removed = counselor.received()
    assert any(m["name"] == "removed" and m["user_id"] == fam["guest"].id
               and m.get("reason") == "consent" for m in removed)
    presence = [m for m in removed if m["name"] == "presence"][-1]
    assert fam["guest"].id not in {p["id"] for p in presence["present"]}
    member = db.session.query(RoomParticipant).filter_by(session_id=sid,
                                                         user_id=fam["guest"].id).one()
    assert member.state == ParticipantState.REMOVED
    assert db.session.query(AttendanceInterval).filter_by(
        session_id=sid, user_id=fam["guest"].id, ended_at=None).count() == 0
    # Back with a new socket: refused, and nothing they send is stored.
    events = db.session.query(RoomEvent).filter_by(session_id=sid).count()
    back = fam["person"](fam["guest"])
    assert back.emit("join_session", session_id=sid)["error"] == "forbidden"
    assert back.emit("chat", session_id=sid, id="g2", text="still here?")["ok"] is False
    assert db.session.query(RoomEvent).filter_by(session_id=sid).count() == events
    # A new consent does not undo the removal from this session (staff would re-admit).
    care_factories.consent(fam["casey"], fam["guest"], ["family_sessions"])
    assert back.emit("join_session", session_id=sid)["error"] == "removed"


def test_ending_the_link_takes_the_guest_out_and_off_the_waiting_list(fam):
    session = fam["family_group"]
    sid = session.id
    counselor = _staff_in(fam, session)
    guest = fam["person"](fam["guest"])
    assert guest.emit("join_session", session_id=sid)["state"] == "waiting"
    counselor.received()
    casey = fam["make_auth"](fam["casey"])
    # Only the client who invited them ends it.
    assert fam["make_auth"](fam["sam"]).post(
        f"/api/v1/family/{fam['link'].id}/end").status_code == 404
    ended = casey.post(f"/api/v1/family/{fam['link'].id}/end")
    assert ended.status_code == 200 and ended.get_json()["state"] == "ended"
    assert not guest.sio.is_connected()
    waiting = [m for m in counselor.received() if m["name"] == "waiting"]
    assert waiting and waiting[-1]["waiting"] == []
    assert counselor.emit("admit", session_id=sid, user_id=fam["guest"].id)["error"] \
        == "not_waiting"
    audit = db.session.query(AuditEvent).filter_by(action="end", record_type="family_link").one()
    assert audit.actor_id == fam["casey"].id


def test_an_expiring_consent_takes_the_guest_out_on_the_next_enforcer_pass(fam):
    session = fam["family_one"]
    fam["consent"].expires_at = clock.now() + timedelta(minutes=5)
    db.session.commit()
    counselor = _staff_in(fam, session)
    guest = _admitted_guest(fam, session, counselor)
    enforcer.enforce_once()
    assert guest.sio.is_connected()
    clock.advance(timedelta(minutes=6))
    # Every event checks the rule at once...
    assert guest.emit("raise_hand", session_id=session.id)["error"] == "forbidden"
    # ...and the enforcer's pass takes the socket out of the room.
    enforcer.enforce_once()
    assert not guest.sio.is_connected()
    assert counselor.sio.is_connected()
    member = db.session.query(RoomParticipant).filter_by(session_id=session.id,
                                                         user_id=fam["guest"].id).one()
    assert member.state == ParticipantState.REMOVED


def test_a_family_guest_counts_in_no_attendance(fam):
    session = fam["family_one"]
    counselor = _staff_in(fam, session)
    casey = fam["person"](fam["casey"])
    casey.emit("join_session", session_id=session.id)
    counselor.emit("admit", session_id=session.id, user_id=fam["casey"].id)
    _admitted_guest(fam, session, counselor)
    clock.advance(timedelta(minutes=40))
    staff = fam["make_auth"](fam["counselor"])
    rows = staff.get(f"/api/v1/sessions/{session.id}/attendance").get_json()["items"]
    assert [r["client"]["id"] for r in rows] == [fam["casey"].id]
    monday = session.starts_at.astimezone(ZoneInfo("America/Chicago")).date()
    monday -= timedelta(days=monday.weekday())
    query = f"program_id={session.program_id}&week={monday.isoformat()}"
    week = staff.get(f"/api/v1/attendance/weekly?{query}").get_json()["items"]
    assert fam["guest"].id not in {w["client"]["id"] for w in week}
    csv = staff.get(f"/api/v1/attendance/weekly.csv?{query}").get_data(as_text=True)
    assert "Jamie" not in csv and "Casey" in csv


# --- the API ----------------------------------------------------------------------------------


def test_counselor_schedules_a_family_session_and_the_lists_show_it(fam):
    staff = fam["make_auth"](fam["counselor"])
    starts = clock.now() + timedelta(days=2)
    made = staff.post("/api/v1/sessions", json={
        "client_id": fam["casey"].id, "starts_at": starts.isoformat(), "duration_minutes": 90,
        "family": True})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["family"] is True and body["kind"] == "individual" and body["role"] == "staff"
    assert body["title"] == "Family session" and body["state"] == "scheduled"
    stored = db.session.get(Session, body["id"])
    assert stored.family and stored.client_id == fam["casey"].id
    assert stored.ends_at - stored.starts_at == timedelta(minutes=90)
    # A group session, not a family one, by default.
    group = staff.post("/api/v1/sessions", json={
        "group_id": fam["group"].id, "starts_at": starts.isoformat(), "title": "Extra group"})
    assert group.status_code == 201 and group.get_json()["family"] is False
    assert group.get_json()["kind"] == "group"
    # Everyone's list says family: true|false; kind stays group|individual.
    for who in ("counselor", "casey"):
        items = fam["make_auth"](fam[who]).get("/api/v1/sessions?limit=50").get_json()["items"]
        by_id = {i["id"]: i for i in items}
        assert by_id[body["id"]]["family"] is True and by_id[body["id"]]["kind"] == "individual"
        assert by_id[fam["plain"].id]["family"] is False
        assert {i["kind"] for i in items} <= {"group", "individual"}
    # The guest's list: only the family sessions they may join.
    guest = fam["make_auth"](fam["guest"])
    items = guest.get("/api/v1/sessions?limit=50").get_json()["items"]
    assert {i["id"] for i in items} == {fam["family_group"].id, fam["family_one"].id, body["id"]}
    assert {i["role"] for i in items} == {"family"} and all(i["family"] for i in items)
    fam["consent"].revoked_at = clock.now()
    db.session.commit()
    assert guest.get("/api/v1/sessions").get_json()["items"] == []
    audit = db.session.query(AuditEvent).filter_by(action="create", record_type="session",
                                                   record_id=str(body["id"])).one()
    assert audit.actor_id == fam["counselor"].id and audit.subject_id == fam["casey"].id


def test_bad_scheduling_input_is_422_naming_the_field_and_nothing_changes(fam):
    staff = fam["make_auth"](fam["counselor"])
    base = {"client_id": fam["casey"].id,
            "starts_at": (clock.now() + timedelta(hours=1)).isoformat(), "family": True}
    cases = [
        ({"family": "yes"}, "family"),
        ({"family": 1}, "family"),
        ({"family": None}, "family"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": "2030-01-01T10:00:00"}, "starts_at"),  # no offset
        ({"starts_at": (clock.now() - timedelta(hours=3)).isoformat()}, "starts_at"),
        ({"starts_at": (clock.now() + timedelta(days=400)).isoformat()}, "starts_at"),
        ({"duration_minutes": 5}, "duration_minutes"),
        ({"title": "x" * 201}, "title"),
        ({"group_id": fam["group"].id}, "client_id"),
        # Other clients of a group never consented to a guest hearing them (Part 2).
        ({"client_id": None, "group_id": fam["group"].id}, "family"),
        ({"client_id": None}, "client_id"),
        ({"colour": "blue"}, "colour"),
    ]
    before = db.session.query(Session).count()
    for change, field in cases:
        response = staff.post("/api/v1/sessions", json={**base, **change})
        assert response.status_code == 422, (change, response.get_json())
        assert response.get_json()["errors"][0]["field"] == field, change
    assert db.session.query(Session).count() == before
    # Not theirs to schedule: 404 naming the field; not a counselor: 403.
    missing = staff.post("/api/v1/sessions", json={**base, "client_id": 999_999})
    assert missing.status_code == 404 and missing.get_json()["errors"][0]["field"] == "client_id"
    assert staff.post("/api/v1/sessions", json={**base, "client_id": fam["robin"].id}
                      ).status_code == 201  # Robin has a 1:1 with Chris: treated
    before += 1
    for who in ("casey", "guest", "peer"):
        assert fam["make_auth"](fam[who]).post("/api/v1/sessions", json=base).status_code == 403
    assert db.session.query(Session).count() == before


def test_consent_form_offers_family_sessions_and_the_guest_sees_what_it_opens(fam, app):
    casey = fam["make_auth"](fam["casey"])
    categories = casey.get("/api/v1/consents").get_json()["categories"]
    assert "family_sessions" in categories and "family session" in categories["family_sessions"]
    made = casey.post("/api/v1/consents", json={
        "family_link_id": fam["link"].id, "categories": ["family_sessions", "enrollment"],
        "purpose": "So my brother can join our family sessions",
        "expires_at": (clock.now() + timedelta(days=30)).isoformat(), "signature": "Casey C"})
    assert made.status_code == 201, made.get_json()
    guest = fam["make_auth"](fam["guest"])
    shared = guest.get("/api/v1/family/clients").get_json()["items"]
    assert shared[0]["categories"] == ["enrollment", "family_sessions"]
    item = guest.get(f"/api/v1/family/clients/{fam['casey'].id}/family_sessions")
    assert item.status_code == 200
    assert {s["id"] for s in item.get_json()["data"]["upcoming"]} == {
        fam["family_group"].id, fam["family_one"].id}
