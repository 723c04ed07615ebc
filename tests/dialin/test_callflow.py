"""The call flow (companion/dialin/callflow.py), step by step: each row is what the engine tells
the flow and exactly what the flow answers. A pure state machine: the fakes stand in for
identify, open_sessions and the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from companion.dialin.callflow import (
    CallFlow,
    Hangup,
    Knock,
    Play,
    SessionChoice,
    SetHand,
    SetMute,
)
from companion.dialin.prompts import Prompt as P

CHICAGO = ZoneInfo("America/Chicago")
PIN, ALEX = "13572468", 7
AT_SIX = SessionChoice(10, datetime(2026, 12, 14, 18, 0, tzinfo=CHICAGO))
AT_HALF_PAST = SessionChoice(11, datetime(2026, 12, 14, 18, 30, tzinfo=CHICAGO))


class Fakes:
    def __init__(self, sessions: list[SessionChoice]) -> None:
        self.now = datetime(2026, 12, 15, 0, 0, tzinfo=UTC)
        self.sessions = sessions
        self.tried: list[str] = []
        self.asked: list[tuple[int, datetime]] = []

    def identify(self, pin: str) -> int | None:
        self.tried.append(pin)
        return ALEX if pin == PIN else None

    def open_sessions(self, user_id: int, now: datetime) -> list[SessionChoice]:
        self.asked.append((user_id, now))
        return self.sessions


def en(*prompts: P) -> list[Play]:
    return [Play(p, "en") for p in prompts]


def es(*prompts: P) -> list[Play]:
    return [Play(p, "es") for p in prompts]


WELCOME = [Play(P.WELCOME, "en"), Play(P.SPANISH_OFFER, "es"), Play(P.ENTER_PIN, "en")]
MENU = en(P.CHOOSE, P.PRESS_1, P.FOR_THE_SESSION_AT, P.HOUR_6, P.EVENING,
          P.PRESS_2, P.FOR_THE_SESSION_AT, P.HOUR_6, P.MINUTE_30, P.EVENING)
IN = [("start", None, WELCOME), ("keys", PIN + "#", [Knock(10, ALEX), Play(P.PLEASE_WAIT, "en")]),
      ("admitted", None, en(P.ADMITTED))]

FLOWS = {
    "one session: knock, admitted, *6 twice, *9 twice, the end": [
        *IN,
        ("keys", "*6", [SetMute(True), *en(P.MUTED)]),
        ("keys", "*6", [SetMute(False), *en(P.UNMUTED)]),
        ("keys", "*9", [SetHand(True), *en(P.HAND_RAISED)]),
        ("keys", "*9", [SetHand(False), *en(P.HAND_LOWERED)]),
        ("keys", "6", []),  # a command needs its star
        ("keys", "*5", []),
        ("ended", None, [*en(P.ENDED), Hangup("ended")]),
        ("keys", "*6", []),
        ("ended", None, []),
    ],
    "a wrong PIN three times ends the call": [
        ("start", None, WELCOME),
        ("keys", "11111111#", en(P.WRONG_PIN)),
        ("keys", "22222222#", en(P.WRONG_PIN)),  # 2 chooses Spanish only as the call's first key
        ("keys", "1357246#", [*en(P.WRONG_PIN_GOODBYE), Hangup("wrong_pin")]),
        ("keys", PIN + "#", []),
    ],
    "Spanish on 2, then everything in Spanish": [
        ("start", None, WELCOME),
        ("keys", "2", es(P.ENTER_PIN)),
        ("keys", "0#", es(P.WRONG_PIN)),
        ("keys", PIN + "#", [Knock(10, ALEX), Play(P.PLEASE_WAIT, "es")]),
        ("admitted", None, es(P.ADMITTED)),
        ("keys", "*9", [SetHand(True), *es(P.HAND_RAISED)]),
        ("removed", None, [*es(P.REMOVED), Hangup("removed")]),
    ],
    "two sessions: the menu by local time, a wrong choice, then the second": [
        ("start", None, WELCOME),
        ("keys", PIN + "#", MENU),
        ("keys", "5", en(P.NOT_A_CHOICE) + MENU),
        ("keys", "*", MENU),
        ("keys", "2", [Knock(11, ALEX), Play(P.PLEASE_WAIT, "en")]),
        ("keys", "1", []),  # waiting at the door: keys do nothing
    ],
    "*6 while staff muted is refused with a sentence": [
        *IN,
        ("staff_muted", True, en(P.STAFF_MUTED_YOU)),
        ("keys", "*6", en(P.MUTED_BY_STAFF)),
        ("staff_muted", True, []),
        ("staff_muted", False, en(P.STAFF_LIFTED_MUTE)),
        ("keys", "*6", [SetMute(True), *en(P.MUTED)]),
        ("staff_muted", True, en(P.STAFF_MUTED_YOU)),
        ("keys", "*6", en(P.MUTED_BY_STAFF)),
        ("staff_muted", False, en(P.STAFF_LIFTED_MUTE, P.STILL_SELF_MUTED)),
        ("keys", "*6", [SetMute(False), *en(P.UNMUTED)]),
    ],
    "muted by staff before being let in: told on admission": [
        ("start", None, WELCOME),
        ("keys", PIN + "#", [Knock(10, ALEX), Play(P.PLEASE_WAIT, "en")]),
        ("staff_muted", True, []),
        ("admitted", None, en(P.ADMITTED, P.STAFF_MUTED_YOU)),
        ("keys", "*6", en(P.MUTED_BY_STAFF)),
    ],
    "a moderator lowers the hand": [
        *IN,
        ("keys", "*9", [SetHand(True), *en(P.HAND_RAISED)]),
        ("hand_lowered", None, en(P.HAND_LOWERED)),
        ("hand_lowered", None, []),
        ("keys", "*9", [SetHand(True), *en(P.HAND_RAISED)]),
    ],
    "star starts the PIN over; an empty PIN is asked again, not counted": [
        ("start", None, WELCOME),
        ("keys", "135*", en(P.ENTER_PIN)),
        ("keys", "#", en(P.ENTER_PIN)),
        ("keys", "#", en(P.ENTER_PIN)),
        ("keys", "#", en(P.ENTER_PIN)),
        ("keys", PIN + "#", [Knock(10, ALEX), Play(P.PLEASE_WAIT, "en")]),
    ],
    "a key that is not 0-9 * # is ignored": [
        ("start", None, WELCOME),
        ("keys", "A", []),
        ("keys", "2", es(P.ENTER_PIN)),  # still the call's first key
    ],
    "keys before the call is answered do nothing": [
        ("keys", "2", []),
        ("admitted", None, []),
        ("start", None, WELCOME),
        ("start", None, []),
    ],
    "silence at the PIN: asked again, then goodbye": [
        ("start", None, WELCOME),
        ("wait", 19, []),
        ("wait", 1, en(P.ENTER_PIN)),
        ("wait", 20, en(P.ENTER_PIN)),
        ("wait", 20, [*en(P.SILENCE_GOODBYE), Hangup("silence")]),
        ("wait", 60, []),
    ],
    "a key resets the silence": [
        ("start", None, WELCOME),
        ("wait", 20, en(P.ENTER_PIN)),
        ("wait", 20, en(P.ENTER_PIN)),
        ("keys", "1", []),
        ("wait", 20, en(P.ENTER_PIN)),
        ("wait", 20, en(P.ENTER_PIN)),
    ],
    "waiting: reminded each minute; admitted, nothing more": [
        ("start", None, WELCOME),
        ("keys", PIN + "#", [Knock(10, ALEX), Play(P.PLEASE_WAIT, "en")]),
        ("wait", 59, []),
        ("wait", 1, en(P.PLEASE_WAIT)),
        ("wait", 60, en(P.PLEASE_WAIT)),
        ("admitted", None, en(P.ADMITTED)),
        ("admitted", None, []),
        ("wait", 600, []),
    ],
}
SESSIONS = {"two sessions: the menu by local time, a wrong choice, then the second":
            [AT_SIX, AT_HALF_PAST]}


def run(flow: CallFlow, fakes: Fakes, event: str, arg: object) -> list[object]:
    if event == "keys":
        return [a for key in str(arg) for a in flow.digit(key)]
    if event == "wait":
        fakes.now += timedelta(seconds=int(str(arg)))
        return list(flow.tick())
    if event == "staff_muted":
        return list(flow.staff_muted(bool(arg)))
    return list(getattr(flow, event)())


@pytest.mark.parametrize("name", FLOWS)
def test_the_call_flow(name):
    fakes = Fakes(SESSIONS.get(name, [AT_SIX]))
    flow = CallFlow(fakes.identify, fakes.open_sessions, lambda: fakes.now)
    for number, (event, arg, expected) in enumerate(FLOWS[name]):
        assert run(flow, fakes, event, arg) == expected, f"step {number}: {event} {arg!r}"


def test_no_session_open_says_goodbye():
    fakes = Fakes([])
    flow = CallFlow(fakes.identify, fakes.open_sessions, lambda: fakes.now)
    flow.start()
    assert run(flow, fakes, "keys", PIN + "#") == [*en(P.NO_SESSION), Hangup("no_session")]
    assert fakes.asked == [(ALEX, fakes.now)]


def test_the_flow_hands_identify_exactly_what_was_keyed_and_bounds_it():
    fakes = Fakes([AT_SIX])
    flow = CallFlow(fakes.identify, fakes.open_sessions, lambda: fakes.now)
    flow.start()
    run(flow, fakes, "keys", "3" * 40 + "#")
    run(flow, fakes, "keys", "135*246#")
    assert fakes.tried == ["3" * 13, "246"]  # one wrong PIN of 13 keys; * started over
    assert flow.tries == 2


@pytest.mark.parametrize(("hour", "minute", "spoken"), [
    (18, 0, [P.HOUR_6, P.EVENING]),
    (9, 5, [P.HOUR_9, P.MINUTE_5, P.MORNING]),
    (12, 0, [P.HOUR_12, P.AFTERNOON]),
    (0, 15, [P.HOUR_12, P.MINUTE_15, P.MORNING]),
    (17, 59, [P.HOUR_5, P.MINUTE_59, P.AFTERNOON]),
])
def test_times_are_spoken_in_pieces(hour, minute, spoken):
    from companion.dialin.prompts import clock_prompts

    assert clock_prompts(datetime(2026, 12, 14, hour, minute, tzinfo=CHICAGO)) == spoken


def test_a_call_the_line_placed_says_so_and_can_be_cancelled_until_the_client_is_in():
    fakes = Fakes([AT_SIX])
    flow = CallFlow(fakes.identify, fakes.open_sessions, lambda: fakes.now, called=True)
    assert flow.start() == [Play(P.CALLED_WELCOME, "en"), Play(P.SPANISH_OFFER, "es"),
                            Play(P.ENTER_PIN, "en")]
    assert run(flow, fakes, "keys", PIN + "#") == [Knock(10, ALEX), Play(P.PLEASE_WAIT, "en")]
    assert flow.cancelled() == [Hangup("cancelled")] and flow.hung_up == "cancelled"
    assert flow.cancelled() == [] and run(flow, fakes, "keys", "*6") == []

    in_room = CallFlow(fakes.identify, fakes.open_sessions, lambda: fakes.now, called=True)
    in_room.start()
    run(in_room, fakes, "keys", PIN + "#")
    in_room.admitted()
    assert in_room.cancelled() == []  # in the room: the counselor removes, not cancels
