"""Completed measures (PHQ-9, GAD-7, BAM) and when each is due for a client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from companion.core.models import Base, utcnow


class Measure(Base):
    """One completed questionnaire; its id is made on the device (stored exactly once)."""

    __tablename__ = "measure"
    __table_args__ = (Index("ix_measure_client_id_completed_at", "client_id", "completed_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(10))  # phq9, gad7, bam
    answers: Mapped[list[Any]] = mapped_column(JSON)
    total: Mapped[int | None] = mapped_column(default=None)
    band: Mapped[str | None] = mapped_column(String(30), default=None)
    subscales: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    crisis: Mapped[bool] = mapped_column(default=False)
    completed_at: Mapped[datetime] = mapped_column()
    utc_offset_minutes: Mapped[int] = mapped_column(default=0)
    body_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeasureSchedule(Base):
    """A counselor's plan: this measure for this client, every N weeks."""

    __tablename__ = "measure_schedule"
    __table_args__ = (UniqueConstraint("client_id", "kind", name="uq_measure_schedule_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    every_weeks: Mapped[int] = mapped_column(default=4)
    next_due: Mapped[datetime] = mapped_column()
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
