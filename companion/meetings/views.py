"""Mutual-support meetings: the directory in the caller's own time zone, admin sources, and a
client's favourites, attendance (self-reported; never IOP hours), recommendations and calendar."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from flask import Response, current_app, request
from flask_login import current_user
from pydantic import AfterValidator, BaseModel, Field, field_validator

from companion.accounts.models import User
from companion.clinic import policy
from companion.clinic.guards import authorize, me
from companion.core import clock
from companion.core.extensions import db, limiter
from companion.core.http import api
from companion.core.inputs import TimeZoneName, is_time_zone
from companion.core.pagination import PageQuery, page_of_list
from companion.core.problems import ApiProblem, Problem, field_problem
from companion.core.schemas import HHMM, RecordId, Strict
from companion.core.spec import registry
from companion.meetings import icalendar
from companion.meetings import services as service
from companion.meetings.feeds import TYPE_LABELS, http_url, link_host, type_label
from companion.meetings.models import SOURCE_FILE, SOURCE_URL, Meeting, MeetingSource

KM_PER_MILE = 1.609344
def _http_link(value: str) -> str:
    if value and http_url(value) is None:
        raise ValueError("must be an http:// or https:// link")
    return value


# Fields checked where they are declared, so every body that has one checks it the same way.
HttpLink = Annotated[str, Field(max_length=2000), AfterValidator(_http_link)]


# Schemas ----------------------------------------------------------------------------------------


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


# Rendering --------------------------------------------------------------------------------------


def _zone(name: str | None, field_name: str = "tz") -> ZoneInfo:
    zone_name = name or me().timezone
    if not is_time_zone(zone_name):
        raise field_problem(field_name, "Not a time zone name such as America/Chicago.")
    return ZoneInfo(zone_name)


def _dial_in(meeting: Meeting) -> dict[str, Any] | None:
    phone = meeting.conference_phone
    if not phone:
        return None
    cut = min((i for i in (phone.find(","), phone.find(";")) if i >= 0), default=-1)
    number = phone[:cut] if cut >= 0 else phone
    access = phone[cut:].lstrip(",; ") if cut >= 0 else ""
    tel = "tel:" + phone.replace(" ", "").replace("#", "%23")
    return {"number": number.strip(), "access_code": access or None, "tel": tel,
            "notes": meeting.conference_phone_notes}


def meeting_json(meeting: Meeting, meeting_day: int, starts: datetime, ends: datetime,
                 zone: ZoneInfo, now: datetime, distance: float | None = None) -> dict[str, Any]:
    local = starts.astimezone(zone)
    place = None
    if service.has_place(meeting):
        place = {
            "location": meeting.location,
            "address": meeting.formatted_address or ", ".join(
                p for p in (meeting.address, meeting.city, meeting.state, meeting.postal_code)
                if p) or None,
            "city": meeting.city, "region": meeting.region, "notes": meeting.location_notes,
            "latitude": meeting.latitude, "longitude": meeting.longitude,
            "approximate": meeting.approximate,
        }
    return {
        "id": meeting.id,
        "name": meeting.name,
        "fellowship": meeting.fellowship,
        "day": (local.weekday() + 1) % 7,
        "time": local.strftime("%H:%M"),
        "end_time": ends.astimezone(zone).strftime("%H:%M"),
        "timezone": zone.key,
        "next_start": local.isoformat(),
        "next_end": ends.astimezone(zone).isoformat(),
        "in_progress": starts <= now < ends,
        "meeting_day": meeting_day,
        "meeting_time": meeting.start_time.strftime("%H:%M"),
        "meeting_timezone": meeting.timezone,
        "types": [{"code": c, "label": type_label(c)} for c in meeting.types or []],
        "online": service.is_online(meeting),
        "in_person": service.is_in_person(meeting),
        "temporarily_closed": service.temporarily_closed(meeting),
        "join": {"url": meeting.conference_url, "host": link_host(meeting.conference_url),
                 "notes": meeting.conference_url_notes} if meeting.conference_url else None,
        "dial_in": _dial_in(meeting),
        "place": place,
        "distance_km": round(distance, 1) if distance is not None else None,
        "distance_miles": round(distance / KM_PER_MILE, 1) if distance is not None else None,
        "held_today": service.held_today(meeting, zone, now),
        "group": meeting.group,
        "notes": meeting.notes,
        "url": meeting.url,
    }


def _soonest(meeting: Meeting, now: datetime) -> tuple[int, datetime, datetime]:
    best = min(((d, *service.occurrence(meeting, d, now)) for d in meeting.days),
               key=lambda o: o[1])
    return best[0], best[1], best[2]


def detail_json(meeting: Meeting, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    day, starts, ends = _soonest(meeting, now)
    body = meeting_json(meeting, day, starts, ends, zone, now)
    schedule = []
    for meeting_day in meeting.days:
        s, e = service.occurrence(meeting, meeting_day, now)
        local = s.astimezone(zone)
        schedule.append({"day": (local.weekday() + 1) % 7, "time": local.strftime("%H:%M"),
                         "end_time": e.astimezone(zone).strftime("%H:%M"),
                         "next_start": local.isoformat()})
    schedule.sort(key=lambda s: str(s["next_start"]))
    body.update(schedule=schedule, source=meeting.source.name, updated=meeting.updated,
                entity=meeting.entity)
    return body


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def source_json(source: MeetingSource) -> dict[str, Any]:
    from sqlalchemy import func, select

    count = db.session.scalar(select(func.count(Meeting.id)).where(
        Meeting.source_id == source.id, Meeting.removed_at.is_(None))) or 0
    return {
        "id": source.id, "name": source.name, "kind": source.kind, "location": source.location,
        "fellowship": source.fellowship, "timezone": source.timezone,
        "refresh_hours": source.refresh_hours, "meetings": count,
        "last_status": source.last_status, "last_error": source.last_error,
        "last_import_at": _iso(source.last_import_at),
        "last_success_at": _iso(source.last_success_at),
        "next_refresh_at": _iso(source.next_refresh_at),
        "last_report": source.last_report,
    }


def _listed(meeting_id: int, field_name: str = "meeting_id") -> Meeting:
    meeting = service.listed_meeting(me().clinic_id, meeting_id)
    if meeting is None:
        message = "That meeting is not in the directory."
        raise ApiProblem(404, "Not found", message, [{"field": field_name, "message": message}])
    return meeting


def _client_record(client_id: int, action: policy.Action) -> None:
    """Authorise; someone who may not even read this client's records learns nothing (404)."""
    readable = policy.can(me(), policy.Action.READ_CLIENT_RECORD, client_id)
    authorize(action, client_id, hide=not readable)


