"""A client's place in a program."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.models.base import Base
from companion.models.clinic import Phase, Program
from companion.models.users import User

ADULT_WEEKLY_HOURS = 9  # ASAM level 2.1: adults 9-19 hours a week
ADOLESCENT_WEEKLY_HOURS = 6  # adolescents 6-19


class Enrollment(Base):
    __tablename__ = "enrollment"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    phase_id: Mapped[int | None] = mapped_column(ForeignKey("phase.id"), default=None)
    # The counselor who carries this client's case, beside the counselors of their groups.
    primary_counselor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), default=None, index=True
    )
    start_date: Mapped[date] = mapped_column()
    end_date: Mapped[date | None] = mapped_column(default=None)
    adolescent: Mapped[bool] = mapped_column(default=False)
    weekly_hours_target: Mapped[int] = mapped_column(default=ADULT_WEEKLY_HOURS)

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    program: Mapped[Program] = relationship()
    phase: Mapped[Phase | None] = relationship()
