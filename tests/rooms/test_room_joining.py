"""Arriving in a live room and leaving it as people experience it: a join brings the session so
far, an ended session says so to everyone at the room and at its door, and a locked room keeps
latecomers at the door where staff see them, until unlocking lets them knock."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from companion.core.extensions import db
from companion.rooms import enforcer
from companion.rooms.models import ParticipantState, RoomParticipant
from tests.rooms import test_family_sessions, test_rooms
from tests.rooms.test_rooms import Person, _join_admitted

# The rooms' and the family sessions' fixtures.
room = test_rooms.room
fam = test_family_sessions.fam


def _until(person: Person, done: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Everything ``person`` receives until ``done(got)``, for at most ``timeout`` seconds (the
    replay runs on its own thread after the ack: late on a loaded machine)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got += person.received()
        if done(got):
            return got
        time.sleep(0.02)
    return got


def _names(got: list[dict[str, Any]]) -> list[str]:
    return [m["name"] for m in got if "seq" in m]


def _busy_session(room):
    """A session under way: Alex chatted and raised a hand, the round is open and Alex took a
    turn, Sam's chat and audio are muted. Returns (counselor, alex, sam)."""
    sid = room["session"].id
    alex_user, sam_user = room["clients"][0], room["clients"][1]
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, alex_user, counselor)
    sam = _join_admitted(room, sam_user, counselor)
    assert alex.emit("chat", session_id=sid, id="a1", text="Day 12 today")["ok"]
    assert alex.emit("raise_hand", session_id=sid)["ok"]
    assert counselor.emit("checkin_round_start", session_id=sid)["ok"]
    assert alex.emit("checkin", session_id=sid, id="c1", mood=6, craving=7, word="tired")["ok"]
    for what in ("chat", "audio"):
        assert counselor.emit("mute", session_id=sid, user_id=sam_user.id, what=what)["ok"]
    return counselor, alex, sam


def test_a_reload_brings_back_the_chat_hands_round_and_ones_own_mute(room):
    """A page reload is a new socket that sends no last_seq: it gets the session so far."""
    sid = room["session"].id
    counselor, alex, sam = _busy_session(room)
    sam.sio.disconnect()
    again = room["person"](room["clients"][1])
    ack = again.emit("join_session", session_id=sid)
    assert ack["state"] == "joined"
    got = _until(again, lambda g: any(m.get("seq") == ack["seq"] for m in g))
    replayed = [m for m in got if "seq" in m]
    assert [m["seq"] for m in replayed] == list(range(1, ack["seq"] + 1))  # whole, in order
    chats = [m for m in replayed if m["name"] == "chat"]
    assert [(c["text"], c["from"]["display_name"]) for c in chats] == [("Day 12 today", "Alex")]
    assert [m["user_id"] for m in replayed if m["name"] == "hand_raised"] == [
        room["clients"][0].id]
    assert [m["open"] for m in replayed if m["name"] == "checkin_round"] == [True]
    turns = [m for m in replayed if m["name"] == "checkin"]
    assert [t["user"]["display_name"] for t in turns] == ["Alex"]
    assert "mood" not in turns[0] and "tired" not in str(replayed)  # another client's values
    mutes = {(m["user_id"], m["what"]) for m in replayed if m["name"] == "muted"}
    assert mutes == {(room["clients"][1].id, "chat"), (room["clients"][1].id, "audio")}


def test_the_counselor_rejoining_gets_the_round_with_its_values(room):
    sid = room["session"].id
    counselor, alex, sam = _busy_session(room)
    again = room["person"](room["counselor"])
    ack = again.emit("join_session", session_id=sid)
    got = _until(again, lambda g: any(m.get("seq") == ack["seq"] for m in g))
    turns = [m for m in got if m["name"] == "checkin"]
    assert [(t["mood"], t["craving"], t["word"]) for t in turns] == [(6, 7, "tired")]


def test_a_late_joiner_admitted_from_the_waiting_room_gets_the_session_so_far(room):
    sid = room["session"].id
    counselor, alex, sam = _busy_session(room)
    jo = room["person"](room["clients"][2])
    assert jo.emit("join_session", session_id=sid)["state"] == "waiting"
    admitted = counselor.emit("admit", session_id=sid, user_id=room["clients"][2].id)
    got = _until(jo, lambda g: any(m["name"] == "chat" for m in g)
                 and any(m.get("seq") == admitted["seq"] for m in g))
    names = _names(got)
    assert {"chat", "hand_raised", "checkin_round", "checkin", "muted", "admitted"} <= set(names)
    seqs = sorted({m["seq"] for m in got if "seq" in m})
    assert seqs == list(range(1, admitted["seq"] + 1))


