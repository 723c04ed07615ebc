"""Dial-in's records: each client's PIN (a keyed hash to find it, sealed to show it again), the
failed tries that bound guessing (by a keyed hash of the calling number, never the number), a
client's own number (sealed) and the calls counselors place to it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum as SAEnum
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from companion.core.models import Base, utcnow


class DialInPin(Base):
    """A client's PIN for joining their sessions by phone (docs/dial-in.md, "PINs").

    ``pin_lookup`` is HMAC-SHA256 of the PIN under a key derived from the app's secret: a copy
    of the database alone does not give the PINs, and a caller's PIN is found by one indexed
    read. It is unique across the whole server, not only per program: one number answers for
    every program, so a PIN must name one person wherever it is keyed. ``pin_sealed`` is the
    PIN encrypted (Fernet) under another derived key, so the client can read it again.
    """

    __tablename__ = "dial_in_pin"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    # The program of the enrolment it was made for (moved with a new enrolment).
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    pin_lookup: Mapped[str] = mapped_column(String(64), unique=True)
    pin_sealed: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DialInFailure(Base):
    """A PIN keyed on a call that named nobody (docs/dial-in.md, "Limits"). Counted per calling
    number and in all over the last hour; older rows are deleted as new ones come. The number
    is kept only as ``caller_key``, HMAC-SHA256 under a key derived from the app's secret: the
    limit can tell two callers apart, nobody can read who called."""

    __tablename__ = "dial_in_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ClientPhone(Base):
    """The number a client answers, for a counselor's call out of the room (docs/dial-in.md,
    "Calling a client"). Kept sealed (Fernet, under a key derived from the app's secret, as
    the PIN is): a copy of the database does not give who is in treatment at which number."""

    __tablename__ = "client_phone"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    number_sealed: Mapped[str] = mapped_column(String(200))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallState(enum.StrEnum):
    """Where a call out to a client stands. The first five are under way; the rest are how
    it ended (docs/dial-in.md, "Calling a client")."""

    REQUESTED = "requested"  # asked for in the room; the line takes it within a second or two
    DIALING = "dialing"  # the line sent it to the trunk
    RINGING = "ringing"
    ANSWERED = "answered"  # picked up: the PIN is asked, whoever answered
    IN_ROOM = "in_room"  # the client's PIN was keyed: they are in the session
    ENDED = "ended"  # over after the client was in the room
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    WRONG_PIN = "wrong_pin"  # answered, but not the client's PIN (or no keys at all)
    FAILED = "failed"  # refused by the trunk or the network
    LINE_DOWN = "line_down"  # the line never took it (not running, or not registered)
    CANCELLED = "cancelled"  # the counselor cancelled it before the client was in


UNDER_WAY = frozenset({CallState.REQUESTED, CallState.DIALING, CallState.RINGING,
                       CallState.ANSWERED, CallState.IN_ROOM})


class PhoneCall(Base):
    """A counselor's call out to a client's phone, for one session. The line reads the
    requested ones (an indexed read each second) and writes each step back."""

    __tablename__ = "phone_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("care_session.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    state: Mapped[CallState] = mapped_column(
        SAEnum(CallState, native_enum=False, length=20,
               values_callable=lambda e: [m.value for m in e]),
        index=True, default=CallState.REQUESTED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
