"""A person's devices, as the push subscriptions their browsers made. Their own only: each
registration and removal is audited; an endpoint off the push services is refused."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from companion.accounts.models import LoginSession, User
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.notifications import webpush
from companion.notifications.models import PushSubscription

# Devices one person keeps subscribed; a new one past this replaces their oldest.
MAX_PER_PERSON = 10
NOT_FOUND = "No such subscription, or not yours."


class SubscriptionError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def check(endpoint: str, p256dh: str, auth: str) -> None:
    """Every field, before anything is stored; a 422 naming the first one at fault."""
    try:
        webpush.check_endpoint(endpoint, current_app.config["PUSH_ENDPOINT_HOSTS"])
    except webpush.EndpointRefused:
        # One sentence for every refusal: which check failed is no one's business.
        raise SubscriptionError(
            422, "endpoint", "This is not the address of a push service Companion sends to."
        ) from None
    try:
        webpush.check_public_key(p256dh)
    except ValueError:
        raise SubscriptionError(422, "keys.p256dh", "This is not a P-256 public key in "
                                "base64url, as the browser gives it.") from None
    try:
        webpush.check_auth_secret(auth)
    except ValueError:
        raise SubscriptionError(422, "keys.auth", "This is not a 16-byte secret in base64url, "
                                "as the browser gives it.") from None


def register(user: User, endpoint: str, p256dh: str, auth: str,
             login_id: str | None) -> PushSubscription:
    """Store the browser's subscription for this person. The same endpoint again (the browser
    resubscribed, or someone else now signs in on it) is updated and becomes theirs."""
    check(endpoint, p256dh, auth)
    found = db.session.scalar(select(PushSubscription).where(
        PushSubscription.endpoint == endpoint))
    if found is None:
        mine = db.session.scalars(select(PushSubscription).where(
            PushSubscription.user_id == user.id).order_by(PushSubscription.created_at.desc(),
                                                          PushSubscription.id.desc())).all()
        for old in mine[MAX_PER_PERSON - 1:]:
            db.session.delete(old)
        found = PushSubscription(endpoint=endpoint, user_id=user.id, p256dh=p256dh, auth=auth)
        db.session.add(found)
    found.user_id, found.p256dh, found.auth = user.id, p256dh, auth
    found.login_session_id = login_id
    found.created_at = clock.now()
    db.session.flush()
    audit.record(user, "create", "push_subscription", found.id, subject_id=user.id)
    db.session.commit()
    return found


def remove(user: User, subscription_id: int) -> None:
    found = db.session.get(PushSubscription, subscription_id)
    if found is None or found.user_id != user.id:
        raise SubscriptionError(404, "subscription_id", NOT_FOUND)
    db.session.delete(found)
    audit.record(user, "delete", "push_subscription", subscription_id, subject_id=user.id)
    db.session.commit()


def forget_gone(subscription_id: int) -> None:
    """The push service said it no longer exists (404 or 410): delete it (caller commits)."""
    db.session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))


def forget_login(login_id: str) -> int:
    """A person logged out: the subscriptions made in that login go (a phone handed on gets
    nothing more of theirs). A login that timed out keeps them: reminders must reach a phone
    that is put away."""
    login = db.session.get(LoginSession, login_id)
    if login is None or login.end_reason != "logout":
        return 0
    gone = db.session.scalars(select(PushSubscription).where(
        PushSubscription.login_session_id == login_id)).all()
    for subscription in gone:
        db.session.delete(subscription)
        audit.record(None, "delete", "push_subscription", subscription.id,
                     subject_id=subscription.user_id)
    db.session.commit()
    return len(gone)


def subscription_json(subscription: PushSubscription) -> dict[str, Any]:
    return {"id": subscription.id, "endpoint": subscription.endpoint,
            "created_at": subscription.created_at.isoformat()}
