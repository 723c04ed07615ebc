"""A client's daily self-care records: check-ins, craving logs, coping exercises, safety plan.

Entries written from the device carry the id the device made (a UUID), so a retry finds the
stored row instead of writing a second one. ``occurred_at`` is the moment on the device (stored in
UTC) and ``utc_offset_minutes`` the offset the device had then, so the client's own day is known.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from companion.core.models import Base, utcnow


class UsedAnswer(enum.StrEnum):
    YES = "yes"
    NO = "no"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"


class SleepQuality(enum.StrEnum):
    """The Consensus Sleep Diary's five-point rating."""

    VERY_POOR = "very_poor"
    POOR = "poor"
    FAIR = "fair"
    GOOD = "good"
    VERY_GOOD = "very_good"


class _DeviceEntry:
    """Columns every entry made on the device has."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    occurred_at: Mapped[datetime] = mapped_column()
    utc_offset_minutes: Mapped[int] = mapped_column(default=0)
    # The client's calendar day of the entry (occurred_at in the device's offset).
    local_date: Mapped[date] = mapped_column()
    # SHA-256 of the normalised request body: a retry must match it exactly.
    body_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckIn(_DeviceEntry, Base):
    __tablename__ = "checkin"
    __table_args__ = (Index("ix_checkin_client_id_occurred_at", "client_id", "occurred_at"),)

    mood: Mapped[int] = mapped_column()
    craving: Mapped[int] = mapped_column()
    sleep_hours: Mapped[float | None] = mapped_column(default=None)
    sleep_quality: Mapped[SleepQuality | None] = mapped_column(
        Enum(SleepQuality, name="sleep_quality",
             values_callable=lambda e: [m.value for m in e]),
        default=None,
    )
    used: Mapped[UsedAnswer] = mapped_column(
        Enum(UsedAnswer, name="used_answer", values_callable=lambda e: [m.value for m in e])
    )
    # None: not on medication for opioid use disorder (MOUD), or did not say.
    medication_taken: Mapped[bool | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(String(280), default="")
    need_to_talk: Mapped[bool] = mapped_column(default=False)


class Craving(_DeviceEntry, Base):
    __tablename__ = "craving"
    __table_args__ = (Index("ix_craving_client_id_occurred_at", "client_id", "occurred_at"),)

    intensity: Mapped[int] = mapped_column()
    triggers: Mapped[list[str]] = mapped_column(JSON, default=list)
    trigger_other: Mapped[str] = mapped_column(String(200), default="")
    where: Mapped[str] = mapped_column(String(200), default="")
    with_whom: Mapped[str] = mapped_column(String(200), default="")
    coping: Mapped[list[str]] = mapped_column(JSON, default=list)
    used: Mapped[bool] = mapped_column(default=False)
    duration_minutes: Mapped[int | None] = mapped_column(default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


class CopingCompletion(_DeviceEntry, Base):
    __tablename__ = "coping_completion"
    __table_args__ = (
        Index("ix_coping_completion_client_id_occurred_at", "client_id", "occurred_at"),
    )

    exercise: Mapped[str] = mapped_column(String(40))
    craving_before: Mapped[int | None] = mapped_column(default=None)
    craving_after: Mapped[int | None] = mapped_column(default=None)
    duration_seconds: Mapped[int | None] = mapped_column(default=None)
    # What the client wrote in the exercise's form (a thought record's seven fields...).
    responses: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")


class SafetyPlan(Base):
    """The Stanley-Brown safety plan: six steps, one plan per client, written with the counselor."""

    __tablename__ = "safety_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    # Each step is a list of short lines; contacts are {"name", "phone"}.
    warning_signs: Mapped[list[str]] = mapped_column(JSON, default=list)
    coping_strategies: Mapped[list[str]] = mapped_column(JSON, default=list)
    distractions: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    help_contacts: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    professionals: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    environment: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason_for_living: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
