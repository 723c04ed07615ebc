"""Which notifications are due now, made once each.

Every pass of the job (and the signals that cannot wait for one) turns due occurrences into
notification rows: one per (person, kind, occurrence), inserted with ON CONFLICT DO NOTHING on
that key, so a second process or a retried pass makes nothing twice. Each new row gets its
deliveries (an email, a push per device) per the person's preferences at that moment; sending
is delivery.py's, outside this transaction.

What is due is found from the records themselves, not from a queue filled at the time, so a
reminder whose moment passed while the server was down is found when it is back, if it is
still useful (a session reminder until the session ends, a check-in reminder until the day
does).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from companion.accounts.models import Role, User
from companion.alerts.models import Alert
from companion.careteam.models import PsychoedAssignment
from companion.clinic import treatment
from companion.clinic.models import Program, Session
from companion.core.extensions import db
from companion.dialin import availability
from companion.measures.models import MeasureSchedule
from companion.notifications import preferences, wording
from companion.notifications.models import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationPreference,
    PushSubscription,
)
from companion.rooms import connections
from companion.selfcare import services as selfcare

log = logging.getLogger(__name__)

# A session's reminders, in minutes before its start: the smallest lead already reached is the
# one due, so a session scheduled 9 minutes ahead gets one reminder, not two.
SESSION_LEADS = (60, 10)
# A risk alert goes out by push and email when the counselor has no socket this long after it
# was raised (their page may be reloading; a connected page showed it at once).
ALERT_GRACE = timedelta(seconds=10)
# How far back each kind's records are looked at: older ones are no longer news.
LOOK_BACK = timedelta(days=1)
MODULE_LOOK_BACK = timedelta(days=2)
MEASURE_USEFUL = timedelta(days=7)


@dataclass(frozen=True)
class Due:
    user_id: int
    kind: NotificationKind
    occurrence: str
    text: wording.Wording
    url: str
    expires_at: datetime
    # False: the person sees it in the app only (a counselor whose page is open).
    outside: bool = True


def plan(now: datetime) -> int:
    """Make every notification due now; returns how many were new."""
    due = [*session_reminders(now), *checkin_reminders(now), *measures_due(now),
           *modules_assigned(now), *sessions_cancelled(now), *risk_alerts(now)]
    made = make(due, now)
    db.session.commit()
    return made


def make(due: Iterable[Due], now: datetime) -> int:
    """Insert the ones not made yet, with their deliveries (the caller commits)."""
    wanted = [d for d in due if d.expires_at > now]
    if not wanted:
        return 0
    existing = set(db.session.execute(
        select(Notification.user_id, Notification.kind, Notification.occurrence).where(
            tuple_(Notification.user_id, Notification.kind, Notification.occurrence).in_(
                [(d.user_id, d.kind.value, d.occurrence) for d in wanted]))).all())
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({d.user_id for d in wanted}), User.active))}
    made = 0
    for item in wanted:
        user = users.get(item.user_id)
        if user is None or (item.user_id, item.kind, item.occurrence) in existing:
            continue
        prefs = preferences.of(user.id)
        if not preferences.wants(prefs, item.kind.value):
            continue  # turned off: not made (turned on again, one still due is)
        notification_id = _insert(item, now)
        if notification_id is None:
            continue  # another process made it first
        made += 1
        if item.outside:
            _add_deliveries(notification_id, user, prefs, now)
    return made


def _insert(item: Due, now: datetime) -> int | None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Notification).values(
        user_id=item.user_id, kind=item.kind, occurrence=item.occurrence,
        title=item.text.title, body=item.text.body, url=item.url, created_at=now,
        expires_at=item.expires_at,
    ).on_conflict_do_nothing(index_elements=["user_id", "kind", "occurrence"]).returning(
        Notification.id)
    value: Any = db.session.execute(stmt).scalar()
    return int(value) if value is not None else None


def _add_deliveries(notification_id: int, user: User, prefs: NotificationPreference,
                    now: datetime) -> None:
    held = preferences.quiet_until(prefs, preferences.zone_of(user), now)
    at = held or now
    if prefs.push:
        for subscription_id in db.session.scalars(select(PushSubscription.id).where(
                PushSubscription.user_id == user.id)):
            db.session.add(NotificationDelivery(
                notification_id=notification_id, channel=Channel.PUSH,
                target=f"push:{subscription_id}", subscription_id=subscription_id,
                status=DeliveryStatus.PENDING, next_attempt_at=at))
    if prefs.email and user.email:
        db.session.add(NotificationDelivery(
            notification_id=notification_id, channel=Channel.EMAIL, target="email",
            status=DeliveryStatus.PENDING, next_attempt_at=at))
    db.session.flush()


# --- what is due ----------------------------------------------------------------------------


def _zone_of(user_id: int, zones: dict[int, Any]) -> Any:
    if user_id not in zones:
        user = db.session.get(User, user_id)
        zones[user_id] = preferences.zone_of(user) if user is not None else None
    return zones[user_id]


def session_reminders(now: datetime) -> list[Due]:
    """Each client of a session starting within a reminder's lead time (or under way: joining
    late still counts), once per lead reached."""
    horizon = now + timedelta(minutes=max(SESSION_LEADS))
    sessions = db.session.scalars(select(Session).where(
        Session.cancelled_at.is_(None), Session.ended_at.is_(None), Session.ends_at > now,
        Session.starts_at <= horizon).order_by(Session.starts_at, Session.id))
    out: list[Due] = []
    zones: dict[int, Any] = {}
    for session in sessions:
        until = session.starts_at - now
        lead = min(m for m in SESSION_LEADS if until <= timedelta(minutes=m))
        occurrence = f"session:{session.id}:{lead}:{session.starts_at.isoformat()}"
        dial_in = (availability.dial_in_number()
                   if availability.offers_dial_in(db.session.get(Program, session.program_id))
                   else None)
        for client_id in treatment.session_clients(session):
            zone = _zone_of(client_id, zones)
            if zone is None:
                continue
            out.append(Due(client_id, NotificationKind.SESSION_REMINDER, occurrence,
                           wording.session_reminder(session.starts_at, zone, dial_in),
                           f"/sessions/{session.id}", session.ends_at))
    return out


def checkin_reminders(now: datetime) -> list[Due]:
    """Clients who chose a reminder time that has come today (their day) and have not checked
    in today."""
    rows = db.session.execute(
        select(User, NotificationPreference.checkin_reminder_at)
        .join(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(NotificationPreference.checkin_reminder_at.is_not(None),
               User.role == Role.CLIENT, User.active)).all()
    out: list[Due] = []
    for client, at in rows:
        zone = preferences.zone_of(client)
        local = now.astimezone(zone)
        if at is None or local.time().replace(tzinfo=None) < at \
                or treatment.is_discharged(client.id):
            continue
        day, latest = selfcare.today(client)
        if latest is not None:
            continue
        day_ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        out.append(Due(client.id, NotificationKind.CHECKIN_REMINDER, f"checkin:{day}",
                       wording.checkin_reminder(), "/checkin", day_ends))
    return out


def measures_due(now: datetime) -> list[Due]:
    """A questionnaire the counselor scheduled has come due (once per due date)."""
    plans = db.session.scalars(select(MeasureSchedule).where(
        MeasureSchedule.next_due <= now, MeasureSchedule.next_due > now - MEASURE_USEFUL))
    return [Due(p.client_id, NotificationKind.MEASURE_DUE,
                f"measure:{p.id}:{p.next_due.isoformat()}", wording.measure_due(),
                "/measures", p.next_due + MEASURE_USEFUL)
            for p in plans if not treatment.is_discharged(p.client_id)]


def modules_assigned(now: datetime) -> list[Due]:
    rows = db.session.scalars(select(PsychoedAssignment).where(
        PsychoedAssignment.completed_at.is_(None),
        PsychoedAssignment.assigned_at > now - MODULE_LOOK_BACK))
    return [Due(a.client_id, NotificationKind.MODULE_ASSIGNED, f"assignment:{a.id}",
                wording.module_assigned(), "/learn", a.assigned_at + timedelta(days=7))
            for a in rows]


def sessions_cancelled(now: datetime) -> list[Due]:
    """Clients of a session still to come that was cancelled (by staff, a closed day, the end
    of its group), whichever way it was."""
    sessions = db.session.scalars(select(Session).where(
        Session.cancelled_at.is_not(None), Session.cancelled_at > now - LOOK_BACK,
        Session.starts_at > now))
    return [Due(client_id, NotificationKind.SCHEDULE_CHANGE, f"session:{s.id}:cancelled",
                wording.session_cancelled(), "/home", s.starts_at)
            for s in sessions for client_id in treatment.session_clients(s)]


def session_moved(session_id: int, now: datetime) -> int:
    """Staff moved a session: its clients hear the new time (from the session_moved signal)."""
    session = db.session.get(Session, session_id)
    if session is None or session.cancelled_at is not None or session.starts_at <= now:
        return 0
    zones: dict[int, Any] = {}
    due = []
    for client_id in treatment.session_clients(session):
        zone = _zone_of(client_id, zones)
        if zone is not None:
            due.append(Due(client_id, NotificationKind.SCHEDULE_CHANGE,
                           f"session:{session.id}:moved:{session.starts_at.isoformat()}",
                           wording.session_moved(session.starts_at, zone), "/home",
                           session.starts_at))
    made = make(due, now)
    db.session.commit()
    return made


def _connected(user_id: int) -> bool:
    """A socket of theirs on this process: the alert was on their screen the moment it was
    raised. (Sockets on other processes are not seen: such a counselor gets the push and the
    mail too, the safe side. docs/notifications.md.)"""
    return bool(connections.connections_of_user(user_id))


def risk_alerts(now: datetime) -> list[Due]:
    """A new risk alert reaches the client's counselors, and one nobody acknowledged in time
    the program's on-call staff, by push and email when they have no live socket."""
    out: list[Due] = []
    fresh = db.session.scalars(select(Alert).where(
        Alert.acknowledged_at.is_(None), Alert.created_at > now - LOOK_BACK,
        Alert.created_at <= now - ALERT_GRACE))
    for alert in fresh:
        for counselor_id in sorted(treatment.treating_counselor_ids(alert.client_id)):
            out.append(_alert_due(counselor_id, f"alert:{alert.id}", alert))
    escalated = db.session.scalars(select(Alert).where(
        Alert.acknowledged_at.is_(None), Alert.escalated_at.is_not(None),
        Alert.escalated_at > now - LOOK_BACK))
    for alert in escalated:
        program = treatment.client_program(alert.client_id)
        for staff_id in sorted(set(program.on_call_ids if program else [])):
            out.append(_alert_due(int(staff_id), f"alert:{alert.id}:escalated", alert))
    return out


def _alert_due(user_id: int, occurrence: str, alert: Alert) -> Due:
    return Due(user_id, NotificationKind.RISK_ALERT, occurrence, wording.risk_alert(), "/home",
               alert.created_at + LOOK_BACK, outside=not _connected(user_id))

