"""Alerts nobody acknowledged in time go to the program's on-call staff."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from companion.accounts.models import User
from companion.alerts import services as alerts
from companion.alerts.models import Alert
from companion.clinic.models import Enrollment, Program
from companion.core import clock, events
from companion.core.extensions import db


def escalate_overdue() -> list[Alert]:
    """Escalate each open alert older than its program's limit, once.

    Several web processes may run this: the conditional UPDATE lets exactly one of them claim
    an alert.
    """
    now = clock.now()
    rows = db.session.execute(
        select(Alert, Program)
        .join(Enrollment, Enrollment.client_id == Alert.client_id)
        .join(Program, Program.id == Enrollment.program_id)
        .where(Alert.acknowledged_at.is_(None), Alert.escalated_at.is_(None),
               Enrollment.end_date.is_(None))
    ).all()
    claimed: list[tuple[Alert, Program]] = []
    for alert, program in rows:
        if now - alert.created_at < timedelta(minutes=program.alert_escalation_minutes):
            continue
        result = db.session.execute(
            update(Alert).where(Alert.id == alert.id, Alert.escalated_at.is_(None))
            .values(escalated_at=now).execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            claimed.append((alert, program))
    for alert, program in claimed:
        on_call = db.session.scalars(
            select(User.id).where(User.id.in_(program.on_call_ids), User.active)).all()
        payload = alerts.event_payload(alert) | {"escalated": True}
        # Sent with the commit that claims the alert: a claim rolled back tells nobody.
        events.publish([events.user_room(uid) for uid in on_call], "alert", payload)
    db.session.commit()
    return [alert for alert, _ in claimed]
