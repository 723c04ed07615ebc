"""A person's notification preferences, their devices' push subscriptions, and each
notification with its deliveries (one per channel and device)."""

from __future__ import annotations

import enum
from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.core.models import Base, utcnow


def _text_enum(kind: type[enum.Enum], name: str) -> Enum:
    """Stored as its values in a VARCHAR: a new kind needs no ALTER TYPE."""
    return Enum(kind, name=name, native_enum=False, create_constraint=False, length=30,
                values_callable=lambda e: [m.value for m in e])


class NotificationKind(enum.StrEnum):
    SESSION_REMINDER = "session_reminder"
    CHECKIN_REMINDER = "checkin_reminder"
    MEASURE_DUE = "measure_due"
    MODULE_ASSIGNED = "module_assigned"
    SCHEDULE_CHANGE = "schedule_change"
    RISK_ALERT = "risk_alert"


class Channel(enum.StrEnum):
    PUSH = "push"
    EMAIL = "email"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at (also while held by quiet hours)
    SENT = "sent"
    FAILED = "failed"  # refused for good, or retried until no longer useful
    GONE = "gone"  # the push service said the subscription no longer exists
    SKIPPED = "skipped"  # no longer useful, turned off since, or no mail server set


class NotificationPreference(Base):
    """One person's choices; a person without a row has the defaults (every kind, both
    channels, no quiet hours, no check-in reminder)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    push: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)
    # Local times in the person's zone; start > end spans midnight (22:00 to 07:00).
    quiet_start: Mapped[time | None] = mapped_column(default=None)
    quiet_end: Mapped[time | None] = mapped_column(default=None)
    checkin_reminder_at: Mapped[time | None] = mapped_column(default=None)
    # kind -> on; a kind missing is on.
    kinds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushSubscription(Base):
    """A browser's PushSubscription on one device, as PushSubscription.toJSON() gave it."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # Unique: a browser has one endpoint, and the person last signed in on it owns it.
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    # The login it was made in: logging out of that login removes it (a shared phone).
    login_session_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """One notification to one person. The key (person, kind, occurrence) is unique: a second
    process, or a retried pass, making the same one makes nothing."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "occurrence", name="uq_notification_occurrence"),
        Index("ix_notification_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[NotificationKind] = mapped_column(_text_enum(NotificationKind,
                                                              "notification_kind"))
    # What it is about, such as "session:12:10:2026-12-01T18:00:00+00:00" (a session, the
    # reminder's lead in minutes, its start) or "alert:7".
    occurrence: Mapped[str] = mapped_column(String(160))
    # The generic texts shown outside the app (companion/notifications/wording.py) and the
    # page it opens.
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Past this it is no longer worth sending (a session that has ended, a day that is over).
    expires_at: Mapped[datetime] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column(default=None)

    deliveries: Mapped[list[NotificationDelivery]] = relationship(
        back_populates="notification", order_by="NotificationDelivery.id",
        cascade="all, delete-orphan")


class NotificationDelivery(Base):
    """One channel's try at one notification: an email, or a push to one subscription. Each is
    claimed by one process at a time (a conditional update of next_attempt_at), sent outside
    any transaction, and retried with backoff on its own."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "target", name="uq_notification_delivery_target"),
        Index("ix_notification_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_text_enum(Channel, "notification_channel"))
    # "email", or "push:<subscription id>" (the subscription may be gone since).
    target: Mapped[str] = mapped_column(String(40))
    subscription_id: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[DeliveryStatus] = mapped_column(
        _text_enum(DeliveryStatus, "notification_delivery_status"),
        default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # Why the last try failed, for the operator: "HTTP 503", "no answer" (never the content).
    last_error: Mapped[str | None] = mapped_column(String(80), default=None)

    notification: Mapped[Notification] = relationship(back_populates="deliveries")
