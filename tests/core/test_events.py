"""The event funnel (core/events.py): events leave with their transaction's commit, never with a
rollback; every event has a payload model, and what real flows send fits it; nothing emits
around the funnel."""

from __future__ import annotations

import ast
import functools
import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from companion.accounts.models import LoginSession, Role, User
from companion.core import event_schemas, events
from companion.core.event_schemas import EventPayloadError
from companion.core.extensions import db, socketio
from companion.rooms import wire
from tests.rooms.test_rooms import _join_admitted, room  # noqa: F401

COMPANION = Path(__file__).resolve().parents[2] / "companion"
NOTICE = "admitted_notice"  # a small registered event to publish in these tests


@pytest.fixture
def listener(app, world, make_auth):
    """A logged-in socket (its user's room hears what is published to it), and its user's id.
    The test's own session holds no transaction after this (on SQLite, no write lock)."""
    user = world.user(Role.CLIENT, name="Lee")
    sio = socketio.test_client(app, flask_test_client=make_auth(user).client)
    assert sio.is_connected()
    sio.get_received()
    user_id = user.id
    db.session.commit()
    return user_id, sio


def _heard(sio: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(m["name"], m["args"][0]) for m in sio.get_received()]


def _rename(user_id: int, name: str) -> None:
    db.session.execute(update(User).where(User.id == user_id).values(display_name=name))


def _name_of(user_id: int) -> str:
    db.session.expire_all()
    return db.session.scalar(select(User.display_name).where(User.id == user_id)) or ""


# --- after the commit, never after a rollback ----------------------------------------------


def test_an_event_published_then_rolled_back_is_never_sent(app, listener):
    user_id, sio = listener
    with app.app_context():
        _rename(user_id, "Renamed")
        events.publish([events.user_room(user_id)], NOTICE, {"session_id": 1})
        db.session.rollback()
        db.session.commit()  # a later commit does not bring it back
    assert _heard(sio) == []
    assert _name_of(user_id) == "Lee"


def test_an_event_published_then_committed_is_sent_once_after_the_commit(app, listener):
    user_id, sio = listener
    with app.app_context():
        _rename(user_id, "Renamed")
        events.publish([events.user_room(user_id)], NOTICE, {"session_id": 1})
        assert _heard(sio) == []  # not before the commit
        db.session.commit()
        assert _heard(sio) == [(NOTICE, {"session_id": 1})]
        db.session.commit()
    assert _heard(sio) == []  # once
    assert _name_of(user_id) == "Renamed"


def test_events_go_in_the_order_published(app, listener):
    user_id, sio = listener
    with app.app_context():
        _rename(user_id, "Renamed")
        for n in (1, 2, 3):
            events.publish([events.user_room(user_id)], NOTICE, {"session_id": n})
        db.session.commit()
    assert [body["session_id"] for _, body in _heard(sio)] == [1, 2, 3]


def test_a_savepoint_rolled_back_drops_only_what_it_published(app, listener):
    user_id, sio = listener
    to = [events.user_room(user_id)]
    with app.app_context():
        _rename(user_id, "Renamed")
        events.publish(to, NOTICE, {"session_id": 1})
        savepoint = db.session.begin_nested()
        events.publish(to, NOTICE, {"session_id": 2})
        savepoint.rollback()
        with db.session.begin_nested():  # released: its event waits for the outer commit
            events.publish(to, NOTICE, {"session_id": 3})
        assert _heard(sio) == []
        db.session.commit()
    assert [body["session_id"] for _, body in _heard(sio)] == [1, 3]


def test_a_transaction_closed_without_a_commit_sends_nothing_and_says_so(app, listener, caplog):
    user_id, sio = listener
    with app.app_context():
        _rename(user_id, "Renamed")
        events.publish([events.user_room(user_id)], NOTICE, {"session_id": 1})
        db.session.remove()  # what the end of a request does
    assert _heard(sio) == []
    lost = [r for r in caplog.records if r.name == "companion.core.events"]
    assert [r.getMessage() for r in lost] == [
        "1 event(s) never sent (admitted_notice): their transaction ended without a commit"]
    caplog.clear()  # this test's own loss (tests/conftest.py fails any other)


def test_published_with_no_transaction_open_it_goes_at_once(app, listener):
    user_id, sio = listener
    with app.app_context():
        assert not db.session().in_transaction()
        events.publish([events.user_room(user_id)], NOTICE, {"session_id": 1})
        assert _heard(sio) == [(NOTICE, {"session_id": 1})]


def test_send_now_goes_at_once_whatever_transaction_is_open(app, listener):
    user_id, sio = listener
    with app.app_context():
        _rename(user_id, "Renamed")
        events.send_now([events.user_room(user_id)], NOTICE, {"session_id": 1})
        assert _heard(sio) == [(NOTICE, {"session_id": 1})]
        db.session.rollback()
    assert _heard(sio) == []


