"""Dial-in's records: each client's PIN (a keyed hash to find it, sealed to show it again) and
the failed tries that bound guessing (by a keyed hash of the calling number, never the number)."""

from __future__ import annotations

from datetime import datetime

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
