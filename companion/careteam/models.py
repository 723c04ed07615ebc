"""Contingency management (docs/domain.md): a program's reward settings, staff-entered test results,
and the append-only ledger of what each client earned.

The ledger is append-only: the database refuses UPDATE and DELETE on ``reward_entry`` (triggers
in migration 0007_care), and each behaviour occurrence is paid at most once, by the unique key
(client, behaviour, occurrence).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from companion.core.models import Base, utcnow

# Behaviours a program can reward.
BEHAVIOUR_ATTENDANCE = "attendance"
BEHAVIOUR_CHECKIN = "checkin"
BEHAVIOUR_NEGATIVE_TEST = "negative_test"
BEHAVIOURS = (BEHAVIOUR_ATTENDANCE, BEHAVIOUR_CHECKIN, BEHAVIOUR_NEGATIVE_TEST)

SCHEME_FISHBOWL = "fishbowl"
SCHEME_POINTS = "points"

# Petry's prize bowl: 500 slips, half of them "good job", most prizes small, one jumbo.
DEFAULT_BOWL = {"good_job": 250, "small": 219, "large": 30, "jumbo": 1}
PRIZE_TIERS = ("good_job", "small", "large", "jumbo")


class RewardSettings(Base):
    """One program's contingency-management settings (set by the program's admin)."""

    __tablename__ = "reward_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), unique=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    scheme: Mapped[str] = mapped_column(String(10), default=SCHEME_FISHBOWL)
    behaviours: Mapped[list[str]] = mapped_column(JSON, default=list)
    # fishbowl: slips per tier, draws for the first success, added per consecutive success, cap
    bowl: Mapped[dict[str, int]] = mapped_column(JSON, default=lambda: dict(DEFAULT_BOWL))
    draws_start: Mapped[int] = mapped_column(default=1)
    draws_step: Mapped[int] = mapped_column(default=1)
    draws_max: Mapped[int] = mapped_column(default=8)
    # escalating points: first success, added per consecutive success, cap
    points_start: Mapped[int] = mapped_column(default=10)
    points_step: Mapped[int] = mapped_column(default=5)
    points_max: Mapped[int] = mapped_column(default=100)
    # attendance counts when the client was present at least this long in the session
    attendance_min_minutes: Mapped[int] = mapped_column(default=60)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"),
                                                      default=None)


class TestResult(Base):
    """A urine or saliva drug test entered by staff; its id is made on the device."""

    __tablename__ = "test_result"
    __test__ = False  # not a pytest class

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    collected_at: Mapped[datetime] = mapped_column()
    # negative, positive, or missed (a missed or refused test counts as positive in CM)
    result: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(280), default="")
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    body_hash: Mapped[str] = mapped_column(String(64))


class RewardEntry(Base):
    """One line of a client's ledger: a success (what it paid) or a lapse (the streak reset).

    ``occurrence`` names the behaviour's occurrence: the local date of a check-in, the session
    of an attendance, the collection date of a test. Points are never negative: a lapse pays
    nothing and takes nothing away.
    """

    __tablename__ = "reward_entry"
    __table_args__ = (
        UniqueConstraint("client_id", "behaviour", "occurrence", name="uq_reward_entry_once"),
        CheckConstraint("points >= 0", name="points_not_negative"),
        CheckConstraint("draws >= 0", name="draws_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    behaviour: Mapped[str] = mapped_column(String(20))
    occurrence: Mapped[str] = mapped_column(String(64))
    occurred_on: Mapped[date] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(10))  # success, lapse
    scheme: Mapped[str] = mapped_column(String(10))
    streak: Mapped[int] = mapped_column(default=0)
    points: Mapped[int] = mapped_column(default=0)
    draws: Mapped[int] = mapped_column(default=0)
    # fishbowl: the tier of each slip drawn, in order
    prizes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Psychoeducation
# Psychoeducation modules a counselor assigns to a client (the modules are data files).

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
