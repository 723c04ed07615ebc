"""Therapy groups, their weekly schedule, and the sessions (occurrences) people join."""

from __future__ import annotations

import enum
from datetime import datetime, time, timedelta

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.models.base import Base
from companion.models.clinic import Program
from companion.models.users import User

# A room opens this long before its start, so people can test their link and wait to be admitted.
ROOM_OPENS_BEFORE = timedelta(minutes=15)


class GroupRole(enum.StrEnum):
    CLIENT = "client"
    PEER_SUPPORTER = "peer_supporter"
    COUNSELOR = "counselor"  # a co-facilitator beside the group's lead counselor


class Group(Base):
    __tablename__ = "therapy_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    counselor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)

    program: Mapped[Program] = relationship()
    counselor: Mapped[User] = relationship()
    members: Mapped[list[GroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan"
    )
    schedule: Mapped[list[GroupSchedule]] = relationship(
        back_populates="group", cascade="all, delete-orphan"
    )


class GroupMember(Base):
    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("therapy_group.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[GroupRole] = mapped_column(
        Enum(GroupRole, name="group_role", values_callable=lambda e: [m.value for m in e])
    )

    group: Mapped[Group] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class GroupSchedule(Base):
    """One weekly slot, in the program's time zone (so it follows daylight saving)."""

    __tablename__ = "group_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("therapy_group.id"), index=True)
    weekday: Mapped[int] = mapped_column()  # 0 = Monday, as Python's date.weekday()
    start_time: Mapped[time] = mapped_column()
    duration_minutes: Mapped[int] = mapped_column(default=180)

    group: Mapped[Group] = relationship(back_populates="schedule")


class SessionKind(enum.StrEnum):
    GROUP = "group"
    INDIVIDUAL = "individual"


class Session(Base):
    """One occurrence: a group meeting or a 1:1 with a counselor."""

    __tablename__ = "care_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    kind: Mapped[SessionKind] = mapped_column(
        Enum(SessionKind, name="session_kind", values_callable=lambda e: [m.value for m in e])
    )
    group_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_group.id"), index=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The client of a 1:1 session; None for group sessions.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # Room state: a locked room admits nobody new; last_seq numbers its stored events.
    locked: Mapped[bool] = mapped_column(default=False)
    last_seq: Mapped[int] = mapped_column(default=0)
    # A family session: family members a client of it invited may join, while that client's
    # Part 2 consent (category "family_sessions") is in force (policy.session_role).
    family: Mapped[bool] = mapped_column(default=False, server_default=false())

    group: Mapped[Group | None] = relationship()
    counselor: Mapped[User] = relationship(foreign_keys=[counselor_id])
    client: Mapped[User | None] = relationship(foreign_keys=[client_id])

    def state(self, now: datetime) -> str:
        """scheduled, open (the waiting room is open), in_progress or ended."""
        if self.ended_at is not None or now >= self.ends_at:
            return "ended"
        if now >= self.starts_at:
            return "in_progress"
        if now >= self.starts_at - ROOM_OPENS_BEFORE:
            return "open"
        return "scheduled"
