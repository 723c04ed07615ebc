"""The meeting directory: importing sources, searching in the viewer's own time zone, and what a
client does with a meeting (favourite, attendance, recommendations, calendar)."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Row, Select, select, update
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import User
from companion.clinic.models import Program
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.meetings.feeds import (
    TEMPORARILY_CLOSED,
    FeedError,
    FetchFailed,
    ParsedFeed,
    content_hash,
    fetch_feed,
    parse_feed,
    type_label,
)
from companion.meetings.models import (
    SOURCE_FILE,
    SOURCE_MANUAL,
    SOURCE_URL,
    Meeting,
    MeetingAttendance,
    MeetingCalendar,
    MeetingFavourite,
    MeetingRecommendation,
    MeetingSource,
)

log = logging.getLogger(__name__)

# A whole record, or the row of columns a search reads (the same names).
MeetingLike = Meeting | Row[Any]

# A failed refresh is tried again this soon rather than a whole refresh period later.
RETRY_AFTER_FAILURE = timedelta(hours=1)
DEFAULT_RADIUS_KM = 40.0


class MeetingError(ServiceError):
    """A request the directory cannot carry out; ``field`` names the input at fault."""


# Sources and imports ----------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    skipped_rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        return (f"added {self.added}, updated {self.updated}, removed {self.removed}, "
                f"skipped {self.skipped}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "skipped": self.skipped, "skipped_rows": self.skipped_rows, "notes": self.notes,
            "error": self.error,
        }


def clinic_timezone(clinic_id: int) -> str:
    """The clinic's program time zone: what rows without a usable zone are read in."""
    zone = db.session.scalar(
        select(Program.timezone).where(Program.clinic_id == clinic_id).order_by(Program.id)
    )
    return zone or "America/Chicago"


def create_source(
    actor: User | None,
    clinic_id: int,
    *,
    name: str,
    kind: str,
    location: str = "",
    fellowship: str = "",
    timezone: str | None = None,
    refresh_hours: int = 24,
    channel: str = "http",
    ip: str | None = None,
) -> MeetingSource:
    """Add a source (not yet imported)."""
    source = MeetingSource(
        clinic_id=clinic_id, name=name, kind=kind, location=location, fellowship=fellowship,
        timezone=timezone or clinic_timezone(clinic_id), refresh_hours=refresh_hours,
        created_at=clock.now(),
    )
    db.session.add(source)
    db.session.flush()
    audit.record(actor, "create", "meeting_source", source.id, channel=channel, ip=ip)
    # Committed now, so no transaction (on SQLite: no write lock) is held while a feed downloads.
    db.session.commit()
    return source


def find_source(clinic_id: int, kind: str, location: str) -> MeetingSource | None:
    return db.session.scalar(
        select(MeetingSource).where(
            MeetingSource.clinic_id == clinic_id, MeetingSource.kind == kind,
            MeetingSource.location == location,
        )
    )


