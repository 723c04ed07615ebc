"""Live rooms through Flask-SocketIO's test client: rules, edge cases, replay, moderation."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from companion.accounts.models import Role
from companion.core import clock
from companion.core.extensions import db, socketio
from companion.rooms import connections, enforcer
from companion.rooms.models import AttendanceInterval, RoomEvent


class Person:
    """A logged-in browser: an HTTP client and a socket sharing its session cookie."""

    def __init__(self, app, user, make_auth):
        self.user = user
        self.http = make_auth(user)
        self.sio = socketio.test_client(app, flask_test_client=self.http.client)
        assert self.sio.is_connected()

    def emit(self, event: str, **payload: Any) -> Any:
        return self.send(event, payload)

    def send(self, event: str, payload: Any) -> Any:
        """Emit in a fresh app context, as a server runs each event (see RequestContextClient)."""
        from companion.core.extensions import db

        db.session.commit()
        with self.sio.app.app_context():
            return self.sio.emit(event, payload, callback=True)

    def received(self, name: str | None = None) -> list[dict[str, Any]]:
        got = self.sio.get_received()
        return [{"name": m["name"], **m["args"][0]} for m in got
                if name is None or m["name"] == name]


@pytest.fixture
def room(app, world, make_auth):
    """A group in session: counselor, peer supporter, three clients, an outsider."""
    counselor = world.user(Role.COUNSELOR, name="Chris")
    peer = world.user(Role.PEER_SUPPORTER, name="Pat")
    clients = [world.user(Role.CLIENT, name=n) for n in ("Alex", "Sam", "Jo")]
    outsider = world.user(Role.CLIENT, name="Out")
    group = world.group(counselor, clients, [peer])
    session = world.session(group)

    def person(user):
        return Person(app, user, make_auth)

    return {"session": session, "counselor": counselor, "peer": peer, "clients": clients,
            "outsider": outsider, "person": person, "group": group}


def _join_admitted(room, user, staff=None):
    """Join as ``user`` and have the counselor admit them; returns the person."""
    p = room["person"](user)
    ack = p.emit("join_session", session_id=room["session"].id)
    if ack["state"] == "waiting":
        assert staff is not None
        assert staff.emit("admit", session_id=room["session"].id, user_id=user.id)["ok"]
    return p


def test_anonymous_socket_is_refused(app):
    anon = socketio.test_client(app)
    assert not anon.is_connected()


def test_client_waits_until_admitted_and_staff_hear_the_knock(room):
    sid = room["session"].id
    counselor = room["person"](room["counselor"])
    assert counselor.emit("join_session", session_id=sid) == {"ok": True, "state": "joined",
                                                              "seq": 1}
    alex = room["person"](room["clients"][0])
    ack = alex.emit("join_session", session_id=sid)
    assert ack["ok"] and ack["state"] == "waiting"
    knock = counselor.sio.get_received()
    knock = [m["args"][0] for m in knock if m["name"] == "knock"]
    assert knock == [{"session_id": sid, "user_id": room["clients"][0].id, "name": "Alex"}]
    # Waiting clients cannot chat.
    assert alex.emit("chat", session_id=sid, id="m1", text="hi")["error"] == "not_admitted"
    alex.received()
    assert counselor.emit("admit", session_id=sid, user_id=room["clients"][0].id)["ok"]
    admitted = alex.received("admitted")
    assert admitted and admitted[0]["session_id"] == sid and admitted[0]["seq"] >= 2
    # In the room with no second join: chat works.
    assert alex.emit("chat", session_id=sid, id="m1", text="hi")["ok"]


def test_presence_and_the_waiting_list_show_names_once_per_person(room):
    sid = room["session"].id
    counselor = room["person"](room["counselor"])
    counselor.emit("join_session", session_id=sid)
    alex, sam = room["clients"][0], room["clients"][1]
    room["person"](sam).emit("join_session", session_id=sid)
    room["person"](alex).emit("join_session", session_id=sid)
    # Staff see who knocks, first come first.
    waiting = counselor.received("waiting")[-1]
    assert waiting["waiting"] == [{"id": sam.id, "display_name": "Sam"},
                                  {"id": alex.id, "display_name": "Alex"}]
    assert counselor.emit("admit", session_id=sid, user_id=alex.id)["ok"]
    # Alex on a second device: still one entry, by name, with the link.
    second = room["person"](alex)
    assert second.emit("join_session", session_id=sid)["state"] == "joined"
    got = counselor.received()
    presence = [m for m in got if m["name"] == "presence"][-1]
    assert presence["present"] == [
        {"id": alex.id, "display_name": "Alex", "link": "chat_only"},
        {"id": room["counselor"].id, "display_name": "Chris", "link": "chat_only",
         "staff": "counselor", "lead": True},
    ]
    waiting = [m for m in got if m["name"] == "waiting"][-1]
    assert waiting["waiting"] == [{"id": sam.id, "display_name": "Sam"}]


def test_chat_reaches_everyone_once_and_retries_are_not_stored_twice(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    sam = _join_admitted(room, room["clients"][1], counselor)
    for p in (counselor, alex, sam):
        p.received()
    msg_id = str(uuid.uuid4())
    first = alex.emit("chat", session_id=sid, id=msg_id, text="Day 12 today")
    retry = alex.emit("chat", session_id=sid, id=msg_id, text="Day 12 today")
    assert first["ok"] and retry == first
    for p in (counselor, alex, sam):
        chats = p.received("chat")
        assert len(chats) == 1
        assert chats[0]["text"] == "Day 12 today" and chats[0]["id"] == msg_id
        assert chats[0]["from"] == {"id": room["clients"][0].id, "display_name": "Alex"}
        assert chats[0]["seq"] == first["seq"] and chats[0]["sent_at"]
    from companion.core.extensions import db

    assert db.session.query(RoomEvent).filter_by(kind="chat").count() == 1


def test_outsiders_cannot_join_or_send(room):
    sid = room["session"].id
    outsider = room["person"](room["outsider"])
    assert outsider.emit("join_session", session_id=sid)["error"] == "forbidden"
    assert outsider.emit("chat", session_id=sid, id="x", text="hello")["error"] == "forbidden"
    assert outsider.emit("admit", session_id=sid, user_id=room["clients"][0].id)["error"] \
        == "forbidden"


def test_clients_cannot_moderate(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    sam_id = room["clients"][1].id
    for event, extra in [("mute", {"user_id": sam_id, "what": "chat"}),
                         ("remove", {"user_id": sam_id}), ("lock_room", {"locked": True}),
                         ("end_session", {}), ("delete_chat", {"seq": 1}),
                         ("admit_all", {}), ("checkin_round_start", {})]:
        ack = alex.emit(event, session_id=sid, **extra)
        assert ack["ok"] is False and ack["error"] == "forbidden", event


def test_peer_supporter_moderates(room):
    sid = room["session"].id
    peer = room["person"](room["peer"])
    assert peer.emit("join_session", session_id=sid)["state"] == "joined"
    alex = room["person"](room["clients"][0])
    alex.emit("join_session", session_id=sid)
    assert peer.received("knock")
    assert peer.emit("admit_all", session_id=sid)["ok"]
    alex.received()
    assert peer.emit("mute", session_id=sid, user_id=room["clients"][0].id, what="chat")["ok"]
    assert alex.emit("chat", session_id=sid, id="a", text="hi")["error"] == "muted"
    assert peer.emit("unmute", session_id=sid, user_id=room["clients"][0].id, what="chat")["ok"]
    assert alex.emit("chat", session_id=sid, id="a", text="hi")["ok"]


def test_refused_chats_name_the_reason_and_store_nothing(room):
    """The chat path checks its rules in the statement that numbers the event: each refusal
    still says why, and neither a row nor a sequence number is used up."""
    from companion.clinic.models import Session
    from companion.core.extensions import db

    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    outsider = room["person"](room["outsider"])

    def stored() -> tuple[int, int]:
        db.session.expire_all()
        return (db.session.get(Session, sid).last_seq,
                db.session.query(RoomEvent).filter_by(session_id=sid, kind="chat").count())

    before = stored()
    assert outsider.emit("chat", session_id=sid, id="o", text="hi")["error"] == "forbidden"
    assert alex.emit("chat", session_id=sid + 999, id="n", text="hi")["error"] == "not_found"
    assert counselor.emit("mute", session_id=sid, user_id=room["clients"][0].id,
                          what="chat")["ok"]
    before = stored()
    assert alex.emit("chat", session_id=sid, id="m", text="hi")["error"] == "muted"
    assert stored() == before
    counselor.emit("unmute", session_id=sid, user_id=room["clients"][0].id, what="chat")
    # The session's end time passes with nobody pressing "end": chat stops all the same.
    session = db.session.get(Session, sid)
    session.ends_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    before = stored()
    assert alex.emit("chat", session_id=sid, id="late", text="hi")["error"] == "ended"
    assert stored() == before


def test_invalid_payloads_get_clear_errors_and_do_not_crash(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    cases = [
        ("chat", {"session_id": sid, "id": "x"}, "text"),
        ("chat", {"session_id": sid, "id": "x", "text": "y" * 5000}, "text"),
        ("chat", {"session_id": "abc", "id": "x", "text": "hi"}, "session_id"),
        ("mute", {"session_id": sid, "user_id": 1, "what": "everything"}, "what"),
        ("join_session", {"session_id": sid, "last_seq": -1}, "last_seq"),
        ("checkin", {"session_id": sid, "id": "c", "mood": 11, "craving": 2}, "mood"),
        ("chat", {"session_id": sid, "id": "x", "text": "hi\x00there"}, "text"),
    ]
    counselor.received()
    for event, payload, field in cases:
        ack = counselor.send(event, payload)
        assert ack["ok"] is False and ack["error"] == "invalid" and ack["field"] == field, event
        errors = counselor.received("error")
        assert errors[-1]["event"] == event and errors[-1]["field"] == field
    # Not a dict at all.
    assert counselor.send("chat", "hello")["error"] == "invalid"
    assert counselor.emit("join_session", session_id=999999)["error"] == "not_found"
    assert counselor.sio.is_connected()


def test_reconnect_replays_missed_events_in_order_and_is_not_sent_back_to_waiting(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    alex_seq = alex.emit("chat", session_id=sid, id="a1", text="before")["seq"]
    alex.sio.disconnect()
    for i in range(3):
        counselor.emit("chat", session_id=sid, id=f"c{i}", text=f"missed {i}")
    counselor.emit("raise_hand", session_id=sid)
    again = Person.__new__(Person)
    again.user = room["clients"][0]
    again.http = alex.http
    again.sio = socketio.test_client(alex.http.client.application,
                                     flask_test_client=alex.http.client)
    ack = again.emit("join_session", session_id=sid, last_seq=alex_seq)
    assert ack["state"] == "joined"  # admitted earlier: straight back in
    import time

    got: list[dict[str, Any]] = []
    for _ in range(50):  # the replay runs right after the ack
        got += [m for m in again.received() if "seq" in m and m["seq"] > alex_seq]
        if len(got) >= 4:
            break
        time.sleep(0.05)
    assert [m["name"] for m in got] == ["chat", "chat", "chat", "hand_raised"]
    assert [m["text"] for m in got[:3]] == ["missed 0", "missed 1", "missed 2"]
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)


def test_joining_again_on_the_same_socket_only_replays(room):
    """What a client does on `resync` (docs/realtime.md): the missed events come again, in
    order, but the person is not entered twice (one attendance interval, no new presence)."""
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    held = alex.emit("chat", session_id=sid, id="a1", text="held")["seq"]
    counselor.emit("chat", session_id=sid, id="c1", text="missed")
    alex.received()
    counselor.received()
    ack = alex.emit("join_session", session_id=sid, last_seq=held)
    assert ack == {"ok": True, "state": "joined", "seq": held + 1}
    import time

    got: list[dict[str, Any]] = []
    for _ in range(50):  # the replay runs right after the ack
        got += alex.received("chat")
        if got:
            break
        time.sleep(0.05)
    assert [(m["seq"], m["text"]) for m in got] == [(held + 1, "missed")]
    assert not counselor.received("presence")
    open_intervals = db.session.query(AttendanceInterval).filter_by(
        session_id=sid, user_id=room["clients"][0].id, ended_at=None).count()
    assert open_intervals == 1


def test_hands_queue_in_order_and_the_moderator_clears_them(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    sam = _join_admitted(room, room["clients"][1], counselor)
    assert alex.emit("raise_hand", session_id=sid)["queue"] == [room["clients"][0].id]
    assert sam.emit("raise_hand", session_id=sid)["queue"] == [room["clients"][0].id,
                                                               room["clients"][1].id]
    assert alex.emit("lower_hand", session_id=sid, user_id=room["clients"][1].id)["error"] \
        == "forbidden"
    ack = counselor.emit("lower_hand", session_id=sid, user_id=room["clients"][0].id)
    assert ack["queue"] == [room["clients"][1].id]


def test_checkin_round_values_reach_only_the_counselor_and_the_author(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    peer = _join_admitted(room, room["peer"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    sam = _join_admitted(room, room["clients"][1], counselor)
    assert alex.emit("checkin", session_id=sid, id="c1", mood=5, craving=3)["error"] == "no_round"
    assert counselor.emit("checkin_round_start", session_id=sid)["ok"]
    for p in (counselor, peer, alex, sam):
        p.received()
    ack = alex.emit("checkin", session_id=sid, id="c1", mood=6, craving=7, word="tired")
    assert ack["ok"]
    assert alex.emit("checkin", session_id=sid, id="c1", mood=6, craving=7, word="tired") == ack
    assert sam.emit("checkin_pass", session_id=sid, id="p1")["ok"]
    detail = counselor.received("checkin_detail")
    assert [(d["user"]["display_name"], d.get("mood"), d.get("craving"), d.get("word"),
             d["passed"]) for d in detail] == [("Alex", 6, 7, "tired", False),
                                                ("Sam", None, None, None, True)]
    for p in (peer, sam):
        public = p.received("checkin")
        assert [c["user"]["display_name"] for c in public] == ["Alex", "Sam"]
        assert all("mood" not in c and "craving" not in c for c in public)
        assert not p.received("checkin_detail")


def test_remove_takes_the_participant_out_at_once(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    sam = _join_admitted(room, room["clients"][1], counselor)
    assert counselor.emit("remove", session_id=sid, user_id=room["clients"][0].id)["ok"]
    assert alex.received("removed")
    sam.received()
    counselor.emit("chat", session_id=sid, id="after", text="after removal")
    assert not alex.received("chat")
    assert sam.received("chat")
    assert alex.emit("chat", session_id=sid, id="x", text="still here?")["error"] == "removed"
    # And cannot come back.
    assert alex.emit("join_session", session_id=sid)["error"] == "removed"
    from companion.core.extensions import db

    open_for_alex = db.session.query(AttendanceInterval).filter_by(
        user_id=room["clients"][0].id, ended_at=None).count()
    assert open_for_alex == 0


def test_locked_room_admits_nobody_new(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    assert counselor.emit("lock_room", session_id=sid, locked=True)["ok"]
    jo = room["person"](room["clients"][2])
    assert jo.emit("join_session", session_id=sid)["error"] == "locked"
    counselor.emit("lock_room", session_id=sid, locked=False)
    assert jo.emit("join_session", session_id=sid)["state"] == "waiting"


def test_end_session_closes_the_room(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    assert counselor.emit("end_session", session_id=sid)["ok"]
    assert alex.received("session_ended")
    assert alex.emit("chat", session_id=sid, id="late", text="bye")["error"] in ("ended",
                                                                             "not_admitted")
    assert alex.emit("join_session", session_id=sid)["error"] == "ended"


def test_delete_chat_erases_the_text(room):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    seq = alex.emit("chat", session_id=sid, id="oops", text="my full name is...")["seq"]
    alex.received()
    assert counselor.emit("delete_chat", session_id=sid, seq=seq)["ok"]
    assert alex.received("chat_deleted")[0]["deleted_seq"] == seq
    from companion.core.extensions import db

    stored = db.session.query(RoomEvent).filter_by(session_id=sid, seq=seq).one()
    assert "full name" not in str(stored.payload)


def test_logout_disconnects_that_users_sockets(room):
    alex = room["person"](room["clients"][0])
    assert alex.sio.is_connected()
    assert alex.http.post("/api/v1/auth/logout").status_code == 204
    assert not alex.sio.is_connected()


def test_idle_timeout_disconnects_sockets(room, app):
    alex = room["person"](room["clients"][0])
    clock.advance(timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] + 1))
    enforcer.enforce_once()
    assert not alex.sio.is_connected()


def test_room_not_open_before_fifteen_minutes(room, world, make_auth, app):
    later = world.session(room["group"], starts_in=timedelta(hours=3))
    alex = room["person"](room["clients"][0])
    assert alex.emit("join_session", session_id=later.id)["error"] == "not_open"
    clock.advance(timedelta(hours=2, minutes=46))
    assert alex.emit("join_session", session_id=later.id)["state"] == "waiting"


def test_rate_limit_per_socket(room, monkeypatch):
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    # Freeze the bucket's clock: no refill, so the burst allowance is all there is.
    frozen = connections.time.monotonic()
    monkeypatch.setattr(connections.time, "monotonic", lambda: frozen)
    acks = [counselor.emit("chat", session_id=sid, id=f"r{i}", text="x") for i in range(25)]
    # 20 tokens, one spent on join_session.
    assert [a["ok"] for a in acks] == [True] * 19 + [False] * 6
    assert {a["error"] for a in acks[19:]} == {"rate_limited"}
    monkeypatch.setattr(connections.time, "monotonic", lambda: frozen + 1)
    assert counselor.emit("chat", session_id=sid, id="later", text="x")["ok"]


def test_attendance_interval_opens_on_join_and_closes_on_disconnect(room):
    from companion.core.extensions import db

    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    intervals = db.session.query(AttendanceInterval).filter_by(user_id=room["clients"][0].id)
    assert intervals.one().ended_at is None
    alex.sio.disconnect()
    db.session.expire_all()
    assert intervals.one().ended_at is not None


def test_chat_is_erased_when_the_programs_retention_runs_out(room, world):
    from companion.core.extensions import db
    from companion.rooms import chat as room_chat

    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    counselor.emit("chat", session_id=sid, id="keep?", text="said in the group")
    counselor.emit("raise_hand", session_id=sid)
    assert counselor.emit("end_session", session_id=sid)["ok"]
    clock.advance(timedelta(hours=world.program.chat_retention_hours - 1))
    assert room_chat.purge_expired_chat() == 0
    clock.advance(timedelta(hours=2))
    assert room_chat.purge_expired_chat() == 1
    kinds = [e.kind for e in db.session.query(RoomEvent).filter_by(session_id=sid)]
    assert "chat" not in kinds and "hand_raised" in kinds  # only chat text goes
