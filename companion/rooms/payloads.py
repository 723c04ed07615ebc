"""What a socket sends with each room event: one model per event, checked before any handler
runs (``room_event`` in companion/rooms/sockets.py). Text fields are bounded, ids are row ids,
and nothing else is accepted."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from companion.core.inputs import MAX_ID, RecordId
from companion.rooms.chat import MAX_CHAT_LENGTH

ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
REACTIONS = {"👍", "❤️", "👏", "🙏", "😊", "💪"}


# Every event's payload model, by event name (tests/test_api_fuzz.py sends each one odd values).
PAYLOADS: dict[str, type[BaseModel]] = {}
# A room's event numbers are `integer` columns, like row ids.
Seq = Annotated[int, Field(ge=0, le=MAX_ID)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Bounded like the API's ids: a number past 64 bits would overflow the database driver.
    session_id: RecordId


class JoinPayload(Payload):
    last_seq: Seq | None = None


class ChatPayload(Payload):
    id: ClientId
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=MAX_CHAT_LENGTH)]


class HandPayload(Payload):
    user_id: RecordId | None = None


class UserPayload(Payload):
    user_id: RecordId


class MutePayload(UserPayload):
    what: Literal["chat", "audio", "video"]


class LockPayload(Payload):
    locked: bool


class SeqPayload(Payload):
    seq: Seq


class ReactionPayload(Payload):
    emoji: str


class CheckinPayload(Payload):
    id: ClientId
    mood: int = Field(ge=0, le=10)
    craving: int = Field(ge=0, le=10)
    word: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = ""


class PassPayload(Payload):
    id: ClientId


