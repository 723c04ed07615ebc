"""The meeting directory's routes: searching it in the caller's own time zone (near me, starting
soon, by type or words), its type codes and fellowships, one meeting, and one meeting as a
weekly .ics event. Searches are rate-limited per person, as each reads the whole directory.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from flask import Response, current_app, request
from flask_login import current_user

from companion.clinic import policy
from companion.clinic.guards import authorize, me
from companion.core import clock
from companion.core.extensions import limiter
from companion.core.http import api
from companion.core.pagination import page_of_list
from companion.core.problems import Problem
from companion.core.spec import registry
from companion.meetings import directory, icalendar
from companion.meetings.feeds import TYPE_LABELS, type_label
from companion.meetings.guards import listed_or_404
from companion.meetings.listings import detail_json, meeting_json, viewer_zone
from companion.meetings.places import parse_near
from companion.meetings.schedule import soonest
from companion.meetings.schemas import (
    MeetingDetailOut,
    MeetingDetailQuery,
    MeetingPage,
    MeetingQuery,
    MeetingTypesOut,
)


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
    zone = viewer_zone(query.tz)
    codes = query.types if isinstance(query.types, list) else [query.types or ""]
    types = [c.strip() for item in codes for c in item.split(",") if c.strip()]
    near = parse_near(query.near) if query.near else None
    search = directory.Search(
        zone=zone, day=query.day,
        start_from=time.fromisoformat(query.from_) if query.from_ else None,
        start_to=time.fromisoformat(query.to) if query.to else None,
        types=types, mode=query.mode, q=query.q or "", fellowship=query.fellowship or "",
        near=near, radius_km=query.radius_km, starting_within=query.starting_within,
    )
    now = clock.now()
    found = directory.search(me().clinic_id, search, now)
    # Only the meetings of the page shown are loaded whole.
    shown = directory.meetings_by_id(
        [o.meeting_id for o in found[query.cursor : query.cursor + query.limit]])
    return page_of_list(found, query, lambda o: meeting_json(
        shown[o.meeting_id], o.meeting_day, o.starts_at, o.ends_at, zone, now, o.distance_km))


@registry.route(api, "/meetings/types", "GET", summary="Meeting type codes and fellowships",
                tag="meetings", responses={200: MeetingTypesOut, 429: Problem})
@_directory_reads
def meeting_types() -> dict[str, Any]:
    codes, fellowships = directory.types_and_fellowships(me().clinic_id)
    known = [{"code": c, "label": type_label(c)} for c in TYPE_LABELS if c in codes]
    unknown = [{"code": c, "label": c} for c in codes if c not in TYPE_LABELS]
    return {"types": known + unknown, "fellowships": fellowships}


@registry.route(api, "/meetings/<int:meeting_id>", "GET", summary="One meeting",
                tag="meetings", query=MeetingDetailQuery,
                responses={200: MeetingDetailOut, 404: Problem})
def get_meeting(meeting_id: int, query: MeetingDetailQuery) -> dict[str, Any]:
    meeting = listed_or_404(meeting_id)
    authorize(policy.Action.VIEW_MEETING, policy.ClinicRecord(meeting.source.clinic_id), hide=True)
    return detail_json(meeting, viewer_zone(query.tz), clock.now())


@registry.route(api, "/meetings/<int:meeting_id>.ics", "GET",
                summary="One meeting as a weekly calendar event (.ics)", tag="meetings",
                responses={200: None, 404: Problem}, content_type="text/calendar")
def meeting_ics(meeting_id: int) -> Response:
    meeting = listed_or_404(meeting_id)
    authorize(policy.Action.VIEW_MEETING, policy.ClinicRecord(meeting.source.clinic_id), hide=True)
    now = clock.now()
    _, starts, _ = soonest(meeting, now)
    text = icalendar.calendar([(meeting, starts)], now, request.host, meeting.name)
    return Response(text, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'})
