"""Where a meeting is held and how to reach it: online (a join link or a dial-in), in person (a
place that is not temporarily closed), and how far it is from a point or a US ZIP code.

The directory filters and orders by these, and a listing shows them: one module so both agree
on what counts as online or in person.
"""

from __future__ import annotations

import math
from functools import lru_cache

from companion.core.errors import ServiceError
from companion.meetings.feeds import TEMPORARILY_CLOSED
from companion.meetings.models import MeetingLike


class PlaceError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def is_online(meeting: MeetingLike) -> bool:
    return bool(meeting.conference_url or meeting.conference_phone)


def temporarily_closed(meeting: MeetingLike) -> bool:
    return TEMPORARILY_CLOSED in (meeting.types or [])


def has_place(meeting: MeetingLike) -> bool:
    return bool(meeting.formatted_address or meeting.address or meeting.location
                or meeting.latitude is not None)


def is_in_person(meeting: MeetingLike) -> bool:
    """Can one walk in? Not when its location is temporarily closed (TC)."""
    return has_place(meeting) and not temporarily_closed(meeting)


@lru_cache(maxsize=4096)
def postal_code_point(code: str) -> tuple[float, float] | None:
    """A US ZIP code's centre, from the offline `zipcodes` dataset; None if unknown."""
    import zipcodes

    code = code.strip()[:5]
    if len(code) != 5 or not code.isdigit():
        return None
    try:
        match = zipcodes.matching(code)
    except (ValueError, TypeError):
        return None
    if not match:
        return None
    return float(match[0]["lat"]), float(match[0]["long"])


def meeting_point(meeting: MeetingLike) -> tuple[float, float] | None:
    if meeting.latitude is not None and meeting.longitude is not None:
        return meeting.latitude, meeting.longitude
    if meeting.postal_code and (meeting.country or "US").upper() in ("US", "USA"):
        return postal_code_point(meeting.postal_code)
    return None


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def parse_near(value: str) -> tuple[float, float]:
    """"lat,long" or a US ZIP code."""
    text = value.strip()
    if "," in text:
        lat_text, _, lon_text = text.partition(",")
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise PlaceError(422, "near", "Give latitude,longitude or a US ZIP code.") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PlaceError(422, "near", "Latitude or longitude out of range.")
        return lat, lon
    point = postal_code_point(text)
    if point is None:
        raise PlaceError(422, "near", "Unknown postal code (US ZIP codes are known).")
    return point