def refresh_source(
    source: MeetingSource,
    actor: User | None = None,
    *,
    raw: bytes | str | None = None,
    channel: str = "http",
    ip: str | None = None,
) -> ImportReport:
    """Import the source's feed (fetched for a URL source, ``raw`` for a file) and commit.

    The download and the parsing run with no transaction open and no connection checked out:
    on SQLite a transaction holds the database's write lock, and under gevent the pool has one
    connection for the whole process, so a slow feed must delay nothing but its own import. A
    feed that cannot be used leaves every meeting as it was; the error is kept on the source for
    the admin to see, and returned in the report.
    """
    # Read now: once committed, touching the source would reload it and open a transaction.
    source_id, kind, location = source.id, source.kind, source.location
    zone, fellowship = source.timezone, source.fellowship
    db.session.commit()
    config = current_app.config
    parsed: ParsedFeed | None = None
    failure: FeedError | None = None
    try:
        if raw is None:
            if kind != SOURCE_URL:
                raise FeedError("upload the file again to refresh this source")
            raw = fetch_feed(
                location,
                timeout=float(config.get("MEETING_FEED_TIMEOUT", 20)),
                max_bytes=int(config.get("MEETING_FEED_MAX_BYTES", 8 << 20)),
                allowed_hosts=config.get("MEETING_FEED_ALLOWED_HOSTS", ()),
            )
        parsed = parse_feed(raw, zone, fellowship,
                            max_rows=int(config.get("MEETING_FEED_MAX_ROWS", 10000)))
    except FeedError as error:
        failure = error
    now = clock.now()
    if parsed is not None:
        try:
            report = _apply(source, parsed, now)
        except FeedError as error:  # raised before any meeting was touched
            failure = error
    if failure is not None:
        # Every meeting stays as it was.
        report = ImportReport(error=str(failure))
        source.last_status = "error"
        source.last_error = str(failure)[:500]
        source.last_import_at = now
        if kind == SOURCE_URL:
            retry = timedelta(hours=source.refresh_hours)
            source.next_refresh_at = now + min(retry, RETRY_AFTER_FAILURE)
        # The precise cause of a failed fetch is for the operator only (see outbound).
        log.warning("meeting source %s: import failed: %s", source_id,
                    failure.reason if isinstance(failure, FetchFailed) else failure)
    else:
        source.last_status = "ok"
        source.last_error = None
        source.last_import_at = now
        source.last_success_at = now
        if kind == SOURCE_URL:
            source.next_refresh_at = now + timedelta(hours=source.refresh_hours)
    source.last_report = report.as_dict()
    audit.record(actor, "import", "meeting_source", source_id, channel=channel, ip=ip)
    db.session.commit()
    return report


def _apply(source: MeetingSource, parsed: ParsedFeed, now: datetime) -> ImportReport:
    existing = {m.slug: m for m in db.session.scalars(
        select(Meeting).where(Meeting.source_id == source.id)
    )}
    live = [m for m in existing.values() if m.removed_at is None]
    if not parsed.meetings and live:
        # An empty or all-bad feed is far likelier a broken export than a region that closed
        # every meeting overnight.
        raise FeedError(
            f"the feed has no usable meetings ({len(parsed.skipped)} rows skipped); "
            f"kept the {len(live)} meetings it had"
        )
    report = ImportReport(
        skipped=len(parsed.skipped),
        skipped_rows=[s.as_dict() for s in parsed.skipped],
        notes=[n.as_dict() for n in parsed.notes],
    )
    for item in parsed.meetings:
        meeting = existing.get(item.slug)
        if meeting is None:
            meeting = Meeting(source_id=source.id, slug=item.slug, created_at=now)
            _set_fields(meeting, item.fields, item.content_hash, now)
            db.session.add(meeting)
            report.added += 1
        elif meeting.removed_at is not None:
            meeting.removed_at = None
            _set_fields(meeting, item.fields, item.content_hash, now)
            report.added += 1
        elif meeting.content_hash != item.content_hash:
            _set_fields(meeting, item.fields, item.content_hash, now)
            report.updated += 1
    present = {item.slug for item in parsed.meetings}
    for slug, meeting in existing.items():
        if slug not in present and meeting.removed_at is None:
            meeting.removed_at = now
            report.removed += 1
    return report


def _set_fields(meeting: Meeting, fields: dict[str, Any], digest: str, now: datetime) -> None:
    for key, value in fields.items():
        if key in ("start_time", "end_time"):
            hour, minute = value.split(":")
            value = time(int(hour), int(minute))
        setattr(meeting, key, value)
    meeting.content_hash = digest
    meeting.updated_at = now


def manual_source(actor: User, ip: str | None = None) -> MeetingSource:
    """The clinic's own source for meetings added by hand (created on first use)."""
    source = db.session.scalar(
        select(MeetingSource).where(
            MeetingSource.clinic_id == actor.clinic_id, MeetingSource.kind == SOURCE_MANUAL
        )
    )
    if source is None:
        source = create_source(actor, actor.clinic_id, name="Added by hand", kind=SOURCE_MANUAL,
                               ip=ip)
    return source


