"""The checks the meetings views make before they act: that a meeting is in the caller's
clinic's directory, and that the caller may read or write a client's meetings.

Both answer 404 rather than 403 where a 403 would tell someone a record exists that they may not
see; in one module so every view of the package refuses the same way.
"""

from __future__ import annotations

from companion.clinic import policy
from companion.clinic.guards import authorize, me
from companion.core.problems import ApiProblem
from companion.meetings.directory import listed_meeting
from companion.meetings.models import Meeting


def listed_or_404(meeting_id: int, field_name: str = "meeting_id") -> Meeting:
    """The meeting, if the caller's clinic's directory lists it."""
    meeting = listed_meeting(me().clinic_id, meeting_id)
    if meeting is None:
        message = "That meeting is not in the directory."
        raise ApiProblem(404, "Not found", message, [{"field": field_name, "message": message}])
    return meeting


def authorize_client_record(client_id: int, action: policy.Action) -> None:
    """Authorise; someone who may not even read this client's records learns nothing (404)."""
    readable = policy.can(me(), policy.Action.READ_CLIENT_RECORD, client_id)
    authorize(action, client_id, hide=not readable)