# The directory ----------------------------------------------------------------------------------


def _person() -> str:
    """Searches count per person (all their logins and devices together), not per address: a
    clinic's clients may share one, and one person must not slow the directory for the others."""
    user = current_user
    return f"user:{user.id}" if user.is_authenticated else f"address:{request.remote_addr}"


# Searching reads the whole directory (a single feed may bring 10,000 meetings).
_directory_reads = limiter.shared_limit(
    lambda: current_app.config["MEETING_SEARCH_LIMITS"], scope="meeting-search",
    key_func=_person, error_message="Too many searches. Wait a minute and try again.")


@registry.route(api, "/meetings", "GET", summary="Search the meeting directory",
                tag="meetings", query=MeetingQuery, responses={200: MeetingPage, 429: Problem})
@_directory_reads
def list_meetings(query: MeetingQuery) -> dict[str, Any]:
    zone = _zone(query.tz)
    codes = query.types if isinstance(query.types, list) else [query.types or ""]
    types = [c.strip() for item in codes for c in item.split(",") if c.strip()]
    near = service.parse_near(query.near) if query.near else None
    search = service.Search(
        zone=zone, day=query.day,
        start_from=time.fromisoformat(query.from_) if query.from_ else None,
        start_to=time.fromisoformat(query.to) if query.to else None,
        types=types, mode=query.mode, q=query.q or "", fellowship=query.fellowship or "",
        near=near, radius_km=query.radius_km, starting_within=query.starting_within,
    )
    now = clock.now()
    found = service.search(me().clinic_id, search, now)
    # Only the meetings of the page shown are loaded whole.
    shown = service.meetings_by_id(
        [o.meeting_id for o in found[query.cursor : query.cursor + query.limit]])
    return page_of_list(found, query, lambda o: meeting_json(
        shown[o.meeting_id], o.meeting_day, o.starts_at, o.ends_at, zone, now, o.distance_km))