def add_manual_meeting(actor: User, row: dict[str, Any], ip: str | None = None) -> Meeting:
    """One meeting typed in by an admin, read by the same rules as a feed row."""
    source = manual_source(actor, ip)
    row = {k: v for k, v in row.items() if v is not None}
    row["slug"] = f"manual-{secrets.token_hex(6)}"
    parsed = parse_feed_rows([row], source.timezone, row.get("fellowship") or "")
    if not parsed.meetings:
        reason = parsed.skipped[0].message if parsed.skipped else "not a meeting"
        db.session.rollback()
        raise MeetingError(422, "body", reason)
    item = parsed.meetings[0]
    now = clock.now()
    meeting = Meeting(source_id=source.id, slug=item.slug, created_at=now)
    _set_fields(meeting, item.fields, item.content_hash, now)
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor, "create", "meeting", meeting.id, ip=ip)
    db.session.commit()
    return meeting


def parse_feed_rows(rows: list[dict[str, Any]], zone: str, fellowship: str) -> ParsedFeed:
    import json

    return parse_feed(json.dumps(rows), zone, fellowship)


def remove_manual_meeting(actor: User, meeting: Meeting, ip: str | None = None) -> None:
    if meeting.source.kind != SOURCE_MANUAL:
        raise MeetingError(409, "meeting_id",
                           "This meeting comes from a feed; it leaves when its feed drops it.")
    meeting.removed_at = clock.now()
    audit.record(actor, "delete", "meeting", meeting.id, ip=ip)
    db.session.commit()


def due_sources(now: datetime) -> list[MeetingSource]:
    return list(db.session.scalars(
        select(MeetingSource)
        .where(MeetingSource.kind == SOURCE_URL)
        .where((MeetingSource.next_refresh_at.is_(None)) | (MeetingSource.next_refresh_at <= now))
        .order_by(MeetingSource.id)
    ))


def _claim(source_id: int, now: datetime) -> MeetingSource | None:
    """The source, if this process is the one to refresh it now (several may be looking)."""
    taken = db.session.execute(
        update(MeetingSource)
        .where(MeetingSource.id == source_id)
        .where((MeetingSource.next_refresh_at.is_(None)) | (MeetingSource.next_refresh_at <= now))
        # Until the import sets the real time; if this process dies first, retried after this.
        .values(next_refresh_at=now + RETRY_AFTER_FAILURE)
    )
    db.session.commit()
    return db.session.get(MeetingSource, source_id) if getattr(taken, "rowcount", 0) == 1 else None


def refresh_due(channel: str = "scheduler") -> list[tuple[MeetingSource, ImportReport]]:
    """Refresh every URL source whose time has come (the schedule and `refresh-meetings`)."""
    out = []
    for source_id in [s.id for s in due_sources(clock.now())]:
        source = _claim(source_id, clock.now())
        if source is not None:
            out.append((source, refresh_source(source, None, channel=channel)))
    return out


# The directory ----------------------------------------------------------------------------------


@dataclass
class Occurrence:
    meeting_id: int
    name: str
    meeting_day: int  # the day in the meeting's own zone (0 = Sunday)
    starts_at: datetime  # UTC, the current (in progress) or next occurrence
    ends_at: datetime
    distance_km: float | None = None


@dataclass
class Search:
    zone: ZoneInfo
    day: int | None = None
    start_from: time | None = None
    start_to: time | None = None
    types: list[str] = field(default_factory=list)
    mode: str = "any"
    q: str = ""
    fellowship: str = ""
    near: tuple[float, float] | None = None
    radius_km: float = DEFAULT_RADIUS_KM
    starting_within: int | None = None


def duration(meeting: MeetingLike) -> timedelta:
    start = datetime.combine(date.min, meeting.start_time)
    end = datetime.combine(date.min, meeting.end_time)
    if end <= start:
        end += timedelta(days=1)  # runs past midnight
    return end - start


