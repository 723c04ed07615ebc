"""Bodies and answers of the self-care API (check-ins, cravings, coping, safety plan, trends)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from companion.core import clock
from companion.core.pagination import PageQuery
from companion.core.schemas import Day, RecordId, Strict, Timestamp
from companion.selfcare import content as selfcare_content

# A device clock a little ahead of the server's is not "the future".
CLOCK_SKEW = timedelta(minutes=5)
# An offline queue is flushed within days; anything older than this is a mistake.
OLDEST = timedelta(days=366)

Score = Annotated[int, Field(ge=0, le=10)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
UsedWord = Literal["yes", "no", "prefer_not_to_say"]
SleepWord = Literal["very_poor", "poor", "fair", "good", "very_good"]


def _known_trigger(code: str) -> str:
    if code not in selfcare_content.trigger_codes():
        raise ValueError("is not one of the listed triggers (GET /api/v1/triggers)")
    return code


def _known_exercise(code: str) -> str:
    if code not in selfcare_content.exercise_codes():
        raise ValueError("is not one of the listed coping exercises (GET /api/v1/coping/exercises)")
    return code


TriggerCode = Annotated[str, AfterValidator(_known_trigger)]
ExerciseCode = Annotated[str, AfterValidator(_known_exercise)]


def _moment(value: datetime) -> datetime:
    now = clock.now()
    if value > now + CLOCK_SKEW:
        raise ValueError("is in the future")
    if value < now - OLDEST:
        raise ValueError("is more than a year ago")
    # Offsets beyond ±14 h do not exist on Earth.
    offset = value.utcoffset() or timedelta(0)
    if abs(offset) > timedelta(hours=14) or offset.seconds % 60:
        raise ValueError("has an impossible UTC offset")
    return value


Moment = Annotated[
    AwareDatetime,
    AfterValidator(_moment),
    Field(description="The moment on the device, with its UTC offset (RFC 3339)"),
]


def _unique_sorted(values: list[str]) -> list[str]:
    return sorted(set(values))


class DeviceEntry(Strict):
    id: UUID = Field(description="Made on the device; a retry sends the same id")
    occurred_at: Moment


class CheckInBody(DeviceEntry):
    mood: Score
    craving: Score
    sleep_hours: float | None = Field(None, ge=0, le=24)
    sleep_quality: SleepWord | None = None
    used: UsedWord = Field(description="Used since the last check-in")
    medication_taken: bool | None = Field(
        None, description="Took medication for OUD today; null when not on MOUD"
    )
    note: str = Field("", max_length=280, description="One optional line")
    need_to_talk: bool = False


class CheckInOut(BaseModel):
    id: str
    client_id: int
    occurred_at: datetime
    utc_offset_minutes: int
    local_date: date
    mood: int
    craving: int
    sleep_hours: float | None
    sleep_quality: SleepWord | None
    used: UsedWord
    medication_taken: bool | None
    note: str
    need_to_talk: bool
    received_at: datetime


class CravingBody(DeviceEntry):
    intensity: Score
    triggers: Annotated[list[TriggerCode], AfterValidator(_unique_sorted)] = Field(
        default_factory=list, max_length=30
    )
    trigger_other: ShortText = Field("", description="A trigger in the client's own words")
    where: ShortText = ""
    with_whom: ShortText = ""
    coping: Annotated[list[ExerciseCode], AfterValidator(_unique_sorted)] = Field(
        default_factory=list, max_length=30, description="Coping exercises the client used"
    )
    used: bool = False
    duration_minutes: int | None = Field(None, ge=0, le=24 * 60)
    notes: str = Field("", max_length=2000)


class CravingOut(BaseModel):
    id: str
    client_id: int
    occurred_at: datetime
    utc_offset_minutes: int
    local_date: date
    intensity: int
    triggers: list[str]
    trigger_other: str
    where: str
    with_whom: str
    coping: list[str]
    used: bool
    duration_minutes: int | None
    notes: str
    received_at: datetime


ResponseValue = Annotated[str, StringConstraints(max_length=2000)] | int | bool


class CompletionBody(DeviceEntry):
    exercise: ExerciseCode
    craving_before: Score | None = None
    craving_after: Score | None = None
    duration_seconds: int | None = Field(None, ge=0, le=24 * 3600)
    responses: dict[str, ResponseValue] = Field(
        default_factory=dict, max_length=20,
        description="The exercise's form, by field key (a thought record's seven fields...)",
    )
    notes: str = Field("", max_length=2000)


class CompletionOut(BaseModel):
    id: str
    client_id: int
    exercise: str
    occurred_at: datetime
    utc_offset_minutes: int
    local_date: date
    craving_before: int | None
    craving_after: int | None
    duration_seconds: int | None
    responses: dict[str, Any]
    notes: str
    received_at: datetime


class CheckInPage(BaseModel):
    items: list[CheckInOut]
    next: str | None


class CravingPage(BaseModel):
    items: list[CravingOut]
    next: str | None


class CompletionPage(BaseModel):
    items: list[CompletionOut]
    next: str | None


class ClientQuery(BaseModel):
    client_id: RecordId | None = Field(
        None, description="Whose records (staff: a client they treat; clients: themselves)"
    )


class EntryListQuery(PageQuery):
    model_config = ConfigDict(populate_by_name=True)

    client_id: RecordId | None = Field(
        None, description="Whose records (staff: a client they treat; clients: themselves)"
    )
    from_: Timestamp | Day | None = Field(
        None, alias="from",
        description="Earliest moment (inclusive); a date means that day in the client's zone",
    )
    to: Timestamp | Day | None = Field(
        None, description="Latest moment (exclusive); a date includes that whole day"
    )


class TrendsQuery(BaseModel):
    client_id: RecordId | None = None
    days: int = Field(28, ge=7, le=365, description="How many days back from today")


class TriggerOut(BaseModel):
    code: str
    group: str
    label: str
    hint: str


class TriggerGroupOut(BaseModel):
    code: str
    label: str


class TriggerList(BaseModel):
    groups: list[TriggerGroupOut]
    items: list[TriggerOut]


class ExerciseList(BaseModel):
    rating: dict[str, Any]
    items: list[dict[str, Any]]


class Contact(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = ""

    @field_validator("phone")
    @classmethod
    def _phone_chars(cls, value: str) -> str:
        if value and not all(c.isdigit() or c in " +-().#*" for c in value):
            raise ValueError("may only have digits, spaces and + - ( ) . # *")
        return value


class SafetyPlanBody(Strict):
    warning_signs: list[Line] = Field(default_factory=list, max_length=20)
    coping_strategies: list[Line] = Field(default_factory=list, max_length=20)
    distractions: list[Contact] = Field(default_factory=list, max_length=20)
    help_contacts: list[Contact] = Field(default_factory=list, max_length=20)
    professionals: list[Contact] = Field(default_factory=list, max_length=20)
    environment: list[Line] = Field(default_factory=list, max_length=20)
    reason_for_living: str = Field("", max_length=500)
    version: int | None = Field(
        None, ge=1, description="The version being edited; 409 if someone saved since"
    )


class SafetyPlanOut(BaseModel):
    client_id: int
    warning_signs: list[str]
    coping_strategies: list[str]
    distractions: list[dict[str, str]]
    help_contacts: list[dict[str, str]]
    professionals: list[dict[str, str]]
    environment: list[str]
    reason_for_living: str
    version: int | None
    updated_at: datetime | None
    updated_by: str | None
    counselor: str | None = Field(
        description="The name of the client's counselor (who carries the case, else their "
        "group's lead), for the crisis panel"
    )
    steps: dict[str, Any] = Field(description="Titles and prompts of the six steps")


class TodayOut(BaseModel):
    date: date
    timezone: str
    checked_in: bool
    checkin: CheckInOut | None


class TrendDay(BaseModel):
    date: date
    mood: int | None
    craving: int | None
    craving_peak: int | None
    cravings_logged: int
    used: bool


class TrendWeek(BaseModel):
    week_start: date
    mood_avg: float | None
    craving_avg: float | None
    craving_peak: int | None
    checkin_days: int
    cravings_logged: int


class TriggerCount(BaseModel):
    code: str
    label: str
    count: int


class CopingEffect(BaseModel):
    code: str
    title: str
    uses: int
    rated: int
    avg_before: float | None
    avg_after: float | None
    avg_drop: float | None


class TrendsOut(BaseModel):
    client: dict[str, Any]
    start: date
    end: date
    days: list[TrendDay]
    weeks: list[TrendWeek]
    triggers: list[TriggerCount]
    coping: list[CopingEffect]
