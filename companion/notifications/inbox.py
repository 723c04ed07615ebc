"""A person's own notifications in the app: what was sent, when, by which channel; read or not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from companion.accounts.models import User
from companion.core import clock
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.notifications.models import DeliveryStatus, Notification


class InboxError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def of_person(user: User) -> Select[Any]:
    """Theirs only, newest first."""
    return select(Notification).where(Notification.user_id == user.id).order_by(
        Notification.created_at.desc(), Notification.id.desc())


def mark(user: User, notification_id: int, read: bool) -> Notification:
    found = db.session.get(Notification, notification_id)
    if found is None or found.user_id != user.id:
        raise InboxError(404, "notification_id", "No such notification, or not yours.")
    if read and found.read_at is None:
        found.read_at = clock.now()
    elif not read:
        found.read_at = None
    db.session.commit()
    return found


def notification_json(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind.value,
        "title": n.title,
        "body": n.body,
        "url": n.url,
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
        "deliveries": [
            {"channel": d.channel.value, "status": d.status.value,
             "sent_at": d.sent_at.isoformat() if d.sent_at else None}
            for d in n.deliveries if d.status != DeliveryStatus.SKIPPED
        ],
    }
