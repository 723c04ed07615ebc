"""Dial-in's bodies and answers (the OpenAPI document's models)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from companion.core.schemas import Strict


class DialInOut(BaseModel):
    number: str = Field(description="The number to call, as it is dialled (COMPANION_SIP_NUMBER)")
    pin: str = Field(description="The client's PIN: key it, then #", pattern=r"^[0-9]{6,12}$")


class PhoneNumberBody(Strict):
    number: str | None = Field(max_length=40, description="The client's phone number as "
                               "people write it ((555) 555-0123, +44 20 7946 0958); null or "
                               "empty erases it")


class PhoneNumberOut(BaseModel):
    client_id: int
    number: str | None = Field(description="E.164 (+15555550123), what the line dials")
    shown: str | None = Field(description="The number as a person reads it")


class CallBody(Strict):
    user_id: int = Field(gt=0, description="The client of the session to call")


class PhoneCallOut(BaseModel):
    session_id: int
    id: int
    user_id: int
    state: str = Field(description="requested, dialing, ringing, answered, in_room; or how it "
                       "ended: ended, busy, no_answer, wrong_pin, failed, line_down, cancelled")
    under_way: bool
    text: str = Field(description="The step as the counselor reads it")


class Callable(BaseModel):
    user_id: int
    display_name: str


class RoomPhonesOut(BaseModel):
    callable: list[Callable] = Field(description="The session's clients with a number on file "
                                     "who are not in the room")
    calls: list[PhoneCallOut] = Field(description="The session's latest calls, latest first")
