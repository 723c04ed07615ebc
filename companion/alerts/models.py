"""Risk alerts for the counselors who treat a client (docs/domain.md, Safety: risk signals)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.accounts.models import User
from companion.core.models import Base, utcnow


class AlertKind(enum.StrEnum):
    CRAVING_HIGH = "craving_high"
    NEED_TO_TALK = "need_to_talk"
    USE_REPORTED = "use_reported"
    PHQ9_ITEM9 = "phq9_item9"
    MISSED_CHECKINS = "missed_checkins"


class AlertUrgency(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        # One alert of a kind per source record: a retried entry never alerts twice.
        UniqueConstraint("source_type", "source_id", "kind", name="uq_alert_source"),
        Index("ix_alert_client_id_created_at", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[AlertKind] = mapped_column(
        Enum(AlertKind, name="alert_kind", values_callable=lambda e: [m.value for m in e])
    )
    urgency: Mapped[AlertUrgency] = mapped_column(
        Enum(AlertUrgency, name="alert_urgency", values_callable=lambda e: [m.value for m in e])
    )
    # What raised it: ("checkin", uuid), ("craving", uuid), ("measure", uuid)...
    source_type: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), default=None
    )
    ack_note: Mapped[str | None] = mapped_column(String(1000), default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)

    client: Mapped[User] = relationship(foreign_keys=[client_id])
