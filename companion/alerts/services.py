"""Risk alerts: raised and published inside the transaction that stores the signal, so the
``alert`` event goes out with its commit (and never, if it rolls back).

Each alert goes to every counselor who treats the client (``treatment.treating_counselor_ids``);
peer supporters never receive one. Published as the Socket.IO ``alert`` event to each
counselor's own room; the counselor's home page lists the open ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, case, select, update

from companion.accounts.models import User
from companion.alerts import event_payloads  # noqa: F401 - registers the alert's payload
from companion.alerts.models import Alert, AlertKind, AlertUrgency
from companion.clinic import treatment
from companion.clinic.models import Enrollment, Program
from companion.core import audit, clock, events
from companion.core.extensions import db

DEFAULT_CRAVING_THRESHOLD = 8

URGENCY = {
    AlertKind.PHQ9_ITEM9: AlertUrgency.URGENT,
    AlertKind.NEED_TO_TALK: AlertUrgency.HIGH,
    AlertKind.CRAVING_HIGH: AlertUrgency.HIGH,
    AlertKind.USE_REPORTED: AlertUrgency.HIGH,
    AlertKind.MISSED_CHECKINS: AlertUrgency.NORMAL,
}


def client_program(client_id: int) -> Program | None:
    """The program of the client's current (latest open) enrollment."""
    enrollment = db.session.scalar(
        select(Enrollment)
        .where(Enrollment.client_id == client_id)
        .order_by(Enrollment.end_date.is_not(None), Enrollment.start_date.desc(),
                  Enrollment.id.desc())
        .limit(1)
    )
    return enrollment.program if enrollment else None


def craving_threshold(client_id: int) -> int:
    program = treatment.client_program(client_id)
    return program.craving_alert_threshold if program else DEFAULT_CRAVING_THRESHOLD


def raise_alerts(
    client_id: int, kinds: Iterable[AlertKind], source_type: str, source_id: str
) -> list[Alert]:
    """Add an alert of each kind to the caller's transaction (the caller commits)."""
    made = []
    for kind in dict.fromkeys(kinds):
        alert = Alert(
            client_id=client_id, kind=kind, urgency=URGENCY[kind], source_type=source_type,
            source_id=source_id, created_at=clock.now(),
        )
        db.session.add(alert)
        made.append(alert)
    if made:
        db.session.flush()
    return made


def publish(alerts: Iterable[Alert]) -> None:
    """Publish raised alerts to every treating counselor, in the caller's transaction: they go
    out when it commits (core/events.py)."""
    for alert in alerts:
        counselors = treatment.treating_counselor_ids(alert.client_id)
        events.publish([events.user_room(cid) for cid in counselors], "alert",
                       event_payload(alert))


def event_payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "client": {"id": alert.client_id, "display_name": alert.client.display_name},
        "kind": alert.kind.value,
        "urgency": alert.urgency.value,
        "created_at": alert.created_at.isoformat(),
    }


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        **event_payload(alert),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "ack_note": alert.ack_note,
    }


# The order a counselor works through alerts: a PHQ-9 item 9 answer is not pushed down by a
# newer craving.
URGENCY_RANK = {AlertUrgency.URGENT: 0, AlertUrgency.HIGH: 1, AlertUrgency.NORMAL: 2}


def alerts_for(staff: User, state: str = "open", client_id: int | None = None) -> Select[Any]:
    """The alerts of the clients this counselor treats: open ones first, then the most urgent,
    then the newest."""
    from companion.clinic import schedule

    client_ids = [c.id for c in schedule.caseload(staff)]
    if client_id is not None:
        client_ids = [c for c in client_ids if c == client_id]
    stmt = select(Alert).where(Alert.client_id.in_(client_ids))
    if state == "open":
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    return stmt.order_by(
        case((Alert.acknowledged_at.is_(None), 0), else_=1),
        case(URGENCY_RANK, value=Alert.urgency),
        Alert.created_at.desc(),
        Alert.id.desc(),
    )


def acknowledge(staff: User, alert: Alert, note: str | None) -> Alert:
    """Mark the alert handled. The first acknowledgement stands (also when two counselors press
    at once: the update only applies to an alert still open); a repeat changes nothing."""
    result = db.session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=clock.now(), acknowledged_by_id=staff.id, ack_note=note or None)
        .execution_options(synchronize_session=False)
    )
    action = "acknowledge" if getattr(result, "rowcount", 0) else "read"
    audit.record(staff, action, "alert", alert.id, subject_id=alert.client_id)
    db.session.commit()
    db.session.refresh(alert)
    return alert
