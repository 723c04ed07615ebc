"""A client's own meetings, as routes: the ones they saved (an ended one says when its listing
was removed), the ones they say they went to (self-reported, never IOP hours) and the ones their
counselors suggested. The client writes their own; whoever may read their record reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from companion.accounts.models import User
from companion.clinic import policy
from companion.clinic.guards import audit_access, me
from companion.core import clock
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page_of_list
from companion.core.problems import ApiProblem, Problem
from companion.core.spec import registry
from companion.meetings import client_meetings
from companion.meetings.guards import authorize_client_record, listed_or_404
from companion.meetings.listings import meeting_json
from companion.meetings.models import Meeting
from companion.meetings.schedule import soonest
from companion.meetings.schemas import (
    MeetingAttendanceBody,
    MeetingAttendanceOut,
    MeetingAttendancePage,
    MeetingFavouriteOut,
    MeetingFavouritePage,
    MeetingRecommendationBody,
    MeetingRecommendationOut,
    MeetingRecommendationPage,
)


def _favourite_json(favourite: Any, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    meeting: Meeting = favourite.meeting
    ended = meeting.removed_at is not None
    note = None
    if ended:
        note = (f"This meeting has ended: its listing was removed on "
                f"{meeting.removed_at.astimezone(zone):%B %d, %Y}.")  # type: ignore[union-attr]
    item = None
    if not ended:
        day, starts, ends = soonest(meeting, now)
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
    authorize_client_record(client_id, policy.Action.READ_CLIENT_RECORD)
    zone = ZoneInfo(_client(client_id).timezone)
    rows = client_meetings.favourites(client_id)
    audit_access("read", "meeting_favourite", None, subject_id=client_id)
    now = clock.now()
    return page_of_list(rows, query, lambda f: _favourite_json(f, zone, now))


@registry.route(api, "/clients/<int:client_id>/meeting-favourites/<int:meeting_id>", "PUT",
                summary="Save a meeting (the client)", tag="meetings",
                responses={200: MeetingFavouriteOut, 201: MeetingFavouriteOut, 403: Problem,
                           404: Problem})
def save_meeting_favourite(client_id: int, meeting_id: int) -> tuple[dict[str, Any], int]:
    authorize_client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    meeting = listed_or_404(meeting_id)
    favourite, created = client_meetings.save_favourite(
        me(), client_id, meeting)
    return _favourite_json(favourite, ZoneInfo(me().timezone), clock.now()), 201 if created else 200


@registry.route(api, "/clients/<int:client_id>/meeting-favourites/<int:meeting_id>", "DELETE",
                summary="Forget a saved meeting (the client)", tag="meetings",
                responses={204: None, 403: Problem, 404: Problem})
def delete_meeting_favourite(client_id: int, meeting_id: int) -> tuple[str, int]:
    authorize_client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    if not client_meetings.remove_favourite(me(), client_id, meeting_id):
        raise ApiProblem(404, "Not found", "That meeting is not saved.")
    return "", 204


@registry.route(api, "/clients/<int:client_id>/meeting-attendance", "GET",
                summary="Meetings a client says they went to (self-reported, not IOP hours)",
                tag="meetings", query=PageQuery,
                responses={200: MeetingAttendancePage, 404: Problem})
def list_meeting_attendance(client_id: int, query: PageQuery) -> dict[str, Any]:
    authorize_client_record(client_id, policy.Action.READ_CLIENT_RECORD)
    rows = client_meetings.attendance(client_id)
    audit_access("read", "meeting_attendance", None, subject_id=client_id)
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
    authorize_client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    meeting = listed_or_404(body.meeting_id)
    zone, now = ZoneInfo(me().timezone), clock.now()
    row, created = client_meetings.record_attendance(
        me(), client_id, meeting, body.attended_on or now.astimezone(zone).date(), zone, now)
    return _attendance_json(row), 201 if created else 200


@registry.route(api, "/clients/<int:client_id>/meeting-recommendations", "GET",
                summary="Meetings a client's counselors suggested", tag="meetings",
                query=PageQuery, responses={200: MeetingRecommendationPage, 404: Problem})
def list_meeting_recommendations(client_id: int, query: PageQuery) -> dict[str, Any]:
    authorize_client_record(client_id, policy.Action.READ_CLIENT_RECORD)
    rows = client_meetings.recommendations(client_id)
    audit_access("read", "meeting_recommendation", None, subject_id=client_id)
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
    authorize_client_record(client_id, policy.Action.RECOMMEND_MEETING)
    meeting = listed_or_404(body.meeting_id)
    row = client_meetings.recommend(me(), client_id, meeting, body.note)
    return _recommendation_json(row), 201
