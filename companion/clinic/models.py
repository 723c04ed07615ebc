"""Therapy groups, their weekly schedule, and the sessions (occurrences) people join."""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.accounts.models import Clinic, User
from companion.core.models import Base, utcnow

# A room opens this long before its start, so people can test their link and wait to be admitted.
ROOM_OPENS_BEFORE = timedelta(minutes=15)


def _text_enum(kind: type[enum.Enum], name: str) -> Enum:
    """An enum stored as its values in a VARCHAR: new values need no ALTER TYPE."""
    return Enum(kind, name=name, native_enum=False, create_constraint=False, length=40,
                values_callable=lambda e: [m.value for m in e])


class GroupRole(enum.StrEnum):
    CLIENT = "client"
    PEER_SUPPORTER = "peer_supporter"
    COUNSELOR = "counselor"  # a co-facilitator beside the group's lead counselor


class GroupKind(enum.StrEnum):
    PROCESS = "process"
    RELAPSE_PREVENTION = "relapse_prevention"
    EARLY_RECOVERY_SKILLS = "early_recovery_skills"
    EDUCATION = "education"
    FAMILY = "family"
    CONTINUING_CARE = "continuing_care"


class Group(Base):
    __tablename__ = "therapy_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The lead counselor: facilitates its sessions, writes their notes.
    counselor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[GroupKind] = mapped_column(_text_enum(GroupKind, "group_kind"),
                                            default=GroupKind.PROCESS)
    # Its weekly slots make sessions from starts_on (to ends_on, if set), in the program's zone.
    starts_on: Mapped[date | None] = mapped_column(default=None)
    ends_on: Mapped[date | None] = mapped_column(default=None)
    # An archived group makes no more sessions; its past ones stay in the record.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

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
    # A group's occurrence of a weekly slot exists once, whichever process made it first.
    __table_args__ = (UniqueConstraint("group_id", "slot_start", name="uq_session_group_slot"),)

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
    # The weekly slot this occurrence was made from (its start before any move); None for a
    # session scheduled by hand.
    slot_start: Mapped[datetime | None] = mapped_column(default=None)
    # Cancelled by staff or by a closed day: members see it with the reason, nobody joins.
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(300), default=None)

    group: Mapped[Group | None] = relationship()
    counselor: Mapped[User] = relationship(foreign_keys=[counselor_id])
    client: Mapped[User | None] = relationship(foreign_keys=[client_id])

    def state(self, now: datetime) -> str:
        """scheduled, open (the waiting room is open), in_progress, ended or cancelled."""
        if self.cancelled_at is not None:
            return "cancelled"
        if self.ended_at is not None or now >= self.ends_at:
            return "ended"
        if now >= self.starts_at:
            return "in_progress"
        if now >= self.starts_at - ROOM_OPENS_BEFORE:
            return "open"
        return "scheduled"


# Programs and the phases a client moves through

class LevelOfCare(enum.StrEnum):
    IOP = "iop"  # ASAM 2.1: adults 9 hours a week or more, adolescents 6
    OP = "op"  # outpatient, continuing care


class Program(Base):
    """An IOP program: its time zone and the clinical settings its staff chose."""

    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    level_of_care: Mapped[LevelOfCare] = mapped_column(_text_enum(LevelOfCare, "level_of_care"),
                                                       default=LevelOfCare.IOP)
    # An adolescent program: its weekly target is 6 hours, not 9 (docs/domain.md).
    adolescent: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Risk settings (docs/domain.md): craving at or above this raises an alert.
    craving_alert_threshold: Mapped[int] = mapped_column(default=8)
    alert_escalation_minutes: Mapped[int] = mapped_column(default=30)
    # Group privacy: chat is deleted this long after a session ends.
    chat_retention_hours: Mapped[int] = mapped_column(default=24)
    # Staff who receive alerts nobody acknowledged within alert_escalation_minutes.
    on_call_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Clinical notes (companion/notes): the format its counselors write (dap, birp or soap),
    # and what its payers want on a claim (service code, its daily minimum, a modifier per
    # modality); None keeps the defaults of companion/notes/billing.py.
    note_format: Mapped[str] = mapped_column(String(10), default="dap", server_default="dap")
    payer_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Phone dial-in (companion/dialin, docs/dial-in.md): its clients may join sessions by
    # calling the server's number with their PIN; its counselors may call a client out of a
    # room. Both off until the admin turns them on, and dial-in needs the server's number.
    dial_in_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    outbound_calls_allowed: Mapped[bool] = mapped_column(default=False, server_default=false())

    clinic: Mapped[Clinic] = relationship(back_populates="programs")
    phases: Mapped[list[Phase]] = relationship(
        back_populates="program", order_by="Phase.position"
    )
    closed_days: Mapped[list[ClosedDay]] = relationship(
        back_populates="program", order_by="ClosedDay.day", cascade="all, delete-orphan"
    )