def test_a_late_joiner_admitted_on_another_process_gets_the_session_so_far(room):
    """Admitted by staff on another web process: this process's enforcer lets the waiting
    socket in (from the stored admission) and sends it the session so far."""
    sid = room["session"].id
    counselor, alex, sam = _busy_session(room)
    jo_user = room["clients"][2]
    jo = room["person"](jo_user)
    assert jo.emit("join_session", session_id=sid)["state"] == "waiting"
    # What the other process stored, with no socket of Jo's there to enter the room.
    seat = db.session.query(RoomParticipant).filter_by(session_id=sid, user_id=jo_user.id).one()
    seat.state = ParticipantState.ADMITTED
    db.session.commit()
    enforcer.enforce_once()
    db.session.commit()  # (as the enforcer's pass ends: the replay reads in its own context)
    got = _until(jo, lambda g: any(m["name"] == "chat" for m in g)
                 and any(m["name"] == "admitted" for m in g))
    assert "chat" in _names(got) and "checkin_round" in _names(got)
    assert jo.emit("chat", session_id=sid, id="j1", text="Hi all")["ok"]


def test_a_family_guest_joining_late_gets_the_chat_but_never_the_round(fam):
    session = fam["family_group"]
    sid = session.id
    counselor = fam["person"](fam["counselor"])
    counselor.emit("join_session", session_id=sid)
    casey = fam["person"](fam["casey"])
    casey.emit("join_session", session_id=sid)
    assert counselor.emit("admit", session_id=sid, user_id=fam["casey"].id)["ok"]
    assert casey.emit("chat", session_id=sid, id="k1", text="Glad you came")["ok"]
    assert counselor.emit("checkin_round_start", session_id=sid)["ok"]
    assert casey.emit("checkin", session_id=sid, id="c1", mood=4, craving=7, word="shaky")["ok"]
    guest = fam["person"](fam["guest"])
    assert guest.emit("join_session", session_id=sid)["state"] == "waiting"
    assert counselor.emit("admit", session_id=sid, user_id=fam["guest"].id)["ok"]
    got = _until(guest, lambda g: any(m["name"] == "chat" for m in g))
    assert [m["text"] for m in got if m["name"] == "chat"] == ["Glad you came"]
    time.sleep(0.1)
    got += guest.received()
    assert {m["name"] for m in got} & {"checkin_round", "checkin", "checkin_detail"} == set()
    assert "shaky" not in str(got)


# --- ending ---------------------------------------------------------------------------------


