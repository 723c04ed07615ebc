"""A client joins a live group by phone, end to end (issue 17's test). Not collected by the
suite itself: test_sip_line.py runs this file with pytest as root in a private network
namespace, on SQLite (phone_network.py has the phone network's parts).

A real phone (baresip) calls through the stand-in trunk into Janus's SIP plugin; Companion's line
answers, the caller keys their PIN by RFC 2833 and is put at the group's door, the counselor's
Socket.IO client admits them. The counselor is in the room's media (an aiortc participant of
the product's media worker, playing 440 Hz): the counselor hears the caller's 1000 Hz, the
caller hears the counselor's 440 Hz, ``*6`` silences the caller, the counselor's removal hangs
up the call, and the caller's minutes are attendance of modality phone. A second call keys a
wrong PIN three times and the line hangs up.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select

from companion.core.extensions import db
from companion.dialin import pins
from companion.dialin.line_process import LineConfig
from companion.dialin.sip_line import LineSettings
from companion.media import compat
from companion.media.client import MediaClient
from companion.rooms.models import AttendanceInterval, Modality
from tests.dialin.phone_network import (
    CALLER_HZ,
    JANUS,
    LINE_HZ,
    LINE_USER,
    RATE,
    TRUNK,
    Phone,
    heard_by_phone,
    holds_tone,
    network,
    run_with_the_line,
    wait_for,
)
from tests.dialin_factories import dial_in_on
from tests.media_helpers import ClientPeer, start_worker
from tests.rooms.test_phone_callers import counselor  # noqa: F401  (fixture)
from tests.rooms.test_rooms import room  # noqa: F401  (fixture)

WRONG_PIN = "11111111"


async def _key(phone, keys: str) -> None:  # type: ignore[no-untyped-def]
    for key in keys:
        phone.command("sndcode", key)
        await asyncio.sleep(0.35)


def _knocks(counselor) -> list[dict]:  # type: ignore[no-untyped-def]  # noqa: F811
    """The knocks the counselor heard (a knock's own "name" is the caller's)."""
    return [m["args"][0] for m in counselor.sio.get_received() if m["name"] == "knock"]


def test_a_client_calls_in_is_admitted_heard_muted_and_removed(app, room, counselor,  # noqa: F811
                                                                world, tmp_path: Path):
    network()
    compat.install_host_addresses(["127.0.0.1"])
    sid, alex, chris_id = room["session"].id, room["clients"][0].id, room["counselor"].id
    dial_in_on(world.program)
    pin = pins.my_dial_in(room["clients"][0]).pin
    # The test's own transaction ends here and no row is read until the calls are over: on
    # SQLite an open read would keep the engine's writes (its audit rows) waiting.
    db.session.commit()
    worker = start_worker()
    workers = MediaClient(worker.host, worker.port, secret=worker.secret)
    chris = ClientPeer(str(chris_id), freq=LINE_HZ)
    # The line as `companion dialin-line` runs it: its own Janus, its prompts recorded at its
    # first start.
    config = LineConfig(LineSettings(f"http://127.0.0.1:{JANUS.api_port}/janus", TRUNK,
                                     LINE_USER, "line", helpers=2), JANUS, own_janus=True)

    async def scenario(phone: Phone) -> None:
        await chris.join(workers, f"session:{sid}")
        phone.command("dial", "sip:companion@127.0.0.1:5060")
        assert await wait_for(lambda: phone.saw("CALL_ESTABLISHED"), 15)
        established = time.monotonic()
        await asyncio.sleep(1)
        await _key(phone, pin + "#")

        # At the door, marked phone; the counselor admits them.
        knocks: list[dict] = []

        def knocked() -> bool:
            knocks.extend(_knocks(counselor))
            return bool(knocks)
        assert await wait_for(knocked, 15), "no knock reached the counselor"
        assert knocks[0]["user_id"] == alex and knocks[0]["link"] == "phone"
        assert counselor.emit("admit", session_id=sid, user_id=alex)["ok"]

        # In the room: each hears the other.
        assert await wait_for(lambda: holds_tone(chris.recent_audio(50), CALLER_HZ), 20), \
            "the counselor never heard the caller"
        admitted_at = time.monotonic() - established
        await asyncio.sleep(2)
        heard_until = time.monotonic() - established

        # *6: the caller is silent in the room.
        await _key(phone, "*6")
        assert await wait_for(lambda: not holds_tone(chris.recent_audio(50), CALLER_HZ), 10), \
            "*6 did not silence the caller"

        # The counselor removes them: the line hangs up.
        assert counselor.emit("remove", session_id=sid, user_id=alex)["ok"]
        assert await wait_for(lambda: phone.saw("CALL_CLOSED"), 15), \
            "the removed caller's call was not hung up"
        window = heard_by_phone(tmp_path)[int(admitted_at * RATE):int(heard_until * RATE)]
        assert holds_tone(_to_48k(window), LINE_HZ), "the caller never heard the counselor"

        # Another call: three wrong PINs, and the line hangs up.
        phone.events.clear()
        phone.command("dial", "sip:companion@127.0.0.1:5060")
        assert await wait_for(lambda: phone.saw("CALL_ESTABLISHED"), 15)
        for _ in range(3):
            await asyncio.sleep(1)
            await _key(phone, WRONG_PIN + "#")
        assert await wait_for(lambda: phone.saw("CALL_CLOSED"), 30), \
            "three wrong PINs did not end the call"

    try:
        run_with_the_line(app, config, workers, tmp_path, scenario, chris.close)
    finally:
        workers.close()
        worker.stop()
    db.session.commit()
    stays = db.session.scalars(select(AttendanceInterval).where(
        AttendanceInterval.session_id == sid, AttendanceInterval.user_id == alex)).all()
    assert stays and {s.modality for s in stays} == {Modality.PHONE}
    assert all(s.ended_at is not None for s in stays)  # the call ended: the stay closed


def _to_48k(samples: np.ndarray) -> np.ndarray:
    """spectrum_peaks reads 48 kHz audio: repeat each 8 kHz sample six times."""
    return np.repeat(samples, 6)

