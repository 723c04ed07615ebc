"""Reading Meeting Guide JSON feeds (code4recovery/spec): fetching them safely and turning each row
into meeting fields, reporting every row skipped and every value dropped, never failing the whole
feed for one bad row."""

from __future__ import annotations

import hashlib
import json
import re
import time as monotonic_time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import available_timezones

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


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: object) -> bool:
    return isinstance(name, str) and name in time_zones()


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


def parse_feed(raw: bytes | str, default_timezone: str, default_fellowship: str = "") -> ParsedFeed:
    """Every row of a feed, read into meeting fields or skipped with its reason."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except UnicodeDecodeError:
        raise FeedError("the feed is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise FeedError(f"the feed is not valid JSON (line {error.lineno})") from None
    if not isinstance(data, list):
        raise FeedError("the feed is not a JSON array of meetings")
    result = ParsedFeed()
    seen: set[str] = set()
    for index, row in enumerate(data, 1):
        notes: list[str] = []
        slug = _slug(row)
        try:
            outcome = _parse_row(row, default_timezone, default_fellowship, notes)
        except Exception:  # a row we did not foresee must not sink the feed
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


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a few redirects, never to anything but http(s)."""

    max_redirections = 5

    def http_error_302(self, req, fp, code, msg, headers):
        # Checked before urllib's own check, which would allow ftp: and call others HTTP errors.
        target = headers.get("Location") or headers.get("URI") or ""
        scheme = urlsplit(urljoin(req.full_url, target)).scheme.lower()
        if scheme not in ("http", "https"):
            raise FeedError(f"the feed redirected to a {scheme}: link; refused")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        scheme = urlsplit(newurl).scheme.lower()
        if scheme not in ("http", "https"):
            raise FeedError(f"the feed redirected to a {scheme or 'relative'}: link; refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    # Built by hand: urllib's default opener would also read file:, ftp: and data: links.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def fetch_feed(url: str, timeout: float, max_bytes: int) -> bytes:
    """The feed's bytes; FeedError when it cannot be had within ``timeout`` and ``max_bytes``."""
    if http_url(url) is None:
        raise FeedError("the feed's address must be an http(s) link")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Accept": "application/json", "User-Agent": "Companion meeting import"}
    )
    deadline = monotonic_time.monotonic() + timeout
    try:
        with _opener().open(request, timeout=timeout) as response:  # nosec B310
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FeedError(f"the feed is larger than {max_bytes // 1024} KiB")
            chunks: list[bytes] = []
            size = 0
            while True:
                if monotonic_time.monotonic() > deadline:
                    raise FeedError(f"the feed did not arrive within {timeout:g} seconds")
                chunk = response.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FeedError(f"the feed is larger than {max_bytes // 1024} KiB")
                chunks.append(chunk)
            return b"".join(chunks)
    except FeedError:
        raise
    except urllib.error.HTTPError as error:
        raise FeedError(f"the feed answered HTTP {error.code}") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise FeedError(f"the feed did not answer within {timeout:g} seconds") from None
        raise FeedError(f"could not reach the feed ({error.reason})") from None
    except TimeoutError:
        raise FeedError(f"the feed did not answer within {timeout:g} seconds") from None
    except (OSError, ValueError) as error:
        raise FeedError(f"could not read the feed ({type(error).__name__})") from None
