"""A call, as a state machine with no I/O: the SIP engine feeds it what happened (the call
started, a key, admitted, removed, ended, staff muted, a second passed) and does what each
answer says (play a prompt, knock at a room, hang up, mute, raise a hand).

The flow (docs/dial-in.md, "The call"): welcome (key 2 first for Spanish; a call the line
placed for a counselor says so, and only the called client's PIN is taken) → PIN and # (three
tries, then goodbye) → no session open (goodbye) / one (knock, "please wait") / several ("press
1 for the session at 6 in the evening...") → admitted: ``*6`` mutes and unmutes oneself (not
while a moderator holds the mute), ``*9`` raises and lowers one's hand.

Each answer's ``Play`` actions come in the order to play them; an answer's prompts replace what
is still playing (a caller who keys ahead does not wait for the end of a sentence).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from companion.dialin.prompts import Prompt, clock_prompts

# At most this many PIN tries per call (the per-number and global limits are the server's:
# companion/dialin/services.py).
TRIES_PER_CALL = 3
# Keys kept for one PIN: a PIN has at most 12 digits; more is a wrong PIN, not a longer buffer.
MAX_PIN_KEYS = 13
# Choices one menu offers ("press 1" to "press 9"): a client has never more sessions open.
MAX_CHOICES = 9
# No key this long at the PIN or the menu: ask again; SILENT_ASKS times, then goodbye.
SILENCE = timedelta(seconds=20)
SILENT_ASKS = 3
# Waiting to be admitted: "please wait" again this often, so the caller knows the line is up.
WAIT_REMINDER = timedelta(seconds=60)
KEYS = frozenset("0123456789*#")

@dataclass(frozen=True)
class SessionChoice:
    """A session a caller may join now (services.open_sessions): its id and its start in the
    program's zone, which is what the caller hears ("the session at 6 in the evening"). Never
    its title or group name: the call may be overheard, and a title can say what it treats."""

    session_id: int
    starts_at: datetime  # local, with the program's zone


HangupReason = Literal["wrong_pin", "no_session", "silence", "removed", "ended", "cancelled"]


@dataclass(frozen=True)
class Play:
    prompt: Prompt
    lang: str  # "en" or "es"


@dataclass(frozen=True)
class Knock:
    """Knock at this session's room for this user (rooms.phone.knock_by_phone)."""

    session_id: int
    user_id: int


@dataclass(frozen=True)
class Hangup:
    reason: HangupReason


@dataclass(frozen=True)
class SetMute:
    """The caller's own mute (rooms.phone.mute_self_by_phone): their audio into the room."""

    muted: bool


@dataclass(frozen=True)
class SetHand:
    raised: bool  # rooms.phone.hand_by_phone


Action = Play | Knock | Hangup | SetMute | SetHand


class Stage(enum.StrEnum):
    STARTING = "starting"  # start() not called yet
    PIN = "pin"
    CHOOSING = "choosing"
    WAITING = "waiting"  # knocked; the engine polls the room (rooms.phone.admission_of)
    IN_ROOM = "in_room"
    DONE = "done"  # hung up: nothing more happens


