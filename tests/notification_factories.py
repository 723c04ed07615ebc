"""Notification records made straight in the database, for the authorisation matrix."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from companion.accounts.models import User
from companion.core import clock
from companion.core.extensions import db
from companion.notifications.models import Notification, NotificationKind, PushSubscription
from tests.notification_servers import BrowserKeys

# A browser's keys for request bodies (a subscription on a known push service: nothing is sent).
SUBSCRIPTION_KEYS = BrowserKeys().subscription("")["keys"]


def subscription(user: User, name: str) -> PushSubscription:
    made = PushSubscription(user_id=user.id, endpoint=f"https://fcm.googleapis.com/fcm/send/{name}",
                            p256dh=SUBSCRIPTION_KEYS["p256dh"], auth=SUBSCRIPTION_KEYS["auth"],
                            created_at=clock.now())
    db.session.add(made)
    db.session.commit()
    return made


def notification(user: User) -> Notification:
    made = Notification(user_id=user.id, kind=NotificationKind.MODULE_ASSIGNED,
                        occurrence=f"assignment:{user.id}", title="Companion: something new",
                        body="Something new is waiting for you in Companion.", url="/learn",
                        created_at=clock.now(), expires_at=clock.now() + timedelta(days=7))
    db.session.add(made)
    db.session.commit()
    return made


def matrix_notifications(made: dict[str, User], others: dict[str, User]
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A device and a notification of the first client's, and of the other client's."""

    def of(client: User, name: str) -> dict[str, Any]:
        return {"subscription": subscription(client, name).id,
                "notification": notification(client).id}

    return of(made["client"], "mine"), of(others["client"], "theirs")
