"""A person's notification preferences: which kinds, by which channels, quiet hours, the time of
the daily check-in reminder. Their own only; every change is audited."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from companion.accounts.models import User
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.notifications.models import Channel, NotificationKind, NotificationPreference

KINDS = [k.value for k in NotificationKind]


class PreferenceError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def zone_of(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def of(user_id: int) -> NotificationPreference:
    """The stored preferences, or the defaults (not stored until the person changes them)."""
    found = db.session.get(NotificationPreference, user_id)
    return found or NotificationPreference(user_id=user_id, push=True, email=True, kinds={})


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def preferences_json(prefs: NotificationPreference) -> dict[str, Any]:
    quiet = None
    if prefs.quiet_start is not None and prefs.quiet_end is not None:
        quiet = {"start": _hhmm(prefs.quiet_start), "end": _hhmm(prefs.quiet_end)}
    return {
        "channels": {"push": prefs.push, "email": prefs.email},
        "quiet_hours": quiet,
        "checkin_reminder_at": _hhmm(prefs.checkin_reminder_at),
        "kinds": {kind: wants(prefs, kind) for kind in KINDS},
    }


def _time(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None


def update(user: User, body: Any) -> NotificationPreference:
    """Replace the person's preferences with ``body`` (validated whole before: a bad field
    stores nothing)."""
    quiet = body.quiet_hours
    if quiet is not None and quiet.start == quiet.end:
        raise PreferenceError(422, "quiet_hours.end", "Quiet hours end at another time than "
                              "they start.")
    prefs = db.session.get(NotificationPreference, user.id)
    if prefs is None:
        prefs = NotificationPreference(user_id=user.id)
        db.session.add(prefs)
    prefs.push = body.channels.push
    prefs.email = body.channels.email
    prefs.quiet_start = _time(quiet.start) if quiet else None
    prefs.quiet_end = _time(quiet.end) if quiet else None
    prefs.checkin_reminder_at = _time(body.checkin_reminder_at)
    prefs.kinds = body.kinds.model_dump()
    prefs.updated_at = clock.now()
    audit.record(user, "update", "notification_preference", user.id, subject_id=user.id)
    db.session.commit()
    return prefs


def wants(prefs: NotificationPreference, kind: str) -> bool:
    return bool((prefs.kinds or {}).get(kind, True))


def channel_on(prefs: NotificationPreference, channel: Channel) -> bool:
    return prefs.push if channel == Channel.PUSH else prefs.email


def quiet_until(prefs: NotificationPreference, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When the quiet hours holding ``now`` end, or None when ``now`` is not in them."""
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone)
    at = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= at < end
        end_day = local.date()
    else:  # across midnight: 22:00 to 07:00
        inside = at >= start or at < end
        end_day = local.date() + timedelta(days=1) if at >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo)
