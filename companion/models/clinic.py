"""Clinics, their programs and the phases a client moves through."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.models.base import Base


class Clinic(Base):
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))

    programs: Mapped[list[Program]] = relationship(back_populates="clinic")


class Program(Base):
    """An IOP program: its time zone and the clinical settings its staff chose."""

    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    # Risk settings (docs/domain.md): craving at or above this raises an alert.
    craving_alert_threshold: Mapped[int] = mapped_column(default=8)
    alert_escalation_minutes: Mapped[int] = mapped_column(default=30)
    # Group privacy: chat is deleted this long after a session ends.
    chat_retention_hours: Mapped[int] = mapped_column(default=24)
    # Staff who receive alerts nobody acknowledged within alert_escalation_minutes.
    on_call_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    clinic: Mapped[Clinic] = relationship(back_populates="programs")
    phases: Mapped[list[Phase]] = relationship(
        back_populates="program", order_by="Phase.position"
    )


class Phase(Base):
    """A step of a program (early recovery, relapse prevention, continuing care...)."""

    __tablename__ = "phase"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(500), default="")

    program: Mapped[Program] = relationship(back_populates="phases")