def occurrence(meeting: MeetingLike, meeting_day: int, now: datetime) -> tuple[datetime, datetime]:
    """The (start, end) in UTC of the in-progress or next occurrence on this weekly day.

    Computed from the wall-clock time in the meeting's zone on the actual date, so a 7 pm
    meeting is at 7 pm local time on both sides of a daylight-saving change.
    """
    zone = ZoneInfo(meeting.timezone)
    local_today = now.astimezone(zone).date()
    python_weekday = (meeting_day - 1) % 7  # Meeting Guide: Sunday = 0; Python: Monday = 0
    ahead = (python_weekday - local_today.weekday()) % 7
    length = duration(meeting)
    for weeks in (-1, 0, 1, 2):
        day = local_today + timedelta(days=ahead + 7 * weeks)
        starts = datetime.combine(day, meeting.start_time, tzinfo=zone).astimezone(ZoneInfo("UTC"))
        if starts + length > now:
            return starts, starts + length
    raise AssertionError("unreachable: a weekly meeting occurs within two weeks")


def held_on(meeting: Meeting, day: date, zone: ZoneInfo) -> list[datetime]:
    """The starts (UTC) of the meeting's occurrences that begin on ``day`` as seen in ``zone``
    (a Sunday 23:30 meeting in Los Angeles is held on Monday for a client in Chicago)."""
    own = ZoneInfo(meeting.timezone)
    starts = []
    for shift in (-1, 0, 1):
        own_day = day + timedelta(days=shift)
        if (own_day.weekday() + 1) % 7 not in meeting.days:  # Meeting Guide: Sunday = 0
            continue
        start = datetime.combine(own_day, meeting.start_time, tzinfo=own)
        if start.astimezone(zone).date() == day:
            starts.append(start.astimezone(ZoneInfo("UTC")))
    return starts


def held_today(meeting: Meeting, zone: ZoneInfo, now: datetime) -> bool:
    """Has an occurrence of the meeting started today (in ``zone``) by now?"""
    return any(start <= now for start in held_on(meeting, now.astimezone(zone).date(), zone))


def is_online(meeting: MeetingLike) -> bool:
    return bool(meeting.conference_url or meeting.conference_phone)


def temporarily_closed(meeting: MeetingLike) -> bool:
    return TEMPORARILY_CLOSED in (meeting.types or [])


def has_place(meeting: MeetingLike) -> bool:
    return bool(meeting.formatted_address or meeting.address or meeting.location
                or meeting.latitude is not None)


def is_in_person(meeting: MeetingLike) -> bool:
    """Can one walk in? Not when its location is temporarily closed (TC)."""
    return has_place(meeting) and not temporarily_closed(meeting)


@lru_cache(maxsize=4096)
def postal_code_point(code: str) -> tuple[float, float] | None:
    """A US ZIP code's centre, from the offline `zipcodes` dataset; None if unknown."""
    import zipcodes

    code = code.strip()[:5]
    if len(code) != 5 or not code.isdigit():
        return None
    try:
        match = zipcodes.matching(code)
    except (ValueError, TypeError):
        return None
    if not match:
        return None
    return float(match[0]["lat"]), float(match[0]["long"])


def meeting_point(meeting: MeetingLike) -> tuple[float, float] | None:
    if meeting.latitude is not None and meeting.longitude is not None:
        return meeting.latitude, meeting.longitude
    if meeting.postal_code and (meeting.country or "US").upper() in ("US", "USA"):
        return postal_code_point(meeting.postal_code)
    return None


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def parse_near(value: str) -> tuple[float, float]:
    """"lat,long" or a US ZIP code."""
    text = value.strip()
    if "," in text:
        lat_text, _, lon_text = text.partition(",")
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise MeetingError(422, "near", "Give latitude,longitude or a US ZIP code.") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise MeetingError(422, "near", "Latitude or longitude out of range.")
        return lat, lon
    point = postal_code_point(text)
    if point is None:
        raise MeetingError(422, "near", "Unknown postal code (US ZIP codes are known).")
    return point


