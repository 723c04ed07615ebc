"""The clinical note of a session: a part shared by the group, a part per client, its signature
and the addenda after it.

A signed note is final: the database itself refuses to change or delete it, or its rows per
client, and addenda are append-only (triggers in migrations/versions/0013_clinical_notes.py).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.core.models import Base, utcnow


def _text_enum(kind: type[enum.Enum], name: str) -> Enum:
    """An enum stored as its values in a VARCHAR: a new value needs no ALTER TYPE."""
    return Enum(kind, name=name, native_enum=False, create_constraint=False, length=20,
                values_callable=lambda e: [m.value for m in e])


class NoteFormat(enum.StrEnum):
    DAP = "dap"
    BIRP = "birp"
    SOAP = "soap"


# Each format's parts, in the order a note is read (docs/notes.md).
FORMAT_PARTS: dict[NoteFormat, tuple[str, ...]] = {
    NoteFormat.DAP: ("data", "assessment", "plan"),
    NoteFormat.BIRP: ("behavior", "intervention", "response", "plan"),
    NoteFormat.SOAP: ("subjective", "objective", "assessment", "plan"),
}


class Attendance(enum.StrEnum):
    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    ABSENT = "absent"


class NoteModality(enum.StrEnum):
    """How the client took part, as a claim names it (not how the room carried it)."""

    VIDEO = "video"
    AUDIO_ONLY = "audio_only"  # in the app, without video
    PHONE = "phone"  # a telephone call
    IN_PERSON = "in_person"  # at the program (a hybrid group)


TELEHEALTH = frozenset({NoteModality.VIDEO, NoteModality.AUDIO_ONLY, NoteModality.PHONE})
AUDIO_ONLY = frozenset({NoteModality.AUDIO_ONLY, NoteModality.PHONE})


class ClientLocation(enum.StrEnum):
    HOME = "home"
    OTHER = "other"


class AudioOnlyReason(enum.StrEnum):
    NO_VIDEO_CAPABILITY = "no_video_capability"
    DECLINED_VIDEO = "declined_video"


class ClinicalNote(Base):
    """One session's note; its id is made by the counselor's device (stored exactly once)."""

    __tablename__ = "clinical_note"
    __table_args__ = (UniqueConstraint("session_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("care_session.id"))
    format: Mapped[NoteFormat] = mapped_column(_text_enum(NoteFormat, "note_format"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The part every participant's chart receives (topic, interventions); None for a 1:1.
    shared: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(default=None)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"),
                                                     default=None)
    # Signed more than LATE_AFTER after the session ended: the note says it is a late entry.
    late_entry: Mapped[bool] = mapped_column(default=False)
    # The first request's body: a retry with the same id and body answers the stored note.
    body_hash: Mapped[str] = mapped_column(String(64))

    participants: Mapped[list[NoteParticipant]] = relationship(
        back_populates="note", order_by="NoteParticipant.position",
        cascade="all, delete-orphan")
    addenda: Mapped[list[NoteAddendum]] = relationship(
        back_populates="note", order_by="[NoteAddendum.created_at, NoteAddendum.id]")


class NoteParticipant(Base):
    """One client's part of a note: attendance, telehealth details and their own sections."""

    __tablename__ = "note_participant"
    __table_args__ = (UniqueConstraint("note_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[str] = mapped_column(ForeignKey("clinical_note.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    attendance: Mapped[Attendance] = mapped_column(_text_enum(Attendance, "note_attendance"))
    minutes: Mapped[int] = mapped_column(default=0)
    modality: Mapped[NoteModality | None] = mapped_column(
        _text_enum(NoteModality, "note_modality"), default=None)
    location: Mapped[ClientLocation | None] = mapped_column(
        _text_enum(ClientLocation, "note_client_location"), default=None)
    identity_checked: Mapped[str | None] = mapped_column(String(200), default=None)
    audio_only_reason: Mapped[AudioOnlyReason | None] = mapped_column(
        _text_enum(AudioOnlyReason, "note_audio_only_reason"), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    note: Mapped[ClinicalNote] = relationship(back_populates="participants")


class NoteAddendum(Base):
    """A dated correction or addition to a signed note, by its author; never changed."""

    __tablename__ = "note_addendum"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    note_id: Mapped[str] = mapped_column(ForeignKey("clinical_note.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    body_hash: Mapped[str] = mapped_column(String(64))

    note: Mapped[ClinicalNote] = relationship(back_populates="addenda")
