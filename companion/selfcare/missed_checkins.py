"""A client who has not checked in for N whole days (COMPANION_MISSED_CHECKIN_DAYS) raises a
missed_checkins alert for their counselors: once per run of missed days, found by a periodic job
(companion/jobs.py) on any number of processes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import Role, User
from companion.alerts import services as alerts
from companion.alerts.models import Alert, AlertKind
from companion.clinic.models import Enrollment
from companion.core.extensions import db
from companion.selfcare.models import CheckIn
from companion.selfcare.services import client_zone

SOURCE_TYPE = "missed_checkins"


def first_missed_day(enrolled_on: date, last_checkin_day: date | None) -> date:
    """The first day of the current run without a check-in."""
    if last_checkin_day is None:
        return enrolled_on
    return max(enrolled_on, last_checkin_day + timedelta(days=1))


def raise_due(now: datetime) -> list[Alert]:
    """Raise the alert for every enrolled client whose run of days without a check-in (before
    today, in their zone) has reached N; each run alerts once (its first day is the alert's
    source, unique)."""
    days = int(current_app.config.get("MISSED_CHECKIN_DAYS", 0))
    if days <= 0:
        return []
    enrolled = dict(db.session.execute(
        select(Enrollment.client_id, func.max(Enrollment.start_date))
        .join(User, User.id == Enrollment.client_id)
        .where(Enrollment.end_date.is_(None), User.role == Role.CLIENT, User.active)
        .group_by(Enrollment.client_id)).all())
    if not enrolled:
        return []
    last = dict(db.session.execute(
        select(CheckIn.client_id, func.max(CheckIn.local_date))
        .where(CheckIn.client_id.in_(enrolled)).group_by(CheckIn.client_id)).all())
    raised: list[Alert] = []
    for client_id, enrolled_on in enrolled.items():
        client = db.session.get(User, client_id)
        if client is None:
            continue
        today = now.astimezone(client_zone(client)).date()
        first = first_missed_day(enrolled_on, last.get(client_id))
        if (today - first).days < days:
            continue
        source_id = f"{client_id}:{first.isoformat()}"
        if db.session.scalar(select(Alert.id).where(
                Alert.source_type == SOURCE_TYPE, Alert.source_id == source_id)):
            continue
        try:
            with db.session.begin_nested():  # another process may raise it at the same moment
                made = alerts.raise_alerts(client_id, [AlertKind.MISSED_CHECKINS],
                                           SOURCE_TYPE, source_id)
                alerts.publish(made)  # sent with the commit, dropped with the savepoint
        except IntegrityError:
            continue
        raised += made
    db.session.commit()
    return raised