# What a search reads of each meeting: enough to filter and order them, without building whole
# records (a directory may hold thousands); the page shown is loaded whole afterwards.
_SEARCH_COLUMNS = (
    Meeting.id, Meeting.name, Meeting.fellowship, Meeting.days, Meeting.start_time,
    Meeting.end_time, Meeting.timezone, Meeting.types, Meeting.conference_url,
    Meeting.conference_phone, Meeting.formatted_address, Meeting.address, Meeting.location,
    Meeting.latitude, Meeting.longitude, Meeting.postal_code, Meeting.country,
)
# Read only for a text search (`q`): notes may be long.
_TEXT_COLUMNS = (Meeting.group, Meeting.city, Meeting.region, Meeting.sub_region, Meeting.notes)


def _listed(clinic_id: int, *columns: Any) -> Select[Any]:
    return (select(*columns)
            .join(MeetingSource, MeetingSource.id == Meeting.source_id)
            .where(MeetingSource.clinic_id == clinic_id, Meeting.removed_at.is_(None)))


def search(clinic_id: int, query: Search, now: datetime) -> list[Occurrence]:
    """Weekly occurrences matching ``query``, soonest first (nearest first with ``near``)."""
    out: list[Occurrence] = []
    needle = query.q.strip().lower()
    columns = _SEARCH_COLUMNS + (_TEXT_COLUMNS if needle else ())
    for meeting in db.session.execute(_listed(clinic_id, *columns).order_by(Meeting.id)):
        if query.mode == "online" and not is_online(meeting):
            continue
        if query.mode == "in_person" and not is_in_person(meeting):
            continue
        if query.types and not set(query.types) <= set(meeting.types or []):
            continue
        if query.fellowship and meeting.fellowship.lower() != query.fellowship.lower():
            continue
        if needle and needle not in _haystack(meeting):
            continue
        distance = None
        if query.near is not None:
            point = meeting_point(meeting)
            if point is None:
                continue
            distance = haversine_km(query.near, point)
            if distance > query.radius_km:
                continue
        for meeting_day in meeting.days:
            starts, ends = occurrence(meeting, meeting_day, now)
            local = starts.astimezone(query.zone)
            if query.day is not None and (local.weekday() + 1) % 7 != query.day:
                continue
            if not _in_window(local.time(), query.start_from, query.start_to):
                continue
            if query.starting_within is not None and not (
                starts <= now < ends or starts - now <= timedelta(minutes=query.starting_within)
            ):
                continue
            out.append(Occurrence(meeting.id, meeting.name, meeting_day, starts, ends, distance))
    if query.near is not None:
        out.sort(key=lambda o: (o.distance_km or 0.0, o.starts_at, o.name))
    else:
        out.sort(key=lambda o: (o.starts_at, o.name, o.meeting_id))
    return out


def meetings_by_id(ids: list[int]) -> dict[int, Meeting]:
    """Whole records of the meetings a page shows (one query)."""
    if not ids:
        return {}
    return {m.id: m for m in db.session.scalars(select(Meeting).where(Meeting.id.in_(ids)))}


def types_and_fellowships(clinic_id: int) -> tuple[list[str], list[str]]:
    """The type codes (in order of first use) and fellowships of the clinic's directory."""
    codes: dict[str, None] = {}
    fellowships: set[str] = set()
    for types, fellowship in db.session.execute(
            _listed(clinic_id, Meeting.types, Meeting.fellowship).order_by(Meeting.id)):
        codes.update(dict.fromkeys(types or []))
        if fellowship:
            fellowships.add(fellowship)
    return list(codes), sorted(fellowships)


def _haystack(meeting: MeetingLike) -> str:
    # Types by their names too: people search "Spanish" or "Women", not the codes S and W.
    parts = [meeting.name, meeting.fellowship, meeting.group, meeting.location,
             meeting.formatted_address, meeting.address, meeting.city, meeting.region,
             meeting.sub_region, meeting.notes, *(type_label(c) for c in meeting.types or [])]
    return " ".join(p for p in parts if p).lower()


