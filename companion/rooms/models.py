"""Live rooms: who is admitted, what happened (numbered per room), and time spent there."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from companion.core.models import Base, utcnow


class ParticipantState(enum.StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    REMOVED = "removed"
    # Came while the room was locked: staff see them at the door; unlocking makes them WAITING.
    KEPT_OUT = "kept_out"


class RoomParticipant(Base):
    """A person's standing in one session's room; staff are admitted by right."""

    __tablename__ = "room_participant"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("care_session.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    state: Mapped[ParticipantState] = mapped_column(
        Enum(ParticipantState, name="participant_state",
             values_callable=lambda e: [m.value for m in e])
    )
    knocked_at: Mapped[datetime] = mapped_column(default=utcnow)
    admitted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Came to the door by phone (companion/rooms/phone.py): staff see the knock marked so.
    by_phone: Mapped[bool] = mapped_column(default=False, server_default=false())
    chat_muted: Mapped[bool] = mapped_column(default=False)
    audio_muted: Mapped[bool] = mapped_column(default=False)
    video_muted: Mapped[bool] = mapped_column(default=False)


class RoomEvent(Base):
    """A room event that matters (chat, hands, check-ins, admissions, moderation).

    ``seq`` numbers a room's events without gaps, so a client that reconnects asks for what
    came after the last one it saw. ``client_id`` is the sender's own id for the message:
    a retry with the same id finds this row instead of storing a second one.
    """

    __tablename__ = "room_event"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_room_event_seq"),
        UniqueConstraint("session_id", "actor_id", "client_id", name="uq_room_event_client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("care_session.id"), index=True)
    seq: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Modality(enum.StrEnum):
    VIDEO = "video"
    AUDIO = "audio_only"
    CHAT = "chat_only"
    # A caller on the phone (companion/dialin): audio only, as a claim names it "phone".
    PHONE = "phone"


class AttendanceInterval(Base):
    """One stretch of presence the server saw (room joined → left or dropped)."""

    __tablename__ = "attendance_interval"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("care_session.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    modality: Mapped[Modality] = mapped_column(
        Enum(Modality, name="attendance_modality", values_callable=lambda e: [m.value for m in e])
    )
    # The socket that holds it open; closed when that socket goes.
    connection_id: Mapped[str] = mapped_column(String(64), index=True)


class AttendanceAttestation(Base):
    """The counselor's signature on a session's attendance, as the clinical record needs."""

    __tablename__ = "attendance_attestation"
    __table_args__ = (UniqueConstraint("session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("care_session.id"))
    counselor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    attested_at: Mapped[datetime] = mapped_column(default=utcnow)
