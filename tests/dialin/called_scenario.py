"""A counselor calls a client's phone into a live group, end to end (issue 17, "call Sam's
phone"). Not collected by the suite itself: test_sip_line.py runs this file with pytest as root
in a private network namespace, on SQLite (phone_network.py has the phone network's parts).

The client's phone (baresip) is registered with the stand-in trunk under the number on the
client's record. The counselor asks for a call from the room three times: the phone turns the
first down (busy), the second is cancelled while it rings, the third is answered, the client
keys their PIN by RFC 2833 and is in the room without anyone admitting them (the counselor who
called did), where the counselor's media hears the client's tone. Each step reached the
counselor's socket as a ``phone_call`` event; the client's minutes are attendance of modality
phone.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from companion.accounts.models import User
from companion.clinic.models import Session
from companion.core.extensions import db
from companion.dialin import dial_out, pins
from companion.dialin.engine import in_app
from companion.dialin.line_process import LineConfig
from companion.dialin.models import CallState
from companion.dialin.sip_line import LineSettings
from companion.media import compat
from companion.media.client import MediaClient
from companion.rooms.models import AttendanceInterval, Modality
from tests.dialin.phone_network import (
    CALLER_HZ,
    JANUS,
    LINE_HZ,
    LINE_USER,
    TRUNK,
    Phone,
    holds_tone,
    network,
    run_with_the_line,
    wait_for,
)
from tests.dialin_factories import calling_on, phone_of
from tests.media_helpers import ClientPeer, start_worker
from tests.rooms.test_phone_callers import counselor  # noqa: F401  (fixture)
from tests.rooms.test_rooms import room  # noqa: F401  (fixture)

NUMBER = "+15555550123"


def _said(steps: list[tuple[int, str, str]]) -> str:
    return " ".join(f"{call}:{state}" for call, state, _ in steps)


def test_a_counselor_calls_a_client_into_the_room(app, room, counselor, world,  # noqa: F811
                                                  tmp_path: Path):
    network()
    compat.install_host_addresses(["127.0.0.1"])
    sid, alex, chris_id = room["session"].id, room["clients"][0].id, room["counselor"].id
    calling_on(world.program)
    phone_of(room["clients"][0], NUMBER)
    pin = pins.my_dial_in(room["clients"][0]).pin
    db.session.commit()  # (on SQLite an open read would keep the line's writes waiting)
    worker = start_worker()
    workers = MediaClient(worker.host, worker.port, secret=worker.secret)
    chris = ClientPeer(str(chris_id), freq=LINE_HZ)
    config = LineConfig(LineSettings(f"http://127.0.0.1:{JANUS.api_port}/janus", TRUNK,
                                     LINE_USER, "line", helpers=2), JANUS, own_janus=True)
    steps: list[tuple[int, str, str]] = []  # (call, state, text) as the counselor's socket got

    def heard_steps() -> list[tuple[int, str, str]]:
        steps.extend((m["args"][0]["id"], m["args"][0]["state"], m["args"][0]["text"])
                     for m in counselor.sio.get_received() if m["name"] == "phone_call")
        return steps

    def reached(call_id: int, state: str):  # type: ignore[no-untyped-def]
        return lambda: any(c == call_id and s == state for c, s, _ in heard_steps())

    def ask() -> int:
        return dial_out.request_call(db.session.get(User, chris_id),
                                     db.session.get(Session, sid), alex).id

    async def scenario(phone: Phone) -> None:
        await chris.join(workers, f"session:{sid}")

        # 1. The phone turns the call down: the counselor reads that it was busy.
        busy = await in_app(app, ask)
        assert await wait_for(lambda: phone.saw("CALL_INCOMING"), 15), "the phone never rang"
        assert await wait_for(reached(busy, "ringing"), 5)
        phone.command("hangup")
        assert await wait_for(reached(busy, "busy"), 10), _said(heard_steps())

        # 2. Cancelled while it rings: the phone stops ringing.
        phone.events.clear()
        cancelled = await in_app(app, ask)
        assert await wait_for(lambda: phone.saw("CALL_INCOMING"), 15)
        await in_app(app, lambda: dial_out.cancel_call(
            db.session.get(User, chris_id), db.session.get(Session, sid), cancelled))
        assert await wait_for(lambda: phone.saw("CALL_CLOSED"), 10), \
            "a cancelled call kept ringing"
        assert await wait_for(reached(cancelled, "cancelled"), 5)

        # 3. Answered: the PIN, and the client is in the room (nobody pressed Admit).
        phone.events.clear()
        answered = await in_app(app, ask)
        assert await wait_for(lambda: phone.saw("CALL_INCOMING"), 15)
        phone.command("accept")
        assert await wait_for(lambda: phone.saw("CALL_ESTABLISHED"), 10)
        assert await wait_for(reached(answered, "answered"), 5)
        await asyncio.sleep(1)
        for key in pin + "#":
            phone.command("sndcode", key)
            await asyncio.sleep(0.35)
        assert await wait_for(reached(answered, "in_room"), 20), _said(heard_steps())
        assert await wait_for(lambda: holds_tone(chris.recent_audio(50), CALLER_HZ), 20), \
            "the counselor never heard the called client"
        phone.command("hangup")
        assert await wait_for(reached(answered, "ended"), 15), _said(heard_steps())

    try:
        run_with_the_line(app, config, workers, tmp_path, scenario, chris.close, number=NUMBER)
    finally:
        workers.close()
        worker.stop()
    db.session.commit()
    texts = {state: text for _, state, text in steps}
    assert texts["in_room"].endswith("joined by phone.")
    assert CallState.CANCELLED.value in texts and CallState.BUSY.value in texts
    stays = db.session.scalars(select(AttendanceInterval).where(
        AttendanceInterval.session_id == sid, AttendanceInterval.user_id == alex)).all()
    assert stays and {s.modality for s in stays} == {Modality.PHONE}
