"""Weekly meetings as iCalendar (RFC 5545): one recurring event per meeting, in the meeting's own
time zone with its VTIMEZONE, so calendars keep it at the same local time across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from companion.meetings.feeds import link_host
from companion.meetings.models import Meeting
from companion.meetings.schedule import duration

_BYDAY = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]  # Meeting Guide day 0 = Sunday


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space."""
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def _transitions(zone: ZoneInfo, first: int, last: int) -> list[tuple[datetime, timedelta,
                                                                       timedelta, bool, str]]:
    """(UTC moment, offset before, offset after, is DST after, name after) for each change."""
    out = []
    moment = datetime(first, 1, 1, tzinfo=UTC)
    end = datetime(last + 1, 1, 1, tzinfo=UTC)
    before = moment.astimezone(zone).utcoffset()
    while moment < end:
        following = moment + timedelta(days=1)
        after = following.astimezone(zone).utcoffset()
        if after != before:
            low, high = 0, 86400  # seconds into the day: the change lies in (low, high]
            while high - low > 1:
                mid = (low + high) // 2
                if (moment + timedelta(seconds=mid)).astimezone(zone).utcoffset() == before:
                    low = mid
                else:
                    high = mid
            at = moment + timedelta(seconds=high)
            local = at.astimezone(zone)
            assert before is not None and after is not None
            out.append((at, before, after, bool(local.dst()), local.tzname() or ""))
            before = after
        moment = following
    return out


def vtimezone(name: str, around: datetime) -> list[str]:
    zone = ZoneInfo(name)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    changes = _transitions(zone, around.year - 1, around.year + 4)
    if not changes:
        local = around.astimezone(zone)
        offset = _offset(local.utcoffset())
        lines += ["BEGIN:STANDARD", "DTSTART:19700101T000000", f"TZOFFSETFROM:{offset}",
                  f"TZOFFSETTO:{offset}", f"TZNAME:{local.tzname() or name}", "END:STANDARD"]
    for at, before, after, dst, label in changes:
        kind = "DAYLIGHT" if dst else "STANDARD"
        local_start = (at + before).replace(tzinfo=None)
        lines += [f"BEGIN:{kind}", f"DTSTART:{local_start:%Y%m%dT%H%M%S}",
                  f"TZOFFSETFROM:{_offset(before)}", f"TZOFFSETTO:{_offset(after)}",
                  f"TZNAME:{label}", f"END:{kind}"]
    lines.append("END:VTIMEZONE")
    return lines


def meeting_event(meeting: Meeting, first_start: datetime, now: datetime,
                  uid_domain: str) -> list[str]:
    """A VEVENT repeating weekly on the meeting's days from ``first_start`` (UTC)."""
    zone = ZoneInfo(meeting.timezone)
    local_start = first_start.astimezone(zone)
    local_end = (first_start + duration(meeting)).astimezone(zone)
    description = []
    if meeting.conference_url:
        description.append(f"Join online ({link_host(meeting.conference_url)}): "
                           f"{meeting.conference_url}")
    if meeting.conference_url_notes:
        description.append(meeting.conference_url_notes)
    if meeting.conference_phone:
        description.append(f"Dial in: {meeting.conference_phone}")
    if meeting.conference_phone_notes:
        description.append(meeting.conference_phone_notes)
    if meeting.notes:
        description.append(meeting.notes)
    place = meeting.formatted_address or ", ".join(
        p for p in (meeting.location, meeting.address, meeting.city, meeting.state) if p)
    lines = [
        "BEGIN:VEVENT",
        f"UID:meeting-{meeting.id}@{uid_domain}",
        f"DTSTAMP:{now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;TZID={meeting.timezone}:{local_start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID={meeting.timezone}:{local_end:%Y%m%dT%H%M%S}",
        "RRULE:FREQ=WEEKLY;BYDAY=" + ",".join(_BYDAY[d] for d in sorted(meeting.days)),
        f"SUMMARY:{_escape(meeting.name)}",
    ]
    if place:
        lines.append(f"LOCATION:{_escape(place)}")
    if description:
        lines.append(f"DESCRIPTION:{_escape(chr(10).join(description))}")
    link = meeting.conference_url or meeting.url
    if link:
        lines.append(f"URL:{link}")
    lines.append("END:VEVENT")
    return lines


def calendar(events: list[tuple[Meeting, datetime]], now: datetime, uid_domain: str,
             name: str) -> str:
    """A VCALENDAR of meetings, each with the first start its series counts from."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Companion//Meetings//EN",
             "CALSCALE:GREGORIAN", f"X-WR-CALNAME:{_escape(name)}"]
    for zone_name in sorted({m.timezone for m, _ in events}):
        lines += vtimezone(zone_name, now)
    for meeting, first_start in events:
        lines += meeting_event(meeting, first_start, now, uid_domain)
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
