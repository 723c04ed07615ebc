"""Bodies and answers of the clinic's own setup: programs, groups, enrollments (issue 15's
contract, kept stable for outside clients). Answers are built from these models, so the OpenAPI
document is what the server returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from companion.clinic.models import DischargeReason, GroupKind, LevelOfCare
from companion.core.schemas import HHMM, Day, RecordId, Strict, TimeZoneName

Name = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=300)]
# A write a phone or a flaky link may send again (companion/clinic/retries.py).
RetryId = Annotated[UUID | None, Field(
    description="Made by the device, one per request: a retry with the same id and body gets "
    "the first answer (status and JSON) and writes nothing; the same id with another body is "
    "409")]


class Out(BaseModel):
    """An answer read straight from the database row's attributes."""

    model_config = ConfigDict(from_attributes=True)


# Programs -----------------------------------------------------------------------------------

class PhaseIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    weekly_hours_target: int | None = Field(
        None, ge=1, le=40, description="Hours a week a client in this phase attends; default: "
        "9 for an adult IOP, 6 for an adolescent one, 2 for OP")
    description: str = Field("", max_length=500)
    group_ids: list[RecordId] | None = Field(
        None, max_length=20,
        description="Groups of this program a client in this phase attends: enrolment in the "
        "phase adds them, a move to another phase takes them out of these and into the new "
        "phase's. Omitted: a phase kept by name keeps its groups; [] names none")


class ProgramBody(Strict):
    name: Name
    timezone: TimeZoneName
    level_of_care: LevelOfCare = Field(description="iop (ASAM 2.1) or op (continuing care)")
    adolescent: bool = False
    phases: list[PhaseIn] | None = Field(None, min_length=1, max_length=20,
                                         description="In order; default: one phase")


class ProgramPatch(Strict):
    name: Name | None = None
    timezone: TimeZoneName | None = Field(
        None, description="Future occurrences move to the same local times in the new zone")
    level_of_care: LevelOfCare | None = None
    adolescent: bool | None = None
    phases: list[PhaseIn] | None = Field(
        None, min_length=1, max_length=20,
        description="The whole list, in order: a phase keeps its clients when its name stays")
    dial_in_enabled: bool | None = Field(
        None, description="Its clients may join sessions by phone (needs the server's dial-in "
        "number, COMPANION_SIP_NUMBER)")
    outbound_calls_allowed: bool | None = Field(
        None, description="Its counselors may call a client's phone into a session")


class PhaseOut(Out):
    id: int
    name: str
    position: int
    weekly_hours_target: int
    description: str
    group_ids: list[int] = Field(description="The groups of the program this phase puts "
                                 "its clients in")


class ClosedDayOut(Out):
    day: date
    reason: str


class ProgramOut(Out):
    id: int
    name: str
    timezone: str
    level_of_care: LevelOfCare
    adolescent: bool
    phases: list[PhaseOut]
    closed_days: list[ClosedDayOut]
    dial_in_enabled: bool
    outbound_calls_allowed: bool


class ProgramPage(BaseModel):
    items: list[ProgramOut]
    next: str | None


class ClosedDayBody(Strict):
    day: Day
    reason: Reason = Field(description="Members see it on the cancelled sessions")


# Groups -------------------------------------------------------------------------------------

class SlotIn(Strict):
    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    start: str = Field(pattern=HHMM, description="Local time in the program's zone, HH:MM")
    duration_minutes: int = Field(ge=15, le=480)


class GroupBody(Strict):
    program_id: RecordId
    name: Name
    kind: GroupKind
    counselor_id: RecordId = Field(description="The lead counselor")
    co_facilitator_ids: list[RecordId] = Field(default_factory=list, max_length=10)
    peer_supporter_ids: list[RecordId] = Field(default_factory=list, max_length=10)
    schedule: list[SlotIn] = Field(min_length=1, max_length=14)
    starts_on: Day
    ends_on: Day | None = None


class GroupPatch(Strict):
    name: Name | None = None
    kind: GroupKind | None = None
    counselor_id: RecordId | None = None
    co_facilitator_ids: list[RecordId] | None = Field(None, max_length=10)
    peer_supporter_ids: list[RecordId] | None = Field(None, max_length=10)
    schedule: list[SlotIn] | None = Field(
        None, min_length=1, max_length=14,
        description="The whole weekly schedule: future occurrences follow it, past ones stay")
    starts_on: Day | None = None
    ends_on: Day | None = Field(None, description="Send null to run the group with no end")
    archived: Literal[True] | None = Field(
        None, description="true archives the group: its sessions to come are cancelled")


class PersonOut(Out):
    id: int
    display_name: str
    role: str


class SlotOut(BaseModel):
    weekday: int
    start: str
    duration_minutes: int


class GroupOut(BaseModel):
    id: int
    program_id: int
    name: str
    kind: GroupKind
    counselor: PersonOut
    co_facilitators: list[PersonOut]
    peer_supporters: list[PersonOut]
    clients: list[PersonOut] = Field(description="Members who are clients (staff and admins)")
    schedule: list[SlotOut]
    starts_on: date | None
    ends_on: date | None
    archived: bool
    next_session: datetime | None = Field(description="The next occurrence not cancelled")


class GroupPage(BaseModel):
    items: list[GroupOut]
    next: str | None


class MemberBody(Strict):
    id: RetryId = None
    user_id: RecordId


# Enrollments --------------------------------------------------------------------------------

class EnrollmentBody(Strict):
    id: RetryId = None
    client_id: RecordId
    program_id: RecordId
    primary_counselor_id: RecordId
    phase_id: RecordId | None = Field(None, description="Default: the program's first phase")
    start_date: Day
    birth_date: Day | None = Field(None, description="The client's date of birth, if known "
                                   "(claims name it); not in the future")


class BirthDateBody(Strict):
    birth_date: Day | None = Field(description="YYYY-MM-DD, not in the future; null erases a "
                                   "wrong one")


class BirthDateOut(BaseModel):
    client_id: int
    birth_date: date | None


class EnrollmentPatch(Strict):
    primary_counselor_id: RecordId


class PhaseChangeBody(Strict):
    id: RetryId = None
    phase_id: RecordId
    effective_on: Day


class DischargeBody(Strict):
    id: RetryId = None
    discharged_on: Day
    reason: DischargeReason = Field(description="TEDS: completed, left_against_advice, "
                                    "terminated_by_program, transferred, incarcerated, died, "
                                    "other")
    summary: str = Field(min_length=1, max_length=10000,
                         description="The discharge summary, for the client's chart")


class PhaseChangeOut(Out):
    phase_id: int
    effective_on: date
    weekly_hours_target: int


class EnrollmentOut(BaseModel):
    id: int
    client: PersonOut
    birth_date: date | None = Field(description="The client's date of birth, if recorded")
    program_id: int
    primary_counselor: PersonOut | None
    phase: PhaseOut | None
    start_date: date
    weekly_hours_target: int
    active: bool
    discharged_on: date | None
    discharge_reason: DischargeReason | None
    discharge_summary: str | None
    phase_history: list[PhaseChangeOut]


class EnrollmentPage(BaseModel):
    items: list[EnrollmentOut]
    next: str | None
