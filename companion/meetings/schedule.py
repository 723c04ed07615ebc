"""When a meeting is held: its weekly occurrences in its own time zone (the same wall-clock time
across daylight-saving changes), which of them fall on a viewer's day in the viewer's zone, and
the soonest one.

Its own module because the directory's search, a client's attendance, the listings and the
.ics files all ask these questions, and must get the same answers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from companion.meetings.models import Meeting, MeetingLike


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


def soonest(meeting: Meeting, now: datetime) -> tuple[int, datetime, datetime]:
    """(meeting day, start, end) of whichever of the meeting's weekly days comes first."""
    best = min(((d, *occurrence(meeting, d, now)) for d in meeting.days), key=lambda o: o[1])
    return best[0], best[1], best[2]
