"""The event dial-in sends (registered with core/event_schemas.py, checked in debug and testing):
a call out to a client's phone, at each step, to the staff of the session's room."""

from __future__ import annotations

from typing import Literal

from companion.core.event_schemas import EventPayload, payload_of

CallStateName = Literal["requested", "dialing", "ringing", "answered", "in_room", "ended",
                        "busy", "no_answer", "wrong_pin", "failed", "line_down", "cancelled"]


@payload_of("phone_call")
class PhoneCallEvent(EventPayload):
    session_id: int
    id: int
    user_id: int
    state: CallStateName
    under_way: bool  # the call may still reach the room (a "Cancel" is offered)
    text: str  # the step as the counselor reads it; never the number