@registry.route(api, "/meetings/types", "GET", summary="Meeting type codes and fellowships",
                tag="meetings", responses={200: MeetingTypesOut, 429: Problem})
@_directory_reads
def meeting_types() -> dict[str, Any]:
    codes, fellowships = service.types_and_fellowships(me().clinic_id)
    known = [{"code": c, "label": type_label(c)} for c in TYPE_LABELS if c in codes]
    unknown = [{"code": c, "label": c} for c in codes if c not in TYPE_LABELS]
    return {"types": known + unknown, "fellowships": fellowships}


@registry.route(api, "/meetings/<int:meeting_id>", "GET", summary="One meeting",
                tag="meetings", query=MeetingDetailQuery,
                responses={200: MeetingDetailOut, 404: Problem})
def get_meeting(meeting_id: int, query: MeetingDetailQuery) -> dict[str, Any]:
    meeting = _listed(meeting_id)
    authorize(policy.Action.VIEW_MEETING, policy.ClinicRecord(meeting.source.clinic_id), hide=True)
    return detail_json(meeting, _zone(query.tz), clock.now())


@registry.route(api, "/meetings/<int:meeting_id>.ics", "GET",
                summary="One meeting as a weekly calendar event (.ics)", tag="meetings",
                responses={200: None, 404: Problem}, content_type="text/calendar")
def meeting_ics(meeting_id: int) -> Response:
    meeting = _listed(meeting_id)
    authorize(policy.Action.VIEW_MEETING, policy.ClinicRecord(meeting.source.clinic_id), hide=True)
    now = clock.now()
    _, starts, _ = _soonest(meeting, now)
    text = icalendar.calendar([(meeting, starts)], now, request.host, meeting.name)
    return Response(text, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'})


# Admin: sources and meetings by hand ------------------------------------------------------------


@api.before_request
def _feed_upload_size() -> None:
    # A feed file may be larger than the API's usual 1 MB body limit.
    if request.endpoint in ("api.create_meeting_source", "api.refresh_meeting_source"):
        request.max_content_length = int(current_app.config["MEETING_FEED_MAX_BYTES"]) + 65536


@registry.route(api, "/meeting-sources", "GET", summary="Meeting sources and their last import",
                tag="meetings", query=PageQuery, responses={200: MeetingSourcePage, 403: Problem})
def list_meeting_sources(query: PageQuery) -> dict[str, Any]:
    authorize(policy.Action.MANAGE_MEETINGS)
    from sqlalchemy import select

    sources = list(db.session.scalars(select(MeetingSource).where(
        MeetingSource.clinic_id == me().clinic_id).order_by(MeetingSource.id)))
    return page_of_list(sources, query, source_json)


@registry.route(api, "/meeting-sources", "POST",
                summary="Add a source (feed URL or uploaded file) and import it now",
                tag="meetings", body=MeetingSourceBody,
                responses={201: MeetingSourceOut, 403: Problem})
def create_meeting_source(body: MeetingSourceBody) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.MANAGE_MEETINGS)
    if (body.url is None) == (body.feed is None):
        raise field_problem("url", "Give a feed URL or upload a file (one of the two).")
    kind = SOURCE_URL if body.url else SOURCE_FILE
    source = service.create_source(
        me(), me().clinic_id, name=body.name.strip(), kind=kind,
        location=body.url or body.file_name, fellowship=body.fellowship.strip(),
        timezone=body.timezone, refresh_hours=body.refresh_hours, ip=request.remote_addr,
    )
    service.refresh_source(source, me(), raw=body.feed, ip=request.remote_addr)
    return source_json(source), 201


@registry.route(api, "/meeting-sources/<int:source_id>/refresh", "POST",
                summary="Import a source again now (a file source takes the new file)",
                tag="meetings", body=MeetingRefreshBody,
                responses={200: MeetingSourceOut, 403: Problem, 404: Problem})
def refresh_meeting_source(source_id: int, body: MeetingRefreshBody) -> dict[str, Any]:
    authorize(policy.Action.MANAGE_MEETINGS)
    source = db.session.get(MeetingSource, source_id)
    if source is None or source.clinic_id != me().clinic_id:
        raise ApiProblem(404, "Not found", "No such meeting source.")
    if source.kind == "manual":
        raise field_problem("source_id", "Meetings added by hand have nothing to import.", 409)
    if source.kind == SOURCE_FILE and body.feed is None:
        raise field_problem("feed", "Upload the file again to refresh a file source.")
    if source.kind == SOURCE_URL and body.feed is not None:
        raise field_problem("feed", "This source is fetched from its URL.")
    service.refresh_source(source, me(), raw=body.feed, ip=request.remote_addr)
    return source_json(source)


