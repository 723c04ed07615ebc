"""The admin's routes for where a clinic's directory comes from: its sources (a Meeting Guide
feed URL or an uploaded file) with how their last import went, importing one again now, and a
meeting added by hand. All need MANAGE_MEETINGS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, request

from companion.clinic import policy
from companion.clinic.guards import authorize, me
from companion.core import clock
from companion.core.http import api
from companion.core.pagination import PageQuery, page_of_list
from companion.core.problems import ApiProblem, Problem, field_problem
from companion.core.spec import registry
from companion.meetings import sources
from companion.meetings.listings import detail_json, viewer_zone
from companion.meetings.models import SOURCE_FILE, SOURCE_MANUAL, SOURCE_URL, MeetingSource
from companion.meetings.schemas import (
    ManualMeetingBody,
    MeetingDetailOut,
    MeetingRefreshBody,
    MeetingSourceBody,
    MeetingSourceOut,
    MeetingSourcePage,
)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def source_json(source: MeetingSource) -> dict[str, Any]:
    """A source as the admin sees it (MeetingSourceOut)."""
    return {
        "id": source.id, "name": source.name, "kind": source.kind, "location": source.location,
        "fellowship": source.fellowship, "timezone": source.timezone,
        "refresh_hours": source.refresh_hours, "meetings": sources.listed_count(source),
        "last_status": source.last_status, "last_error": source.last_error,
        "last_import_at": _iso(source.last_import_at),
        "last_success_at": _iso(source.last_success_at),
        "next_refresh_at": _iso(source.next_refresh_at),
        "last_report": source.last_report,
    }


@api.before_request
def _feed_upload_size() -> None:
    # A feed file may be larger than the API's usual 1 MB body limit.
    if request.endpoint in ("api.create_meeting_source", "api.refresh_meeting_source"):
        request.max_content_length = int(current_app.config["MEETING_FEED_MAX_BYTES"]) + 65536


@registry.route(api, "/meeting-sources", "GET", summary="Meeting sources and their last import",
                tag="meetings", query=PageQuery, responses={200: MeetingSourcePage, 403: Problem})
def list_meeting_sources(query: PageQuery) -> dict[str, Any]:
    authorize(policy.Action.MANAGE_MEETINGS)
    return page_of_list(sources.clinic_sources(me().clinic_id), query, source_json)


@registry.route(api, "/meeting-sources", "POST",
                summary="Add a source (feed URL or uploaded file) and import it now",
                tag="meetings", body=MeetingSourceBody,
                responses={201: MeetingSourceOut, 403: Problem})
def create_meeting_source(body: MeetingSourceBody) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.MANAGE_MEETINGS)
    if (body.url is None) == (body.feed is None):
        raise field_problem("url", "Give a feed URL or upload a file (one of the two).")
    kind = SOURCE_URL if body.url else SOURCE_FILE
    source = sources.create_source(
        me(), me().clinic_id, name=body.name.strip(), kind=kind,
        location=body.url or body.file_name, fellowship=body.fellowship.strip(),
        timezone=body.timezone, refresh_hours=body.refresh_hours,
    )
    sources.refresh_source(source, me(), raw=body.feed)
    return source_json(source), 201


@registry.route(api, "/meeting-sources/<int:source_id>/refresh", "POST",
                summary="Import a source again now (a file source takes the new file)",
                tag="meetings", body=MeetingRefreshBody,
                responses={200: MeetingSourceOut, 403: Problem, 404: Problem})
def refresh_meeting_source(source_id: int, body: MeetingRefreshBody) -> dict[str, Any]:
    authorize(policy.Action.MANAGE_MEETINGS)
    source = sources.clinic_source(me().clinic_id, source_id)
    if source is None:
        raise ApiProblem(404, "Not found", "No such meeting source.")
    if source.kind == SOURCE_MANUAL:
        raise field_problem("source_id", "Meetings added by hand have nothing to import.", 409)
    if source.kind == SOURCE_FILE and body.feed is None:
        raise field_problem("feed", "Upload the file again to refresh a file source.")
    if source.kind == SOURCE_URL and body.feed is not None:
        raise field_problem("feed", "This source is fetched from its URL.")
    sources.refresh_source(source, me(), raw=body.feed)
    return source_json(source)


@registry.route(api, "/meetings", "POST", summary="Add one meeting by hand (admin)",
                tag="meetings", body=ManualMeetingBody,
                responses={201: MeetingDetailOut, 403: Problem})
def create_meeting(body: ManualMeetingBody) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.MANAGE_MEETINGS)
    row = body.model_dump()
    if not row.get("end_time"):
        row.pop("end_time", None)
    meeting = sources.add_manual_meeting(me(), row)
    return detail_json(meeting, viewer_zone(None), clock.now()), 201
