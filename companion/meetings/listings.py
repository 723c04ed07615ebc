"""How a meeting is shown to someone: its listing as JSON in the viewer's own time zone (the
occurrence in progress or next, how to join or dial in, the place, the distance in km and miles,
whether it was held today) and its whole weekly schedule for the one-meeting page.

Shared by the directory, the admin's views (a meeting added by hand is answered the same way)
and a client's saved meetings, so a meeting looks the same wherever it appears.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from companion.clinic.guards import me
from companion.core.inputs import is_time_zone
from companion.core.problems import field_problem
from companion.meetings.feeds import link_host, type_label
from companion.meetings.models import Meeting
from companion.meetings.places import has_place, is_in_person, is_online, temporarily_closed
from companion.meetings.schedule import held_today, occurrence, soonest

KM_PER_MILE = 1.609344


def viewer_zone(name: str | None, field_name: str = "tz") -> ZoneInfo:
    """The zone asked for (``tz``), or the caller's own; a bad name is the input's fault."""
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
    """One occurrence of a meeting as the API lists it (MeetingOut), in ``zone``."""
    local = starts.astimezone(zone)
    place = None
    if has_place(meeting):
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
        "online": is_online(meeting),
        "in_person": is_in_person(meeting),
        "temporarily_closed": temporarily_closed(meeting),
        "join": {"url": meeting.conference_url, "host": link_host(meeting.conference_url),
                 "notes": meeting.conference_url_notes} if meeting.conference_url else None,
        "dial_in": _dial_in(meeting),
        "place": place,
        "distance_km": round(distance, 1) if distance is not None else None,
        "distance_miles": round(distance / KM_PER_MILE, 1) if distance is not None else None,
        "held_today": held_today(meeting, zone, now),
        "group": meeting.group,
        "notes": meeting.notes,
        "url": meeting.url,
    }


def detail_json(meeting: Meeting, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The one-meeting page (MeetingDetailOut): its soonest occurrence and every weekly day."""
    day, starts, ends = soonest(meeting, now)
    body = meeting_json(meeting, day, starts, ends, zone, now)
    schedule = []
    for meeting_day in meeting.days:
        s, e = occurrence(meeting, meeting_day, now)
        local = s.astimezone(zone)
        schedule.append({"day": (local.weekday() + 1) % 7, "time": local.strftime("%H:%M"),
                         "end_time": e.astimezone(zone).strftime("%H:%M"),
                         "next_start": local.isoformat()})
    schedule.sort(key=lambda s: str(s["next_start"]))
    body.update(schedule=schedule, source=meeting.source.name, updated=meeting.updated,
                entity=meeting.entity)
    return body
