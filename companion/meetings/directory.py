"""The meeting directory of a clinic: searching it (day and time in the viewer's own zone, type,
online or in person, words, near a place, starting soon), the codes and fellowships it holds,
and one listed meeting.

A search reads only the columns it filters on, for every listed meeting (a directory may hold
thousands); the views load whole records for the page they show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from companion.core.extensions import db
from companion.meetings.feeds import type_label
from companion.meetings.models import Meeting, MeetingLike, MeetingSource
from companion.meetings.places import haversine_km, is_in_person, is_online, meeting_point
from companion.meetings.schedule import occurrence

DEFAULT_RADIUS_KM = 40.0


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
