"""Reading Meeting Guide JSON feeds (code4recovery/spec): fetching them safely and turning each row
into meeting fields, reporting every row skipped and every value dropped, never failing the whole
feed for one bad row."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from companion.core import outbound
from companion.core.inputs import is_time_zone

# Meeting Guide type codes and their readable names (code4recovery/spec, data/types.json).
# Unknown codes are kept as they come and shown raw.
TYPE_LABELS: dict[str, str] = {
    "11": "11th Step Meditation",
    "12x12": "12 Steps & 12 Traditions",
    "A": "Secular",
    "ABSI": "As Bill Sees It",
    "AL": "Concurrent with Alateen",
    "AL-AN": "Concurrent with Al-Anon",
    "AM": "Amharic",
    "ASL": "American Sign Language",
    "B": "Big Book",
    "BA": "Babysitting Available",
    "BE": "Beginner / Newcomer",
    "BI": "Bisexual",
    "BRK": "Breakfast",
    "C": "Closed",
    "CAN": "Candlelight",
    "CF": "Child-Friendly",
    "D": "Discussion",
    "DA": "Danish",
    "DB": "Digital Basket",
    "DD": "Dual Diagnosis",
    "DE": "German",
    "DR": "Daily Reflections",
    "EL": "Greek",
    "EN": "English",
    "FA": "Persian",
    "FF": "Fragrance Free",
    "FR": "French",
    "G": "Gay",
    "GR": "Grapevine",
    "H": "Birthday",
    "HE": "Hebrew",
    "HI": "Hindi",
    "HR": "Croatian",
    "HU": "Hungarian",
    "ITA": "Italian",
    "JA": "Japanese",
    "KOR": "Korean",
    "L": "Lesbian",
    "LGBTQ": "LGBTQ",
    "LIT": "Literature",
    "LS": "Living Sober",
    "LT": "Lithuanian",
    "M": "Men",
    "MED": "Meditation",
    "ML": "Malayalam",
    "N": "Native American",
    "NDG": "Indigenous",
    "NO": "Norwegian",
    "O": "Open",
    "OUT": "Outdoor",
    "P": "Professionals",
    "POC": "People of Color",
    "POL": "Polish",
    "POR": "Portuguese",
    "PUN": "Punjabi",
    "RUS": "Russian",
    "S": "Spanish",
    "SEN": "Seniors",
    "SK": "Slovak",
    "SM": "Smoking Permitted",
    "SP": "Speaker",
    "ST": "Step Study",
    "SV": "Swedish",
    "T": "Transgender",
    "TC": "Location Temporarily Closed",
    "TH": "Thai",
    "TL": "Tagalog",
    "TR": "Tradition Study",
    "UK": "Ukrainian",
    "W": "Women",
    "X": "Wheelchair Access",
    "XB": "Wheelchair-Accessible Bathroom",
    "XT": "Cross Talk Permitted",
    "Y": "Young People",
}
TEMPORARILY_CLOSED = "TC"

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# Unicode's control characters (C0, DEL, C1) but tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PHONE = re.compile(r"^[0-9+()\-.,;#*\s]+$")
_TEXT_FIELDS: dict[str, int] = {
    "formatted_address": 500, "address": 300, "city": 120, "state": 120, "postal_code": 20,
    "country": 80, "location": 300, "location_notes": 4000, "region": 200, "sub_region": 200,
    "conference_url_notes": 4000, "conference_phone_notes": 4000, "notes": 8000, "group": 255,
    "updated": 40,
}
_ENTITY_FIELDS = ("entity", "entity_email", "entity_location", "entity_phone")
_ENTITY_LINKS = ("entity_url", "entity_logo")


class FeedError(Exception):
    """The feed as a whole cannot be used (unreachable, not JSON, not a list...)."""


@dataclass
class RowIssue:
    row: int  # 1-based position in the feed
    slug: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "slug": self.slug, "message": self.message}


@dataclass
class ParsedMeeting:
    slug: str
    fields: dict[str, Any]
    content_hash: str


@dataclass
class ParsedFeed:
    meetings: list[ParsedMeeting] = field(default_factory=list)
    skipped: list[RowIssue] = field(default_factory=list)
    notes: list[RowIssue] = field(default_factory=list)


def http_url(value: object) -> str | None:
    """The link if it is a plain http(s) URL with a host, else None."""
    if not isinstance(value, str):
        return None
    link = value.strip()
    if not link or len(link) > 2000 or any(c.isspace() or ord(c) < 32 for c in link):
        return None
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return link


def link_host(link: str) -> str:
    return (urlsplit(link).hostname or "").lower()


def phone_number(value: object) -> str | None:
    """A dial-in string such as "+16465588656,,84713004993#" if it looks dialable."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    phone = value.strip()
    if not phone or len(phone) > 120 or not _PHONE.match(phone):
        return None
    if sum(c.isdigit() for c in phone) < 3:
        return None
    return phone


