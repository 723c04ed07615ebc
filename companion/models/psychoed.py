"""Psychoeducation modules a counselor assigns to a client (the modules are data files)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from companion.models.base import Base, utcnow


class PsychoedAssignment(Base):
    __tablename__ = "psychoed_assignment"
    __table_args__ = (UniqueConstraint("client_id", "module", name="uq_psychoed_assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    module: Mapped[str] = mapped_column(String(40))
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