@registry.route(api, "/meetings", "POST", summary="Add one meeting by hand (admin)",
                tag="meetings", body=ManualMeetingBody,
                responses={201: MeetingDetailOut, 403: Problem})
def create_meeting(body: ManualMeetingBody) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.MANAGE_MEETINGS)
    row = body.model_dump()
    if not row.get("end_time"):
        row.pop("end_time", None)
    meeting = service.add_manual_meeting(me(), row, ip=request.remote_addr)
    return detail_json(meeting, _zone(None), clock.now()), 201


# A client's meetings ----------------------------------------------------------------------------


def _favourite_json(favourite: Any, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    meeting: Meeting = favourite.meeting
    ended = meeting.removed_at is not None
    note = None
    if ended:
        note = (f"This meeting has ended: its listing was removed on "
                f"{meeting.removed_at.astimezone(zone):%B %d, %Y}.")  # type: ignore[union-attr]
    item = None
    if not ended:
        day, starts, ends = _soonest(meeting, now)
        item = meeting_json(meeting, day, starts, ends, zone, now)
    return {"meeting_id": meeting.id, "name": meeting.name, "fellowship": meeting.fellowship,
            "saved_at": favourite.created_at.isoformat(), "ended": ended, "note": note,
            "meeting": item}


def _client(client_id: int) -> User:
    client = db.session.get(User, client_id)
    if client is None:
        raise ApiProblem(404, "Not found", "No such record, or not yours to see.")
    return client


@registry.route(api, "/clients/<int:client_id>/meeting-favourites", "GET",
                summary="A client's saved meetings (ended ones carry a note)", tag="meetings",
                query=PageQuery, responses={200: MeetingFavouritePage, 404: Problem})
def list_meeting_favourites(client_id: int, query: PageQuery) -> dict[str, Any]:
    _client_record(client_id, policy.Action.READ_CLIENT_RECORD)
    zone = ZoneInfo(_client(client_id).timezone)
    rows = service.favourites(me(), client_id, request.remote_addr)
    now = clock.now()
    return page_of_list(rows, query, lambda f: _favourite_json(f, zone, now))


@registry.route(api, "/clients/<int:client_id>/meeting-favourites/<int:meeting_id>", "PUT",
                summary="Save a meeting (the client)", tag="meetings",
                responses={200: MeetingFavouriteOut, 201: MeetingFavouriteOut, 403: Problem,
                           404: Problem})
def save_meeting_favourite(client_id: int, meeting_id: int) -> tuple[dict[str, Any], int]:
    _client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    meeting = _listed(meeting_id)
    favourite, created = service.save_favourite(me(), client_id, meeting, request.remote_addr)
    return _favourite_json(favourite, ZoneInfo(me().timezone), clock.now()), 201 if created else 200


@registry.route(api, "/clients/<int:client_id>/meeting-favourites/<int:meeting_id>", "DELETE",
                summary="Forget a saved meeting (the client)", tag="meetings",
                responses={204: None, 403: Problem, 404: Problem})
def delete_meeting_favourite(client_id: int, meeting_id: int) -> tuple[str, int]:
    _client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    if not service.remove_favourite(me(), client_id, meeting_id, request.remote_addr):
        raise ApiProblem(404, "Not found", "That meeting is not saved.")
    return "", 204


@registry.route(api, "/clients/<int:client_id>/meeting-attendance", "GET",
                summary="Meetings a client says they went to (self-reported, not IOP hours)",
                tag="meetings", query=PageQuery,
                responses={200: MeetingAttendancePage, 404: Problem})
def list_meeting_attendance(client_id: int, query: PageQuery) -> dict[str, Any]:
    _client_record(client_id, policy.Action.READ_CLIENT_RECORD)
    rows = service.attendance(me(), client_id, request.remote_addr)
    return page_of_list(rows, query, _attendance_json)


def _attendance_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "meeting_id": row.meeting_id, "name": row.meeting.name,
            "fellowship": row.meeting.fellowship, "attended_on": row.attended_on.isoformat(),
            "recorded_at": row.created_at.isoformat(), "self_reported": True}


