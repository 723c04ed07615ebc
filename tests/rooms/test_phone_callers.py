"""A caller on the phone in a live room (companion/rooms/phone.py), seen from the counselor's
socket: the knock and the waiting room marked "phone", admission as anyone's, presence and
attendance of modality phone, hands, the caller's own mute against a moderator's, removal and
the end, a dropped call that calls back. Every row audited from the phone channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from companion.core import clock
from companion.core.extensions import db
from companion.core.models import AuditEvent
from companion.rooms import phone
from companion.rooms.models import AttendanceInterval, Modality
from tests.rooms.test_rooms import room  # noqa: F401


@pytest.fixture
def counselor(room):  # noqa: F811
    chris = room["person"](room["counselor"])
    assert chris.emit("join_session", session_id=room["session"].id)["state"] == "joined"
    chris.received()
    return chris


def _in_the_room_by_phone(room, counselor):  # noqa: F811
    """The session's first client called in, knocked, was admitted and is in the room."""
    sid, alex = room["session"].id, room["clients"][0]
    phone.knock_by_phone(sid, alex.id)
    counselor.emit("admit", session_id=sid, user_id=alex.id)
    phone.enter_by_phone(sid, alex.id)
    counselor.received()
    return sid, alex


def _events(person):
    """What a socket received, as (event name, payload): a knock's own "name" is the caller's."""
    return [(m["name"], m["args"][0]) for m in person.sio.get_received()]


def _last(events, name):
    if events and isinstance(events[0], dict):
        events = [(e["name"], e) for e in events]
    found = [payload for event, payload in events if event == name]
    assert found, (name, [event for event, _ in events])
    return found[-1]


def test_a_caller_knocks_waits_is_admitted_and_is_present_by_phone(room, counselor):  # noqa: F811
    sid, alex = room["session"].id, room["clients"][0]
    knocked = phone.knock_by_phone(sid, alex.id)
    assert knocked.state == "waiting"
    got = _events(counselor)
    assert _last(got, "knock") == {"session_id": sid, "user_id": alex.id, "name": "Alex",
                                   "link": "phone"}
    assert _last(got, "waiting")["waiting"] == [{"id": alex.id, "display_name": "Alex",
                                                 "link": "phone"}]
    assert phone.admission_of(sid, alex.id) == "waiting"
    # The counselor admits them as anyone: nothing for phone callers on their side.
    assert counselor.emit("admit", session_id=sid, user_id=alex.id)["ok"]
    assert phone.admission_of(sid, alex.id) == "admitted"
    counselor.received()
    phone.enter_by_phone(sid, alex.id)
    present = _last(counselor.received(), "presence")["present"]
    assert {"id": alex.id, "display_name": "Alex", "link": "phone"} in present
    [interval] = db.session.scalars(select(AttendanceInterval).where(
        AttendanceInterval.user_id == alex.id))
    assert (interval.modality, interval.ended_at) == (Modality.PHONE, None)
    assert "555" not in interval.connection_id  # never a number
    phone.enter_by_phone(sid, alex.id)  # the engine may say it twice: still one stay
    assert len(list(db.session.scalars(select(AttendanceInterval).where(
        AttendanceInterval.user_id == alex.id)))) == 1
    # The session's attendance, as the counselor reads it.
    rows = counselor.http.get(f"/api/v1/sessions/{sid}/attendance").get_json()["items"]
    assert [(r["client"]["display_name"], r["modality"]) for r in rows] == [("Alex", "phone")]
    joined = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "join", AuditEvent.subject_id == alex.id)).one()
    assert (joined.actor_id, joined.channel, joined.ip) == (alex.id, "phone", None)


def test_a_caller_raises_a_hand_and_mutes_but_never_lifts_a_moderators_mute(
        room, counselor):  # noqa: F811
    sid, alex = _in_the_room_by_phone(room, counselor)
    assert phone.hand_by_phone(sid, alex.id, True) == [alex.id]
    raised = _last(counselor.received(), "hand_raised")
    assert (raised["user_id"], raised["user"]["display_name"]) == (alex.id, "Alex")
    assert phone.hand_by_phone(sid, alex.id, False) == []
    assert _last(counselor.received(), "hand_lowered")["user_id"] == alex.id
    # Raised again and lowered by the moderator: the engine reads it and tells the call flow.
    phone.hand_by_phone(sid, alex.id, True)
    assert phone.hand_raised(sid, alex.id) is True
    assert counselor.emit("lower_hand", session_id=sid, user_id=alex.id)["ok"]
    assert phone.hand_raised(sid, alex.id) is False
    phone.mute_self_by_phone(sid, alex.id, True)
    phone.mute_self_by_phone(sid, alex.id, False)
    assert phone.muted_by_staff(sid, alex.id) is False
    assert counselor.emit("mute", session_id=sid, user_id=alex.id, what="audio")["ok"]
    assert phone.muted_by_staff(sid, alex.id) is True
    with pytest.raises(phone.RoomError) as refused:
        phone.mute_self_by_phone(sid, alex.id, False)
    assert refused.value.code == "muted_by_staff"
    phone.mute_self_by_phone(sid, alex.id, True)  # muting oneself more is fine
    assert counselor.emit("unmute", session_id=sid, user_id=alex.id, what="audio")["ok"]
    phone.mute_self_by_phone(sid, alex.id, False)


