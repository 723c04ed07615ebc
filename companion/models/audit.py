"""The append-only audit log: who read or changed which record, when, from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from companion.models.base import Base, utcnow


class AuditEvent(Base):
    """One access. Each row carries the hash of the previous row, so an edit breaks the chain.

    The database refuses UPDATE and DELETE on this table (triggers in the migration).
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))  # read, create, update, delete, login...
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(64))
    # Whose record it is, so a client can be shown who accessed theirs.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10), default="http")  # http, socket, cli
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