class ClosedDay(Base):
    """A day the program does not meet (a holiday): that day's occurrences are cancelled."""

    __tablename__ = "program_closed_day"
    __table_args__ = (UniqueConstraint("program_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    day: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(String(200))

    program: Mapped[Program] = relationship(back_populates="closed_days")


class Phase(Base):
    """A step of a program (early recovery, relapse prevention, continuing care...)."""

    __tablename__ = "phase"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(500), default="")
    # Hours of services a week a client in this phase is expected to attend.
    weekly_hours_target: Mapped[int] = mapped_column(default=9, server_default="9")

    program: Mapped[Program] = relationship(back_populates="phases")
    # The groups of its program a client in this phase attends: admission to the phase puts
    # them in, a move to another phase takes them out (companion/clinic/enrollments.py).
    group_links: Mapped[list[PhaseGroup]] = relationship(
        back_populates="phase", cascade="all, delete-orphan", order_by="PhaseGroup.group_id")

    @property
    def group_ids(self) -> list[int]:
        return [link.group_id for link in self.group_links]


class PhaseGroup(Base):
    """A group that a phase of the program names."""

    __tablename__ = "phase_group"

    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("therapy_group.id"), primary_key=True,
                                          index=True)

    phase: Mapped[Phase] = relationship(back_populates="group_links")


# Enrollments
# A client's place in a program.

ADULT_WEEKLY_HOURS = 9  # ASAM level 2.1: adults 9-19 hours a week
ADOLESCENT_WEEKLY_HOURS = 6  # adolescents 6-19


class DischargeReason(enum.StrEnum):
    """TEDS's reasons for discharge (docs/domain.md)."""

    COMPLETED = "completed"
    LEFT_AGAINST_ADVICE = "left_against_advice"
    TERMINATED_BY_PROGRAM = "terminated_by_program"
    TRANSFERRED = "transferred"
    INCARCERATED = "incarcerated"
    DIED = "died"
    OTHER = "other"


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
    # Discharge: end_date is its day; the reason and summary go into the chart.
    discharge_reason: Mapped[DischargeReason | None] = mapped_column(
        _text_enum(DischargeReason, "discharge_reason"), default=None)
    discharge_summary: Mapped[str | None] = mapped_column(Text, default=None)

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    program: Mapped[Program] = relationship()
    phase: Mapped[Phase | None] = relationship()
    phase_changes: Mapped[list[PhaseChange]] = relationship(
        back_populates="enrollment", order_by="PhaseChange.effective_on",
        cascade="all, delete-orphan")

    @property
    def active(self) -> bool:
        return self.end_date is None


class PhaseChange(Base):
    """A dated move of a client to a phase (admission, step-down, step-up), kept in order."""

    __tablename__ = "enrollment_phase_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"), index=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id"))
    effective_on: Mapped[date] = mapped_column()
    weekly_hours_target: Mapped[int] = mapped_column()
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrollment: Mapped[Enrollment] = relationship(back_populates="phase_changes")
    phase: Mapped[Phase] = relationship()


class RetriedWrite(Base):
    """A write sent with a client-made id, and the answer it got: a retry of it (a phone or a
    flaky link sending again) gets this answer instead of writing twice (clinic/retries.py).
    Kept a few days only, since the answer may quote the client's record."""

    __tablename__ = "clinic_retried_write"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the client-made UUID
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # What was asked (the action, its target, the body): a hash, so the body is not kept twice.
    request_hash: Mapped[str] = mapped_column(String(64))
    # The record the write made or changed, for the audit row of a replay.
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    status: Mapped[int] = mapped_column()
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