def _in_window(at: time, start: time | None, end: time | None) -> bool:
    if start is None and end is None:
        return True
    if start is not None and end is not None and end < start:  # e.g. 22:00 to 02:00
        return at >= start or at <= end
    return (start is None or at >= start) and (end is None or at <= end)


def listed_meeting(clinic_id: int, meeting_id: int) -> Meeting | None:
    """A meeting of this clinic's directory (None if not there or no longer listed)."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or meeting.removed_at is not None:
        return None
    if meeting.source.clinic_id != clinic_id:
        return None
    return meeting


# A client's meetings ----------------------------------------------------------------------------


def favourites(actor: User, client_id: int, ip: str | None) -> list[MeetingFavourite]:
    rows = list(db.session.scalars(
        select(MeetingFavourite).where(MeetingFavourite.client_id == client_id)
        .order_by(MeetingFavourite.created_at, MeetingFavourite.id)
    ))
    audit.record(actor, "read", "meeting_favourite", None, subject_id=client_id, ip=ip)
    db.session.commit()
    return rows


def save_favourite(actor: User, client_id: int, meeting: Meeting,
                   ip: str | None) -> tuple[MeetingFavourite, bool]:
    """Save (idempotent); returns (favourite, created)."""
    existing = db.session.scalar(select(MeetingFavourite).where(
        MeetingFavourite.client_id == client_id, MeetingFavourite.meeting_id == meeting.id))
    if existing is not None:
        return existing, False
    favourite = MeetingFavourite(client_id=client_id, meeting_id=meeting.id,
                                 created_at=clock.now())
    db.session.add(favourite)
    try:
        db.session.flush()
    except IntegrityError:  # the same save, racing itself
        db.session.rollback()
        again = db.session.scalar(select(MeetingFavourite).where(
            MeetingFavourite.client_id == client_id, MeetingFavourite.meeting_id == meeting.id))
        assert again is not None
        return again, False
    audit.record(actor, "create", "meeting_favourite", favourite.id, subject_id=client_id, ip=ip)
    db.session.commit()
    return favourite, True


def remove_favourite(actor: User, client_id: int, meeting_id: int, ip: str | None) -> bool:
    favourite = db.session.scalar(select(MeetingFavourite).where(
        MeetingFavourite.client_id == client_id, MeetingFavourite.meeting_id == meeting_id))
    if favourite is None:
        return False
    audit.record(actor, "delete", "meeting_favourite", favourite.id, subject_id=client_id, ip=ip)
    db.session.delete(favourite)
    db.session.commit()
    return True


def attendance(actor: User, client_id: int, ip: str | None) -> list[MeetingAttendance]:
    rows = list(db.session.scalars(
        select(MeetingAttendance).where(MeetingAttendance.client_id == client_id)
        .order_by(MeetingAttendance.attended_on.desc(), MeetingAttendance.id.desc())
    ))
    audit.record(actor, "read", "meeting_attendance", None, subject_id=client_id, ip=ip)
    db.session.commit()
    return rows


def record_attendance(actor: User, client_id: int, meeting: Meeting, attended_on: date,
                      zone: ZoneInfo, now: datetime,
                      ip: str | None) -> tuple[MeetingAttendance, bool]:
    """A client says they went (once per meeting and day; a retry returns the same row).

    Only on a day the meeting is held, in the client's zone, and today only once it began.
    """
    today = now.astimezone(zone).date()
    if attended_on > today:
        raise MeetingError(422, "attended_on", "That day has not come yet.")
    if attended_on < today - timedelta(days=60):
        raise MeetingError(422, "attended_on", "Record meetings within 60 days of going.")
    starts = held_on(meeting, attended_on, zone)
    if not starts:
        when = "today" if attended_on == today else f"on {attended_on:%A, %B} {attended_on.day}"
        raise MeetingError(422, "attended_on", f"{meeting.name} is not held {when}.")
    if min(starts) > now:
        raise MeetingError(422, "attended_on", f"{meeting.name} has not started yet today. "
                                               "Record it once you have been.")
    existing = db.session.scalar(select(MeetingAttendance).where(
        MeetingAttendance.client_id == client_id, MeetingAttendance.meeting_id == meeting.id,
        MeetingAttendance.attended_on == attended_on))
    if existing is not None:
        return existing, False
    row = MeetingAttendance(client_id=client_id, meeting_id=meeting.id, attended_on=attended_on,
                            created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "create", "meeting_attendance", row.id, subject_id=client_id, ip=ip)
    db.session.commit()
    return row, True


def recommendations(actor: User, client_id: int, ip: str | None) -> list[MeetingRecommendation]:
    rows = list(db.session.scalars(
        select(MeetingRecommendation).where(MeetingRecommendation.client_id == client_id)
        .order_by(MeetingRecommendation.created_at.desc(), MeetingRecommendation.id.desc())
    ))
    audit.record(actor, "read", "meeting_recommendation", None, subject_id=client_id, ip=ip)
    db.session.commit()
    return rows


def recommend(actor: User, client_id: int, meeting: Meeting, note: str,
              ip: str | None) -> MeetingRecommendation:
    row = MeetingRecommendation(client_id=client_id, meeting_id=meeting.id,
                                counselor_id=actor.id, note=note.strip(), created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "create", "meeting_recommendation", row.id, subject_id=client_id, ip=ip)
    db.session.commit()
    return row


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_calendar_token(actor: User, client_id: int, ip: str | None) -> str:
    """A new private calendar-feed token; any earlier one stops working."""
    token = secrets.token_urlsafe(32)
    calendar = db.session.scalar(
        select(MeetingCalendar).where(MeetingCalendar.client_id == client_id))
    if calendar is None:
        calendar = MeetingCalendar(client_id=client_id, token_hash=_token_hash(token),
                                   created_at=clock.now())
        db.session.add(calendar)
    else:
        calendar.token_hash = _token_hash(token)
        calendar.created_at = clock.now()
    db.session.flush()
    audit.record(actor, "create", "meeting_calendar", calendar.id, subject_id=client_id, ip=ip)
    db.session.commit()
    return token


def revoke_calendar_token(actor: User, client_id: int, ip: str | None) -> bool:
    calendar = db.session.scalar(
        select(MeetingCalendar).where(MeetingCalendar.client_id == client_id))
    if calendar is None:
        return False
    audit.record(actor, "delete", "meeting_calendar", calendar.id, subject_id=client_id, ip=ip)
    db.session.delete(calendar)
    db.session.commit()
    return True


def calendar_owner(token: str) -> User | None:
    """The client whose calendar feed this token opens (None for an unknown or revoked one)."""
    if not token or len(token) > 100:
        return None
    calendar = db.session.scalar(
        select(MeetingCalendar).where(MeetingCalendar.token_hash == _token_hash(token)))
    if calendar is None:
        return None
    user = db.session.get(User, calendar.client_id)
    return user if user is not None and user.is_active else None


def calendar_meetings(owner: User, ip: str | None) -> list[Meeting]:
    rows = db.session.scalars(
        select(Meeting).join(MeetingFavourite, MeetingFavourite.meeting_id == Meeting.id)
        .where(MeetingFavourite.client_id == owner.id, Meeting.removed_at.is_(None))
        .order_by(Meeting.name, Meeting.id)
    )
    meetings = list(rows)
    audit.record(owner, "read", "meeting_calendar", None, subject_id=owner.id,
                 channel="calendar", ip=ip)
    db.session.commit()
    return meetings


__all__ = ["FeedError", "ImportReport", "MeetingError", "SOURCE_FILE", "SOURCE_MANUAL",
           "SOURCE_URL", "content_hash"]