def test_removal_and_the_end_tell_the_engine_to_hang_up(room, counselor):  # noqa: F811
    sid = room["session"].id
    alex, sam = room["clients"][0], room["clients"][1]
    for client in (alex, sam):
        phone.knock_by_phone(sid, client.id)
        counselor.emit("admit", session_id=sid, user_id=client.id)
        phone.enter_by_phone(sid, client.id)
    assert counselor.emit("remove", session_id=sid, user_id=alex.id)["ok"]
    assert phone.admission_of(sid, alex.id) == "removed"
    present = _last(counselor.received(), "presence")["present"]
    assert alex.id not in {p["id"] for p in present}
    with pytest.raises(phone.RoomError) as again:
        phone.knock_by_phone(sid, alex.id)
    assert again.value.code == "removed"
    assert counselor.emit("end_session", session_id=sid)["ok"]
    assert phone.admission_of(sid, sam.id) == "ended"
    assert db.session.scalars(select(AttendanceInterval).where(
        AttendanceInterval.ended_at.is_(None))).all() == []
    assert phone.admission_of(999_999, sam.id) == "ended"


def test_a_dropped_call_that_calls_back_is_one_stay_and_skips_the_waiting_room(
        room, counselor):  # noqa: F811
    sid, alex = _in_the_room_by_phone(room, counselor)
    clock.advance(timedelta(minutes=10))
    phone.leave_by_phone(sid, alex.id)
    present = _last(counselor.received(), "presence")["present"]
    assert alex.id not in {p["id"] for p in present}
    clock.advance(timedelta(minutes=2))
    assert phone.knock_by_phone(sid, alex.id).state == "joined"  # admitted already
    assert "knock" not in {name for name, _ in _events(counselor)}
    assert phone.admission_of(sid, alex.id) == "admitted"
    phone.enter_by_phone(sid, alex.id)
    clock.advance(timedelta(minutes=5))
    rows = counselor.http.get(f"/api/v1/sessions/{sid}/attendance").get_json()["items"]
    assert [(r["modality"], r["minutes"]) for r in rows] == [("phone", 17)]


def test_a_caller_who_hangs_up_at_the_door_leaves_it(room, counselor):  # noqa: F811
    sid, alex, sam = room["session"].id, room["clients"][0], room["clients"][1]
    phone.knock_by_phone(sid, alex.id)
    phone.knock_by_phone(sid, sam.id)
    counselor.received()
    phone.leave_by_phone(sid, alex.id)  # Alex hung up before anyone let them in
    assert _last(counselor.received(), "waiting")["waiting"] == [
        {"id": sam.id, "display_name": "Sam", "link": "phone"}]
    answer = counselor.emit("admit", session_id=sid, user_id=alex.id)
    assert not answer["ok"] and answer["error"] == "not_waiting"
    assert phone.knock_by_phone(sid, alex.id).state == "waiting"  # calling again: the door


def test_a_locked_room_keeps_a_caller_at_the_door_where_staff_see_them(
        room, counselor):  # noqa: F811
    sid, alex = room["session"].id, room["clients"][0]
    assert counselor.emit("lock_room", session_id=sid, locked=True)["ok"]
    counselor.received()
    assert phone.knock_by_phone(sid, alex.id).state == "kept_out"
    assert _last(counselor.received(), "kept_out")["kept_out"] == [
        {"id": alex.id, "display_name": "Alex", "link": "phone"}]
    assert phone.admission_of(sid, alex.id) == "waiting"
    assert counselor.emit("lock_room", session_id=sid, locked=False)["ok"]
    assert _last(counselor.received(), "waiting")["waiting"] == [
        {"id": alex.id, "display_name": "Alex", "link": "phone"}]


def test_only_the_sessions_clients_knock_and_only_the_admitted_act(room, counselor):  # noqa: F811
    sid = room["session"].id
    with pytest.raises(phone.RoomError) as outsider:
        phone.knock_by_phone(sid, room["outsider"].id)
    assert outsider.value.code == "forbidden"
    alex = room["clients"][0]
    phone.knock_by_phone(sid, alex.id)
    for act in (lambda: phone.enter_by_phone(sid, alex.id),
                lambda: phone.hand_by_phone(sid, alex.id, True),
                lambda: phone.mute_self_by_phone(sid, alex.id, True)):
        with pytest.raises(phone.RoomError) as waiting:
            act()
        assert waiting.value.code == "not_admitted"
    assert not db.session().in_transaction()  # a refusal leaves nothing open
