"""Records the authorisation matrix needs for the meeting routes (issue 5)."""

from __future__ import annotations

import json
from typing import Any

from companion.accounts.models import Clinic
from companion.core.extensions import db
from companion.meetings import sources as meetings
from companion.meetings.models import Meeting, MeetingCalendar, MeetingFavourite

# Held every day from midnight in the clients' zone, so a client may say they went "today" at any
# hour the matrix runs.
ROW = {"name": "Matrix Meeting", "slug": "matrix", "day": [0, 1, 2, 3, 4, 5, 6], "time": "00:00",
       "timezone": "America/Chicago", "conference_url": "https://meet.example.org/m"}
FEED = json.dumps([ROW])
# The matrix runs str.format over string bodies: the feed's braces are doubled to survive it.
FEED_IN_BODY = FEED.replace("{", "{{").replace("}", "}}")
# Bodies the matrix sends; matrix_meetings() fills in the meeting it made for this run.
ATTENDANCE_BODY: dict[str, Any] = {"meeting_id": 0}
RECOMMENDATION_BODY: dict[str, Any] = {"meeting_id": 0, "note": "Worth a try"}


def _source(clinic_id: int) -> tuple[int, int]:
    source = meetings.create_source(None, clinic_id, name="Matrix feed", kind="file",
                                    location="matrix.json")
    meetings.refresh_source(source, None, raw=FEED)
    meeting = db.session.scalar(
        db.select(Meeting).where(Meeting.source_id == source.id))
    assert meeting is not None
    return source.id, meeting.id


def matrix_meetings(made: dict[str, Any], others: dict[str, Any]) -> tuple[dict, dict]:
    """A meeting of the clinic (saved by the first client, who also has a calendar feed) and
    one of another clinic; ({placeholders} of own paths, {placeholders} of others' paths)."""
    source_id, meeting_id = _source(made["client"].clinic_id)
    elsewhere = Clinic(name="Elsewhere")
    db.session.add(elsewhere)
    db.session.commit()
    their_source, their_meeting = _source(elsewhere.id)
    db.session.add(MeetingFavourite(client_id=made["client"].id, meeting_id=meeting_id))
    db.session.add(MeetingCalendar(client_id=made["client"].id, token_hash="0" * 64))
    db.session.commit()
    ATTENDANCE_BODY["meeting_id"] = meeting_id
    RECOMMENDATION_BODY["meeting_id"] = meeting_id
    return ({"meeting": meeting_id, "source": source_id},
            {"meeting": their_meeting, "source": their_source})
