"""A client's private calendar feed, as routes: the client issues a new secret URL (the old one
stops) or turns it off, and a calendar app reads their saved meetings through that URL as .ics.
The feed itself needs no login (calendar apps cannot log in), so it is rate-limited per address.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from companion.clinic import policy
from companion.clinic.guards import me
from companion.core import audit, clock, origin
from companion.core.extensions import db, limiter
from companion.core.http import api
from companion.core.problems import ApiProblem, Problem
from companion.core.spec import registry
from companion.meetings import calendar_feed, icalendar
from companion.meetings.guards import authorize_client_record
from companion.meetings.schedule import soonest
from companion.meetings.schemas import MeetingCalendarOut


@registry.route(api, "/clients/<int:client_id>/meeting-calendar", "POST",
                summary="A new private calendar feed URL of saved meetings (the old one stops)",
                tag="meetings", responses={201: MeetingCalendarOut, 403: Problem, 404: Problem})
def issue_meeting_calendar(client_id: int) -> tuple[dict[str, Any], int]:
    authorize_client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    token = calendar_feed.issue_calendar_token(me(), client_id)
    base = (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")
    return {"url": f"{base}/api/v1/meeting-calendar/{token}.ics"}, 201


@registry.route(api, "/clients/<int:client_id>/meeting-calendar", "DELETE",
                summary="Turn the private calendar feed off", tag="meetings",
                responses={204: None, 403: Problem, 404: Problem})
def revoke_meeting_calendar(client_id: int) -> tuple[str, int]:
    authorize_client_record(client_id, policy.Action.WRITE_CLIENT_RECORD)
    if not calendar_feed.revoke_calendar_token(me(), client_id):
        raise ApiProblem(404, "Not found", "There is no calendar feed to turn off.")
    return "", 204


# Calendar apps cannot log in: the unguessable token in the path is the credential.
@registry.route(api, "/meeting-calendar/<token>.ics", "GET",
                summary="A client's private calendar feed (token from meeting-calendar)",
                tag="meetings", auth=False, responses={200: None, 404: Problem},
                content_type="text/calendar")
@limiter.limit("60 per minute")
def meeting_calendar_feed(token: str) -> Response:
    owner = calendar_feed.calendar_owner(token)
    if owner is None:
        raise ApiProblem(404, "Not found", "No such calendar.")
    now = clock.now()
    meetings = calendar_feed.calendar_meetings(owner)
    # Read by the owner's calendar app with the owner's token: audited as theirs, by that channel.
    with origin.acting_from(origin.by_channel("calendar")):
        audit.record(owner, "read", "meeting_calendar", None, subject_id=owner.id)
    db.session.commit()
    events = [(m, soonest(m, now)[1]) for m in meetings]
    text = icalendar.calendar(events, now, request.host, "Meetings (Companion)")
    return Response(text, mimetype="text/calendar")
