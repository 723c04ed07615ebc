"""The documented request and response bodies of the meetings API (the OpenAPI document's
schemas): the directory's queries and listings, sources and their import reports, meetings added
by hand, and a client's favourites, attendance, recommendations and calendar URL.

Apart from the views so each view module stays short and every body is declared once; the
classes carry no docstrings on purpose, as a docstring would become the schema's description.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator

from companion.core.inputs import TimeZoneName, is_time_zone
from companion.core.pagination import PageQuery
from companion.core.schemas import HHMM, RecordId, Strict
from companion.meetings.feeds import http_url


def _http_link(value: str) -> str:
    if value and http_url(value) is None:
        raise ValueError("must be an http:// or https:// link")
    return value


# Fields checked where they are declared, so every body that has one checks it the same way.
HttpLink = Annotated[str, Field(max_length=2000), AfterValidator(_http_link)]


class MeetingQuery(PageQuery):
    day: int | None = Field(None, ge=0, le=6, description="Day in `tz`, 0 = Sunday")
    from_: str | None = Field(None, alias="from", pattern=HHMM,
                              description="Starting at or after HH:MM in `tz`")
    to: str | None = Field(None, pattern=HHMM, description="Starting at or before HH:MM in `tz`")
    tz: str | None = Field(None, max_length=64,
                           description="Time zone to show times in; default: the caller's own")
    types: str | list[str] | None = Field(
        None, description="Type codes (comma-separated or repeated); a meeting must have all")
    mode: Literal["online", "in_person", "any"] = Field(
        "any", description="online: has a join link or dial-in; in_person: a place that is not "
                           "temporarily closed (TC)")
    q: str | None = Field(None, max_length=100, description="Words in name, place, group, notes")
    fellowship: str | None = Field(None, max_length=80)
    near: str | None = Field(None, max_length=60,
                             description="latitude,longitude or a US ZIP code; nearest first")
    radius_km: float = Field(40, gt=0, le=500, description="With `near`: how far to look")
    starting_within: int | None = Field(
        None, ge=0, le=1440, description="In progress, or starting within this many minutes")


class MeetingTypeOut(BaseModel):
    code: str
    label: str


class MeetingJoinOut(BaseModel):
    url: str
    host: str = Field(description="Where the link goes, shown so people see it before tapping")
    notes: str | None


class MeetingDialInOut(BaseModel):
    number: str
    access_code: str | None
    tel: str = Field(description="tel: link that dials the number and then the access code")
    notes: str | None


class MeetingPlaceOut(BaseModel):
    location: str | None
    address: str | None
    city: str | None
    region: str | None
    notes: str | None
    latitude: float | None
    longitude: float | None
    approximate: bool | None


class MeetingOut(BaseModel):
    id: int
    name: str
    fellowship: str
    day: int = Field(description="Day of `next_start` in the requested zone, 0 = Sunday")
    time: str = Field(description="HH:MM in the requested zone")
    end_time: str
    timezone: str = Field(description="The zone `day` and `time` are in")
    next_start: str = Field(description="ISO 8601 with offset: the occurrence in progress or next")
    next_end: str
    in_progress: bool
    meeting_day: int = Field(description="Day in the meeting's own zone, as its feed gives it")
    meeting_time: str
    meeting_timezone: str
    types: list[MeetingTypeOut]
    online: bool
    in_person: bool
    temporarily_closed: bool
    join: MeetingJoinOut | None
    dial_in: MeetingDialInOut | None
    place: MeetingPlaceOut | None
    distance_km: float | None
    distance_miles: float | None = Field(description="The same distance in miles (US users)")
    held_today: bool = Field(
        description="An occurrence began today (in `timezone`) by now: a client may say they went")
    group: str | None
    notes: str | None
    url: str | None


class MeetingPage(BaseModel):
    items: list[MeetingOut]
    next: str | None


class MeetingScheduleOut(BaseModel):
    day: int
    time: str
    end_time: str
    next_start: str


class MeetingDetailOut(MeetingOut):
    schedule: list[MeetingScheduleOut]
    source: str
    updated: str | None
    entity: dict[str, str] | None


class MeetingDetailQuery(BaseModel):
    tz: str | None = Field(None, max_length=64)


class MeetingTypesOut(BaseModel):
    types: list[MeetingTypeOut]
    fellowships: list[str]


class MeetingSourceBody(Strict):
    name: str = Field(min_length=1, max_length=200)
    url: str | None = Field(None, max_length=2000, description="A Meeting Guide JSON feed")
    feed: str | None = Field(None, description="An uploaded feed file's text (instead of url)")
    file_name: str = Field("", max_length=200)
    fellowship: str = Field("", max_length=80)
    timezone: TimeZoneName | None = Field(None, description="For rows without a usable timezone")
    refresh_hours: int = Field(24, ge=1, le=24 * 14)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and http_url(value) is None:
            raise ValueError("must be an http:// or https:// link")
        return value


class MeetingRefreshBody(Strict):
    feed: str | None = Field(None, description="A new version of an uploaded file")


class MeetingRowIssueOut(BaseModel):
    row: int
    slug: str | None
    message: str


class MeetingImportReportOut(BaseModel):
    added: int
    updated: int
    removed: int
    skipped: int
    skipped_rows: list[MeetingRowIssueOut]
    notes: list[MeetingRowIssueOut]
    error: str | None


class MeetingSourceOut(BaseModel):
    id: int
    name: str
    kind: Literal["url", "file", "manual"]
    location: str
    fellowship: str
    timezone: str
    refresh_hours: int
    meetings: int
    last_status: Literal["ok", "error"] | None
    last_error: str | None
    last_import_at: str | None
    last_success_at: str | None
    next_refresh_at: str | None
    last_report: MeetingImportReportOut | None


class MeetingSourcePage(BaseModel):
    items: list[MeetingSourceOut]
    next: str | None


class ManualMeetingBody(Strict):
    name: str = Field(min_length=1, max_length=255)
    fellowship: str = Field("", max_length=80)
    day: int | list[int] = Field(description="0 = Sunday, or several days")
    time: str = Field(pattern=HHMM)
    end_time: str | None = Field(None, pattern=HHMM)
    timezone: TimeZoneName | None = None
    types: list[str] = Field(default_factory=list, max_length=30)
    location: str | None = Field(None, max_length=300)
    formatted_address: str | None = Field(None, max_length=500)
    location_notes: str | None = Field(None, max_length=4000)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    conference_url: HttpLink | None = None
    conference_url_notes: str | None = Field(None, max_length=4000)
    conference_phone: str | None = Field(None, max_length=120)
    conference_phone_notes: str | None = Field(None, max_length=4000)
    notes: str | None = Field(None, max_length=8000)
    group: str | None = Field(None, max_length=255)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not is_time_zone(value):
            raise ValueError("not a time zone name such as America/Chicago")
        return value

    @field_validator("conference_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and http_url(value) is None:
            raise ValueError("must be an http:// or https:// link")
        return value or None

    @field_validator("day")
    @classmethod
    def _days(cls, value: int | list[int]) -> int | list[int]:
        days = value if isinstance(value, list) else [value]
        if not days or any(d < 0 or d > 6 for d in days):
            raise ValueError("must be 0 (Sunday) to 6 (Saturday)")
        return value


class MeetingFavouriteOut(BaseModel):
    meeting_id: int
    name: str
    fellowship: str
    saved_at: str
    ended: bool
    note: str | None = Field(description="Why it is no longer listed, if it ended")
    meeting: MeetingOut | None


class MeetingFavouritePage(BaseModel):
    items: list[MeetingFavouriteOut]
    next: str | None


class MeetingAttendanceBody(Strict):
    meeting_id: RecordId
    attended_on: date | None = Field(None, description="Default: today in the client's zone")


class MeetingAttendanceOut(BaseModel):
    id: int
    meeting_id: int
    name: str
    fellowship: str
    attended_on: date
    recorded_at: str
    self_reported: bool = Field(True, description="Always true: not counted as IOP hours")


class MeetingAttendancePage(BaseModel):
    items: list[MeetingAttendanceOut]
    next: str | None


class MeetingRecommendationBody(Strict):
    meeting_id: RecordId
    note: str = Field("", max_length=500)


class MeetingRecommendationOut(BaseModel):
    id: int
    meeting_id: int
    name: str
    note: str
    counselor: str
    created_at: str
    ended: bool


class MeetingRecommendationPage(BaseModel):
    items: list[MeetingRecommendationOut]
    next: str | None


class MeetingCalendarOut(BaseModel):
    url: str = Field(description="Private: anyone with it sees the client's saved meetings")