def test_ending_tells_the_room_and_the_waiting_room_when_it_ended(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    sam = room["person"](room["clients"][1])
    assert sam.emit("join_session", session_id=sid)["state"] == "waiting"
    for p in (counselor, alex, sam):
        p.received()
    ack = counselor.emit("end_session", session_id=sid)
    assert ack["ok"]
    for p in (counselor, alex, sam):
        ended = p.received("session_ended")
        assert len(ended) == 1, p.user.display_name
        assert ended[0]["seq"] == ack["seq"] and ended[0]["ended_at"]
    # Nobody is left in the room's channels: nothing more reaches them.
    for p in (alex, sam):
        assert p.emit("join_session", session_id=sid)["error"] == "ended"


def test_the_sessions_list_says_when_an_ended_session_ended(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    assert counselor.emit("end_session", session_id=sid)["ok"]
    alex = room["person"](room["clients"][0])
    day = room["session"].starts_at.date()
    window = f"from={day - timedelta(days=1)}&to={day + timedelta(days=1)}"
    listed = alex.http.get(f"/api/v1/sessions?{window}").get_json()["items"]
    mine = [s for s in listed if s["id"] == sid]
    assert mine and mine[0]["state"] == "ended" and mine[0]["ended_at"]
    upcoming = alex.http.get("/api/v1/sessions").get_json()["items"]
    assert all(s["ended_at"] is None for s in upcoming)


# --- locked rooms ---------------------------------------------------------------------------


def test_a_locked_room_keeps_latecomers_at_the_door_where_staff_see_them(room):
    sid = room["session"].id
    jo_user = room["clients"][2]
    counselor = _join_admitted(room, room["counselor"])
    assert counselor.emit("lock_room", session_id=sid, locked=True)["ok"]
    counselor.received()
    jo = room["person"](jo_user)
    refused = jo.emit("join_session", session_id=sid)
    assert refused["ok"] is False and refused["error"] == "locked"
    kept_out = counselor.received("kept_out")
    assert kept_out[-1]["kept_out"] == [{"id": jo_user.id, "display_name": "Jo"}]
    assert not counselor.received("knock")  # not waiting: nobody can admit through the lock
    # Trying again (a reload) keeps one entry.
    assert jo.emit("join_session", session_id=sid)["error"] == "locked"
    assert counselor.received("kept_out")[-1]["kept_out"] == [
        {"id": jo_user.id, "display_name": "Jo"}]
    # Unlocking: the door hears it, and Jo now knocks.
    jo.received()
    assert counselor.emit("lock_room", session_id=sid, locked=False)["ok"]
    unlocked = jo.received("room_locked")
    assert [u["locked"] for u in unlocked] == [False]
    got = counselor.received()
    assert [m["kept_out"] for m in got if m["name"] == "kept_out"][-1] == []
    assert [m["waiting"] for m in got if m["name"] == "waiting"][-1] == [
        {"id": jo_user.id, "display_name": "Jo"}]
    assert jo.emit("join_session", session_id=sid)["state"] == "waiting"
    assert [k["user_id"] for k in counselor.received("knock")] == [jo_user.id]
    assert counselor.emit("admit", session_id=sid, user_id=jo_user.id)["ok"]
    assert jo.received("admitted")


def test_someone_waiting_before_the_lock_still_waits_after_a_reload(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    sam = room["person"](room["clients"][1])
    assert sam.emit("join_session", session_id=sid)["state"] == "waiting"
    assert counselor.emit("lock_room", session_id=sid, locked=True)["ok"]
    sam.sio.disconnect()
    again = room["person"](room["clients"][1])
    assert again.emit("join_session", session_id=sid)["state"] == "waiting"
    # Nobody is admitted while the room is locked; once unlocked, the one waiting is.
    sam_id = room["clients"][1].id
    assert counselor.emit("admit", session_id=sid, user_id=sam_id)["error"] == "locked"
    assert counselor.emit("lock_room", session_id=sid, locked=False)["ok"]
    assert counselor.emit("admit", session_id=sid, user_id=sam_id)["ok"]


def test_ending_a_locked_session_reaches_those_kept_out(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    assert counselor.emit("lock_room", session_id=sid, locked=True)["ok"]
    jo = room["person"](room["clients"][2])
    assert jo.emit("join_session", session_id=sid)["error"] == "locked"
    jo.received()
    assert counselor.emit("end_session", session_id=sid)["ok"]
    assert len(jo.received("session_ended")) == 1


def test_outsiders_are_never_kept_out_or_listed(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    assert counselor.emit("lock_room", session_id=sid, locked=True)["ok"]
    counselor.received()
    outsider = room["person"](room["outsider"])
    assert outsider.emit("join_session", session_id=sid)["error"] == "forbidden"
    assert all(m["kept_out"] == [] for m in counselor.received("kept_out"))
    assert db.session.query(RoomParticipant).filter_by(
        session_id=sid, user_id=room["outsider"].id).count() == 0


# --- whose family ---------------------------------------------------------------------------


@pytest.mark.parametrize("locked", [False, True])
def test_staff_see_whose_family_a_guest_at_the_door_is_and_clients_do_not(fam, locked):
    session = fam["family_group"]
    sid = session.id
    counselor = fam["person"](fam["counselor"])
    counselor.emit("join_session", session_id=sid)
    casey = fam["person"](fam["casey"])
    casey.emit("join_session", session_id=sid)
    assert counselor.emit("admit", session_id=sid, user_id=fam["casey"].id)["ok"]
    if locked:
        assert counselor.emit("lock_room", session_id=sid, locked=True)["ok"]
    counselor.received()
    casey.received()
    guest = fam["person"](fam["guest"])
    guest.emit("join_session", session_id=sid)
    # (Raw: a knock's own "name" field is the person's.)
    got = [(m["name"], m["args"][0]) for m in counselor.sio.get_received()]
    listed = [body for name, body in got if name == ("kept_out" if locked else "waiting")][-1]
    entries = listed["kept_out" if locked else "waiting"]
    assert entries == [{"id": fam["guest"].id, "display_name": "Jamie", "family_of": "Casey"}]
    knocks = [body for name, body in got if name == "knock"]
    assert [(k["name"], k["family_of"]) for k in knocks] == ([] if locked else [("Jamie", "Casey")])
    assert "family_of" not in str(casey.received())