def parse_time(value: object) -> time | None:
    if not isinstance(value, str):
        return None
    match = _TIME.match(value.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_days(value: object) -> tuple[list[int], list[object]]:
    """(valid days, rejected values): 0-6 with Sunday = 0, as a number, a digit or an array."""
    values = value if isinstance(value, list) else [value]
    days: set[int] = set()
    rejected: list[object] = []
    for item in values:
        day: int | None = None
        if isinstance(item, int) and not isinstance(item, bool):
            day = item
        elif isinstance(item, str) and item.strip().isdigit():
            day = int(item.strip())
        if day is not None and 0 <= day <= 6:
            days.add(day)
        else:
            rejected.append(item)
    return sorted(days), rejected


def _text(value: object, limit: int) -> tuple[str | None, bool]:
    """(text or None, usable): strings, numbers, and arrays of strings joined; others dropped."""
    if value is None:
        return None, True
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, list):
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
            return None, False
        value = "\n".join(str(v).strip() for v in value if str(v).strip())
    if not isinstance(value, str):
        return None, False
    text = value.strip()
    return (text[:limit] if text else None), True


def _coordinate(value: object, bound: float) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if number != number or abs(number) > bound:  # NaN or out of range
        return None
    return number


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "1", "no", "false", "0"):
        return value.strip().lower() in ("yes", "true", "1")
    return None


def _types(value: object) -> tuple[list[str], bool]:
    if value is None:
        return [], True
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return [], False
    codes: list[str] = []
    clean = True
    for item in value:
        if isinstance(item, str) and item.strip() and len(item.strip()) <= 40:
            if item.strip() not in codes:
                codes.append(item.strip())
        else:
            clean = False
    return codes, clean


def type_label(code: str) -> str:
    """The readable name of a type code; an unknown code is shown as it is."""
    return TYPE_LABELS.get(code) or TYPE_LABELS.get(code.upper()) or code