@registry.route(api, "/clients/<int:client_id>/meeting-attendance", "POST",
                summary="Record going to a meeting (the client; self-reported)", tag="meetings",
                body=MeetingAttendanceBody,
                responses={200: MeetingAttendanceOut, 201: MeetingAttendanceOut, 403: Problem,
                           404: Problem})
def record_meeting_attendance(
    client_id: int, body: MeetingAttendanceBody
) -> tuple[dict[str, Any], int]:
    _client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    meeting = _listed(body.meeting_id)
    zone, now = ZoneInfo(me().timezone), clock.now()
    row, created = service.record_attendance(
        me(), client_id, meeting, body.attended_on or now.astimezone(zone).date(), zone, now,
        request.remote_addr)
    return _attendance_json(row), 201 if created else 200


@registry.route(api, "/clients/<int:client_id>/meeting-recommendations", "GET",
                summary="Meetings a client's counselors suggested", tag="meetings",
                query=PageQuery, responses={200: MeetingRecommendationPage, 404: Problem})
def list_meeting_recommendations(client_id: int, query: PageQuery) -> dict[str, Any]:
    _client_record(client_id, policy.Action.READ_CLIENT_RECORD)
    rows = service.recommendations(me(), client_id, request.remote_addr)
    return page_of_list(rows, query, _recommendation_json)


def _recommendation_json(row: Any) -> dict[str, Any]:
    counselor = db.session.get(User, row.counselor_id)
    return {"id": row.id, "meeting_id": row.meeting_id, "name": row.meeting.name,
            "note": row.note, "counselor": counselor.display_name if counselor else "",
            "created_at": row.created_at.isoformat(), "ended": row.meeting.removed_at is not None}


@registry.route(api, "/clients/<int:client_id>/meeting-recommendations", "POST",
                summary="Suggest a meeting to a client (their counselor)", tag="meetings",
                body=MeetingRecommendationBody,
                responses={201: MeetingRecommendationOut, 403: Problem, 404: Problem})
def recommend_meeting(
    client_id: int, body: MeetingRecommendationBody
) -> tuple[dict[str, Any], int]:
    _client_record(client_id, policy.Action.RECOMMEND_MEETING)
    meeting = _listed(body.meeting_id)
    row = service.recommend(me(), client_id, meeting, body.note, request.remote_addr)
    return _recommendation_json(row), 201


@registry.route(api, "/clients/<int:client_id>/meeting-calendar", "POST",
                summary="A new private calendar feed URL of saved meetings (the old one stops)",
                tag="meetings", responses={201: MeetingCalendarOut, 403: Problem, 404: Problem})
def issue_meeting_calendar(client_id: int) -> tuple[dict[str, Any], int]:
    _client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    token = service.issue_calendar_token(me(), client_id, request.remote_addr)
    base = (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")
    return {"url": f"{base}/api/v1/meeting-calendar/{token}.ics"}, 201


@registry.route(api, "/clients/<int:client_id>/meeting-calendar", "DELETE",
                summary="Turn the private calendar feed off", tag="meetings",
                responses={204: None, 403: Problem, 404: Problem})
def revoke_meeting_calendar(client_id: int) -> tuple[str, int]:
    _client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    if not service.revoke_calendar_token(me(), client_id, request.remote_addr):
        raise ApiProblem(404, "Not found", "There is no calendar feed to turn off.")
    return "", 204


# Calendar apps cannot log in: the unguessable token in the path is the credential.
@registry.route(api, "/meeting-calendar/<token>.ics", "GET",
                summary="A client's private calendar feed (token from meeting-calendar)",
                tag="meetings", auth=False, responses={200: None, 404: Problem},
                content_type="text/calendar")
@limiter.limit("60 per minute")
def meeting_calendar_feed(token: str) -> Response:
    owner = service.calendar_owner(token)
    if owner is None:
        raise ApiProblem(404, "Not found", "No such calendar.")
    now = clock.now()
    events = [(m, _soonest(m, now)[1]) for m in service.calendar_meetings(owner,
                                                                          request.remote_addr)]
    text = icalendar.calendar(events, now, request.host, "Meetings (Companion)")
    return Response(text, mimetype="text/calendar")