def test_each_thread_sends_only_what_its_own_transaction_published(app, listener):
    """Socket handlers run on threads (greenlets under gevent), each with a session of its own:
    one's commit never sends, nor one's rollback drops, what another published."""
    user_id, sio = listener
    to = [events.user_room(user_id)]
    published, committed = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def other() -> None:
        try:
            with app.app_context():
                db.session.begin()  # a transaction that has not touched the database yet
                events.publish(to, NOTICE, {"session_id": 2})
                published.set()
                committed.wait(5)
                db.session.rollback()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)
            published.set()

    thread = threading.Thread(target=other)
    thread.start()
    assert published.wait(5)
    with app.app_context():
        db.session.begin()  # (on SQLite, a statement would wait for the other's write lock)
        events.publish(to, NOTICE, {"session_id": 1})
        db.session.commit()
    committed.set()
    thread.join(5)
    assert not failures
    assert _heard(sio) == [(NOTICE, {"session_id": 1})]


def test_a_socket_in_several_recipient_rooms_hears_an_event_once(app, listener):
    user_id, sio = listener
    login_id = db.session.scalar(select(LoginSession.id).where(LoginSession.user_id == user_id))
    assert login_id is not None
    db.session.commit()
    with app.app_context():
        events.publish([events.user_room(user_id), events.login_room(login_id),
                        events.user_room(user_id)], NOTICE, {"session_id": 1})
    assert _heard(sio) == [(NOTICE, {"session_id": 1})]


def test_recipients_are_a_list_of_rooms():
    with pytest.raises(TypeError):
        events.publish(events.user_room(1), NOTICE, {"session_id": 1})  # type: ignore[arg-type]


# --- payloads have models --------------------------------------------------------------------


def test_a_payload_its_model_refuses_is_an_error_while_testing(app):
    to = [events.user_room(1)]
    with pytest.raises(EventPayloadError, match="no payload model"):
        events.publish(to, "no_such_event", {})
    with pytest.raises(EventPayloadError, match="extra"):
        events.publish(to, NOTICE, {"session_id": 1, "mood": 3})  # a field nobody declared
    with pytest.raises(EventPayloadError, match="session_id"):
        events.send_now(to, NOTICE, {"session_id": "1"})  # strict: no number in a string
    with pytest.raises(EventPayloadError, match="not JSON"):
        events.publish(to, "session_ended", {"session_id": 1, "seq": 2,
                                               "ended_at": datetime.now(UTC)})


@functools.cache
def _trees() -> tuple[tuple[Path, ast.Module], ...]:
    return tuple((path, ast.parse(path.read_text(), str(path)))
                 for path in sorted(COMPANION.rglob("*.py")))


def _calls_to(names: set[str]) -> list[tuple[Path, ast.Call]]:
    found = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in names:
                found.append((path, node))
    return found


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def test_every_event_name_in_the_code_has_a_payload_model(app):
    """Names written at the call sites, and those chosen at run time: a stored event's name
    (wire.EVENT_NAMES), the door's two lists, a disconnect's reason."""
    named = {_literal(call.args[1]) for _, call in _calls_to({"publish", "send_now"})
             if len(call.args) >= 3}
    named |= {_literal(call.args[1]) for _, call in _calls_to({"disconnect"})
              if len(call.args) == 2}
    named.discard(None)
    named |= set(wire.EVENT_NAMES.values()) | {"waiting", "kept_out"}
    assert named - event_schemas.event_names() == set()
    assert {"chat", "alert", "error", "presence", "rtc_slots"} <= named