class CallFlow:
    """One call. ``identify(pin)`` names the caller's user id or None (the engine binds the
    calling number: ``lambda pin: services.identify(pin, number)``); ``open_sessions(user_id,
    now)`` lists the sessions they may join (services.open_sessions); ``clock()`` is now."""

    def __init__(self, identify: Callable[[str], int | None],
                 open_sessions: Callable[[int, datetime], Sequence[SessionChoice]],
                 clock: Callable[[], datetime], called: bool = False) -> None:
        self.called = called  # the line placed this call: a counselor called the client
        self._identify = identify
        self._open_sessions = open_sessions
        self._clock = clock
        self.stage = Stage.STARTING
        self.lang = "en"
        self.user_id: int | None = None
        self.session_id: int | None = None
        self.tries = 0
        self.self_muted = False
        self.muted_by_staff = False
        self.hand_raised = False
        self.hung_up: HangupReason | None = None  # why the line ended the call, if it did
        self._keys = ""
        self._any_key = False  # a key was pressed on this call (only the first may be "2")
        self._star = False  # "*" pressed in the room: the next key is a command
        self._choices: list[SessionChoice] = []
        self._quiet_since = datetime.min
        self._asks = 0
        self._reminded_at = datetime.min

    # --- what the engine tells the flow -----------------------------------------------------

    def start(self) -> list[Action]:
        """The call was answered."""
        if self.stage != Stage.STARTING:
            return []
        self.stage = Stage.PIN
        self._heard_from()
        welcome = Prompt.CALLED_WELCOME if self.called else Prompt.WELCOME
        return [Play(welcome, "en"), Play(Prompt.SPANISH_OFFER, "es"),
                Play(Prompt.ENTER_PIN, "en")]

    def digit(self, d: str) -> list[Action]:
        """A key (RFC 2833 event or SIP INFO): 0-9, * or #; anything else is ignored."""
        if d not in KEYS or self.stage in (Stage.STARTING, Stage.DONE):
            return []
        first, self._any_key = not self._any_key, True
        self._heard_from()
        if self.stage == Stage.PIN:
            if first and d == "2":  # no PIN starts with 2 (companion/dialin/pins.py)
                self.lang = "es"
                return self._say(Prompt.ENTER_PIN)
            return self._pin_key(d)
        if self.stage == Stage.CHOOSING:
            return self._choice_key(d)
        if self.stage == Stage.IN_ROOM:
            return self._room_key(d)
        return []  # waiting at the door: keys do nothing

    def admitted(self) -> list[Action]:
        """Staff let the caller in (the room's admission says "admitted")."""
        if self.stage != Stage.WAITING:
            return []
        self.stage = Stage.IN_ROOM
        actions: list[Action] = [Play(Prompt.ADMITTED, self.lang)]
        if self.muted_by_staff:
            actions.append(Play(Prompt.STAFF_MUTED_YOU, self.lang))
        return actions

    def removed(self) -> list[Action]:
        """Staff removed the caller, or the knock was refused: goodbye."""
        return self._goodbye(Prompt.REMOVED, "removed")

    def ended(self) -> list[Action]:
        """The session ended (or was over before the caller got in): goodbye."""
        return self._goodbye(Prompt.ENDED, "ended")

    def cancelled(self) -> list[Action]:
        """The counselor cancelled the call they asked for before the client was in."""
        if self.stage in (Stage.IN_ROOM, Stage.DONE):
            return []
        self.stage, self.hung_up = Stage.DONE, "cancelled"
        return [Hangup("cancelled")]

    def staff_muted(self, muted: bool) -> list[Action]:
        """A moderator muted or unmuted the caller's audio (rooms.phone.muted_by_staff)."""
        if muted == self.muted_by_staff or self.stage == Stage.DONE:
            return []
        self.muted_by_staff = muted
        if self.stage != Stage.IN_ROOM:
            return []  # told when admitted
        if muted:
            return self._say(Prompt.STAFF_MUTED_YOU)
        if self.self_muted:
            return self._say(Prompt.STAFF_LIFTED_MUTE, Prompt.STILL_SELF_MUTED)
        return self._say(Prompt.STAFF_LIFTED_MUTE)

    def hand_lowered(self) -> list[Action]:
        """A moderator lowered the caller's hand."""
        if not self.hand_raised or self.stage != Stage.IN_ROOM:
            return []
        self.hand_raised = False
        return self._say(Prompt.HAND_LOWERED)

    def tick(self) -> list[Action]:
        """Time passed (the engine calls this every second or so): ask again after silence,
        hang up after long silence, remind a waiting caller that the line is up."""
        now = self._clock()
        if self.stage in (Stage.PIN, Stage.CHOOSING):
            if now - self._quiet_since < SILENCE:
                return []
            self._asks += 1
            self._quiet_since = now
            if self._asks >= SILENT_ASKS:
                return self._goodbye(Prompt.SILENCE_GOODBYE, "silence")
            return self._say(Prompt.ENTER_PIN) if self.stage == Stage.PIN else self._menu()
        if self.stage == Stage.WAITING and now - self._reminded_at >= WAIT_REMINDER:
            self._reminded_at = now
            return self._say(Prompt.PLEASE_WAIT)
        return []

    # --- the PIN --------------------------------------------------------------------------

    def _pin_key(self, d: str) -> list[Action]:
        if d == "*":  # start the PIN over
            self._keys = ""
            return self._say(Prompt.ENTER_PIN)
        if d != "#":
            if len(self._keys) < MAX_PIN_KEYS:
                self._keys += d
            return []
        keyed, self._keys = self._keys, ""
        if not keyed:
            return self._say(Prompt.ENTER_PIN)
        user_id = self._identify(keyed)
        if user_id is None:
            self.tries += 1
            if self.tries >= TRIES_PER_CALL:
                return self._goodbye(Prompt.WRONG_PIN_GOODBYE, "wrong_pin")
            return self._say(Prompt.WRONG_PIN)
        self.user_id = user_id
        self._choices = list(self._open_sessions(user_id, self._clock()))[:MAX_CHOICES]
        if not self._choices:
            return self._goodbye(Prompt.NO_SESSION, "no_session")
        if len(self._choices) == 1:
            return self._knock(self._choices[0].session_id)
        self.stage = Stage.CHOOSING
        self._asks = 0
        return self._menu()

    # --- choosing a session ---------------------------------------------------------------

    def _menu(self) -> list[Action]:
        spoken = [Prompt.CHOOSE]
        for number, choice in enumerate(self._choices, start=1):
            spoken += [Prompt(f"press_{number}"), Prompt.FOR_THE_SESSION_AT,
                       *clock_prompts(choice.starts_at)]
        return self._say(*spoken)

    def _choice_key(self, d: str) -> list[Action]:
        if d.isdigit() and 1 <= int(d) <= len(self._choices):
            return self._knock(self._choices[int(d) - 1].session_id)
        if d == "*":
            return self._menu()
        return self._say(Prompt.NOT_A_CHOICE) + self._menu()

    def _knock(self, session_id: int) -> list[Action]:
        assert self.user_id is not None
        self.stage = Stage.WAITING
        self.session_id = session_id
        self._reminded_at = self._clock()
        return [Knock(session_id, self.user_id), Play(Prompt.PLEASE_WAIT, self.lang)]

    # --- in the room ----------------------------------------------------------------------

    def _room_key(self, d: str) -> list[Action]:
        if d == "*":
            self._star = True
            return []
        command, self._star = self._star, False
        if not command:
            return []
        if d == "6":
            if self.muted_by_staff:
                return self._say(Prompt.MUTED_BY_STAFF)
            self.self_muted = not self.self_muted
            return [SetMute(self.self_muted),
                    Play(Prompt.MUTED if self.self_muted else Prompt.UNMUTED, self.lang)]
        if d == "9":
            self.hand_raised = not self.hand_raised
            return [SetHand(self.hand_raised),
                    Play(Prompt.HAND_RAISED if self.hand_raised else Prompt.HAND_LOWERED,
                         self.lang)]
        return []

    # --- helpers --------------------------------------------------------------------------

    def _say(self, *prompts: Prompt) -> list[Action]:
        return [Play(p, self.lang) for p in prompts]

    def _goodbye(self, prompt: Prompt, reason: HangupReason) -> list[Action]:
        if self.stage == Stage.DONE:
            return []
        self.stage, self.hung_up = Stage.DONE, reason
        return [Play(prompt, self.lang), Hangup(reason)]

    def _heard_from(self) -> None:
        self._quiet_since = self._clock()
        self._asks = 0