def has_control_character(value: object) -> bool:
    """True when any text in ``value`` (nested or a key) holds a control character other than
    tab and line breaks: NUL, which PostgreSQL cannot store in text, escapes, C1 controls."""
    if isinstance(value, str):
        return _CONTROL.search(value) is not None
    if isinstance(value, dict):
        return any(has_control_character(k) or has_control_character(v)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(has_control_character(v) for v in value)
    return False


def parse_feed(raw: bytes | str, default_timezone: str, default_fellowship: str = "",
               max_rows: int | None = None) -> ParsedFeed:
    """Every row of a feed, read into meeting fields or skipped with its reason; rows past
    ``max_rows`` meetings are skipped (a directory's size bounds what a search costs)."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        # Not strict: a raw control character inside a string costs its row, not the feed.
        data = json.loads(text, strict=False)
    except UnicodeDecodeError:
        raise FeedError("the feed is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise FeedError(f"the feed is not valid JSON (line {error.lineno})") from None
    except RecursionError:
        raise FeedError("the feed is nested too deeply to be a list of meetings") from None
    if not isinstance(data, list):
        raise FeedError("the feed is not a JSON array of meetings")
    result = ParsedFeed()
    seen: set[str] = set()
    for index, row in enumerate(data, 1):
        notes: list[str] = []
        slug = _slug(row)
        if slug is not None and has_control_character(slug):
            slug = None  # not echoed into the report, the log or a terminal
        outcome: dict[str, Any] | str
        try:
            if has_control_character(row):
                outcome = "contains a control character (such as NUL); row skipped"
            elif max_rows is not None and len(result.meetings) >= max_rows:
                outcome = f"more than {max_rows} meetings in the feed; row skipped"
            else:
                outcome = _parse_row(row, default_timezone, default_fellowship, notes)
        except Exception:  # a row we did not foresee (nested too deep...) must not sink the feed
            outcome = "could not be read"
        if isinstance(outcome, str):
            result.skipped.append(RowIssue(index, slug, outcome))
            continue
        assert slug is not None
        if slug in seen:
            result.skipped.append(
                RowIssue(index, slug, "duplicate slug: the first row with it was kept")
            )
            continue
        seen.add(slug)
        result.notes.extend(RowIssue(index, slug, n) for n in notes)
        result.meetings.append(ParsedMeeting(slug, outcome, content_hash(outcome)))
    return result


def _slug(row: object) -> str | None:
    if not isinstance(row, dict):
        return None
    slug = row.get("slug")
    if isinstance(slug, int) and not isinstance(slug, bool):
        slug = str(slug)
    if isinstance(slug, str) and slug.strip() and len(slug.strip()) <= 255:
        return slug.strip()
    return None


def _parse_row(
    row: object, default_timezone: str, default_fellowship: str, notes: list[str]
) -> dict[str, Any] | str:
    """The meeting's fields, or the reason the row is skipped."""
    if not isinstance(row, dict):
        return "not a JSON object"
    name, _ = _text(row.get("name"), 255)
    if not name:
        return "missing name"
    if _slug(row) is None:
        return "missing or invalid slug"
    if row.get("day") is None:
        return "missing day"
    days, rejected = parse_days(row.get("day"))
    if not days:
        return f"invalid day {json.dumps(row.get('day'))[:40]} (0-6, Sunday = 0)"
    if rejected:
        notes.append(f"ignored invalid day values {json.dumps(rejected)[:60]}")
    if row.get("time") in (None, ""):
        return "missing time"
    start = parse_time(row.get("time"))
    if start is None:
        return f"invalid time {json.dumps(row.get('time'))[:40]} (HH:MM, 24 hour)"

    default_end = (datetime.combine(datetime.min, start) + timedelta(hours=1)).time()
    end = default_end
    if row.get("end_time") not in (None, ""):
        parsed_end = parse_time(row.get("end_time"))
        if parsed_end is None or parsed_end == start:
            notes.append(f"invalid end_time {json.dumps(row.get('end_time'))[:40]}; "
                         "set to one hour after the start")
        else:
            end = parsed_end

    zone = row.get("timezone")
    if zone in (None, ""):
        notes.append(f"no timezone; read in {default_timezone}")
        zone = default_timezone
    elif not is_time_zone(zone):
        notes.append(f"invalid timezone {json.dumps(zone)[:60]}; read in {default_timezone}")
        zone = default_timezone

    fields: dict[str, Any] = {
        "name": name,
        "days": days,
        "start_time": start.strftime("%H:%M"),
        "end_time": end.strftime("%H:%M"),
        "timezone": zone,
    }
    fellowship, _ = _text(row.get("fellowship"), 80)
    fields["fellowship"] = fellowship or default_fellowship
    for key, limit in _TEXT_FIELDS.items():
        value, usable = _text(row.get(key), limit)
        if not usable:
            notes.append(f"{key} dropped: not text")
        fields[key] = value

    latitude = _coordinate(row.get("latitude"), 90)
    longitude = _coordinate(row.get("longitude"), 180)
    if (row.get("latitude") not in (None, "") or row.get("longitude") not in (None, "")) and (
        latitude is None or longitude is None
    ):
        notes.append("latitude/longitude dropped: not a valid pair of coordinates")
        latitude = longitude = None
    fields["latitude"], fields["longitude"] = latitude, longitude
    fields["approximate"] = _flag(row.get("approximate"))

    regions = row.get("regions")
    if isinstance(regions, str):
        regions = [regions]
    if isinstance(regions, list):
        fields["regions"] = [str(r).strip()[:200] for r in regions
                             if isinstance(r, str | int) and str(r).strip()] or None
    else:
        if regions is not None:
            notes.append("regions dropped: not an array")
        fields["regions"] = None

    for key in ("conference_url", "url"):
        raw_link = row.get(key)
        link = http_url(raw_link)
        if raw_link not in (None, "") and link is None:
            notes.append(f"{key} dropped: not an http(s) link")
        fields[key] = link
    raw_phone = row.get("conference_phone")
    phone = phone_number(raw_phone)
    if raw_phone not in (None, "") and phone is None:
        notes.append("conference_phone dropped: not a phone number")
    fields["conference_phone"] = phone

    codes, clean = _types(row.get("types"))
    if not clean:
        notes.append("some types were not codes and were ignored")
    fields["types"] = codes

    entity: dict[str, str] = {}
    for key in _ENTITY_FIELDS:
        value, _ = _text(row.get(key), 300)
        if value:
            entity[key] = value
    for key in _ENTITY_LINKS:
        raw_link = row.get(key)
        link = http_url(raw_link)
        if raw_link not in (None, "") and link is None:
            notes.append(f"{key} dropped: not an http(s) link")
        elif link:
            entity[key] = link
    fields["entity"] = entity or None
    return fields


def content_hash(fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


# Fetching ---------------------------------------------------------------------------------------


def fetch_failed_message(timeout: float, max_bytes: int) -> str:
    """What the admin reads for every fetch that failed, whatever the cause (see outbound)."""
    size = (f"{max_bytes >> 20} MiB" if max_bytes % (1 << 20) == 0
            else f"{max(max_bytes >> 10, 1)} KiB")
    return (f"could not fetch the feed: the address must be public http(s) and send the feed "
            f"within {timeout:g} seconds, up to {size}")


class FetchFailed(FeedError):
    """A feed that could not be fetched: the same message for every cause, and ``reason``, the
    cause, for the operator's log."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def fetch_feed(url: str, timeout: float, max_bytes: int,
               allowed_hosts: Collection[str] = ()) -> bytes:
    """The feed's bytes, fetched from a public address (or a listed host) within ``timeout``
    seconds in all and ``max_bytes``; FetchFailed otherwise."""
    try:
        return outbound.fetch(
            url, timeout=timeout, max_bytes=max_bytes, allowed_hosts=allowed_hosts,
            headers={"Accept": "application/json", "User-Agent": "Companion meeting import"},
        )
    except outbound.FetchFailed as failure:
        raise FetchFailed(fetch_failed_message(timeout, max_bytes), failure.reason) from None
