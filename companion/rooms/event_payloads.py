"""The payload of every event live rooms send (docs/realtime.md, "Server → client").

Registered with ``core/event_schemas.py``; ``core/events.py`` checks each one in debug and
testing. A field that is not here cannot go out (``extra="forbid"``): check-in values, say, only
where the model allows them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from companion.core.event_schemas import EventPayload, payload_of
from companion.rooms.models import Modality

StaffBadge = Literal["counselor", "peer_supporter"]
Mutable = Literal["chat", "audio", "video"]
PeerState = Literal["connecting", "connected", "reconnecting", "failed", "closed"]


class Person(EventPayload):
    """Someone in an event (``from``, ``user``, ``by``): ``staff`` from the account's role."""

    id: int
    display_name: str
    staff: StaffBadge | None = None


class InSession(EventPayload):
    session_id: int


class Stored(InSession):
    """An event the room stored: its sequence number says where it is in the room's history."""

    seq: int


@payload_of("chat")
class Chat(Stored):
    id: str | None
    from_: Person | None = Field(alias="from")
    text: str
    sent_at: datetime
    deleted: Literal[True] | None = None


@payload_of("chat_deleted")
class ChatDeleted(Stored):
    deleted_seq: int


@payload_of("hand_raised", "hand_lowered", "admitted")
class PersonEvent(Stored):
    user_id: int
    user: Person | None
    by: Person | None


@payload_of("removed")
class Removed(InSession):
    """To the room (who, by whom) and to the removed person's own sockets (``seq`` and
    ``user_id``; no ``seq`` when a guest's right ended with no stored removal)."""

    seq: int | None = None
    user_id: int
    user: Person | None = None
    by: Person | None = None
    reason: Literal["consent", "membership"] | None = None


@payload_of("muted", "unmuted")
class Muted(Stored):
    user_id: int
    what: Mutable
    muted: bool


@payload_of("room_locked")
class RoomLocked(Stored):
    locked: bool


@payload_of("session_ended")
class SessionEnded(Stored):
    ended_at: datetime


@payload_of("checkin_round")
class CheckinRound(Stored):
    open: bool


@payload_of("checkin", "checkin_detail")
class Checkin(Stored):
    """A turn in the check-in round. The values (mood, craving, word) only in ``checkin_detail``
    (the session's counselors) and in the poster's own replay."""

    id: str | None
    user: Person | None
    passed: bool
    mood: int | None = None
    craving: int | None = None
    word: str | None = None


class Present(Person):
    link: Modality
    lead: Literal[True] | None = None


@payload_of("presence")
class Presence(InSession):
    present: list[Present]


class AtTheDoor(EventPayload):
    id: int
    display_name: str
    family_of: str | None = None  # staff only: whose family a guest is
    link: Literal["phone"] | None = None  # a caller (companion/rooms/phone.py)


@payload_of("waiting")
class Waiting(InSession):
    waiting: list[AtTheDoor]


@payload_of("kept_out")
class KeptOut(InSession):
    kept_out: list[AtTheDoor]


@payload_of("knock")
class Knock(InSession):
    user_id: int
    name: str
    family_of: str | None = None
    link: Literal["phone"] | None = None  # knocking by phone; never the number


@payload_of("admitted_notice")
class AdmittedNotice(InSession):
    pass


@payload_of("reaction")
class Reaction(InSession):
    user_id: int
    emoji: str


@payload_of("error")
class Error(EventPayload):
    """A refused event, for clients that sent no ack (the ack says the same)."""

    event: str
    ok: Literal[False]
    error: str
    detail: str | None = None
    field: str | None = None


@payload_of("signed_out")
class SignedOut(EventPayload):
    """The socket's login ended; the socket is closed next."""


@payload_of("resync")
class Resync(Stored):
    """The message queue was cut off: ask for what came after ``seq`` again."""


# --- audio and video ------------------------------------------------------------------------


@payload_of("rtc_restart")
class RtcRestart(InSession):
    pass


@payload_of("rtc_active_speaker")
class RtcActiveSpeaker(InSession):
    user_id: int


class Slot(EventPayload):
    mid: str
    user_id: int | None  # None: an empty slot


@payload_of("rtc_slots")
class RtcSlots(InSession):
    slots: list[Slot]


@payload_of("rtc_quality")
class RtcQuality(InSession):
    user_id: int
    profile: Literal["standard", "low_bandwidth", "audio_only"]
    rtt_ms: float | None = None
    loss: float | None = None
    send_kbps: float | None = None


@payload_of("rtc_peer_state")
class RtcPeerState(InSession):
    user_id: int
    state: PeerState