def test_every_payload_model_is_for_an_event_the_code_sends(app):
    """No model outlives its event: each registered name is written somewhere in the code."""
    written: set[str] = set()
    for path, tree in _trees():
        if path.name == "event_payloads.py":
            continue
        written |= {node.value for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert event_schemas.event_names() - written == set()


def test_every_payload_model_has_a_json_schema(app):
    schemas = event_schemas.json_schemas()
    assert set(schemas) == event_schemas.event_names()
    assert "from" in schemas["chat"]["properties"]
    assert schemas["chat"]["additionalProperties"] is False


def test_nothing_emits_around_the_funnel():
    """Every Socket.IO event goes through core/events.py: no emit (nor send) anywhere else."""
    raw = re.compile(r"socketio\.emit\(|\.server\.emit\(|\bsocketio\.send\(|"
                     r"from flask_socketio import[^\n]*\b(emit|send)\b")
    offenders = [f"{path.relative_to(COMPANION)}:{n}"
                 for path in sorted(COMPANION.rglob("*.py")) if path.name != "events.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if raw.search(line)]
    assert offenders == []


def test_room_names_are_built_only_in_the_funnel():
    """Rooms joined, left or sent to are made by core/events.py's builders, never written out
    where they are used (mypy's ``Room`` type keeps raw strings out of publish and send_now)."""

    def written(node: ast.expr) -> bool:
        return isinstance(node, ast.JoinedStr | ast.Constant | ast.BinOp)

    offenders = []
    for path, call in _calls_to({"join_room", "leave_room", "publish", "send_now"}):
        if path.name == "events.py" or not call.args:
            continue
        target = call.args[0]
        rooms = target.elts if isinstance(target, ast.List | ast.Tuple | ast.Set) else [target]
        if any(written(name) for name in rooms):
            offenders.append(f"{path.relative_to(COMPANION)}:{call.lineno}")
    assert offenders == []


# --- what real flows send fits the models ---------------------------------------------------


def _validate_all(received: list[tuple[str, dict[str, Any]]]) -> set[str]:
    for name, body in received:
        event_schemas.validate(name, body)
    return {name for name, _ in received}


def test_what_a_whole_session_sends_fits_the_models(room, app, make_auth):  # noqa: F811
    sid = room["session"].id
    alex_user, sam_user, jo_user = room["clients"]
    counselor = _join_admitted(room, room["counselor"])
    peer = _join_admitted(room, room["peer"])
    alex = _join_admitted(room, alex_user, counselor)
    sam = _join_admitted(room, sam_user, counselor)
    msg = str(uuid.uuid4())
    assert alex.emit("chat", session_id=sid, id=msg, text="Day 12")["ok"]
    assert alex.emit("chat", session_id=sid, id="", text="")["ok"] is False  # an `error`
    assert alex.emit("raise_hand", session_id=sid)["ok"]
    assert counselor.emit("lower_hand", session_id=sid, user_id=alex_user.id)["ok"]
    assert sam.emit("react", session_id=sid, emoji="👍")["ok"]
    assert counselor.emit("checkin_round_start", session_id=sid)["ok"]
    assert alex.emit("checkin", session_id=sid, id="c1", mood=6, craving=2, word="ok")["ok"]
    assert sam.emit("checkin_pass", session_id=sid, id="c2")["ok"]
    assert counselor.emit("checkin_round_end", session_id=sid)["ok"]
    assert peer.emit("mute", session_id=sid, user_id=sam_user.id, what="chat")["ok"]
    assert peer.emit("unmute", session_id=sid, user_id=sam_user.id, what="chat")["ok"]
    seq = alex.emit("chat", session_id=sid, id="m2", text="oops")["seq"]
    assert counselor.emit("delete_chat", session_id=sid, seq=seq)["ok"]
    assert counselor.emit("lock_room", session_id=sid, locked=True)["ok"]
    jo = room["person"](jo_user)
    assert jo.emit("join_session", session_id=sid)["error"] == "locked"
    assert counselor.emit("lock_room", session_id=sid, locked=False)["ok"]
    assert counselor.emit("remove", session_id=sid, user_id=sam_user.id)["ok"]
    assert counselor.emit("end_session", session_id=sid)["ok"]
    heard: set[str] = set()
    for person in (counselor, peer, alex, sam, jo):
        heard |= _validate_all([(m["name"], m["args"][0]) for m in person.sio.get_received()])
    assert heard >= {
        "knock", "waiting", "kept_out", "presence", "admitted", "admitted_notice", "chat",
        "error", "hand_raised", "hand_lowered", "reaction", "checkin_round", "checkin",
        "checkin_detail", "muted", "unmuted", "chat_deleted", "room_locked", "removed",
        "session_ended"}


def test_what_a_risk_signal_and_a_logout_send_fits_the_models(app, world, make_auth):
    counselor = world.user(Role.COUNSELOR, name="Chris")
    client = world.user(Role.CLIENT, name="Alex")
    world.group(counselor, [client])
    watcher = socketio.test_client(app, flask_test_client=make_auth(counselor).client)
    watcher.get_received()
    client_auth = make_auth(client)
    sio = socketio.test_client(app, flask_test_client=client_auth.client)
    sio.get_received()
    response = client_auth.post("/api/v1/measures", json={
        "id": str(uuid.uuid4()), "kind": "phq9", "answers": [3] * 9,
        "completed_at": datetime.now(UTC).isoformat()})
    assert response.status_code == 201, response.get_json()
    assert client_auth.post("/api/v1/auth/logout").status_code < 300
    alerts = [(m["name"], m["args"][0]) for m in watcher.get_received()]
    assert _validate_all(alerts) == {"alert"}
    assert alerts[0][1]["kind"] == "phq9_item9"
    assert not sio.is_connected()  # what it heard before it was closed:
    assert _validate_all([(m["name"], m["args"][0]) for m in sio.queue]) == {"signed_out"}

