"""Sending the deliveries that are due: claimed in the database, sent outside any transaction,
each retried on its own with backoff.

A pass claims due deliveries one by one with a conditional UPDATE (the row's next attempt moved
past a lease), so on any number of processes each is sent by one of them; then it commits, so
nothing is held while a push service or the mail server is slow; sends run side by side, each
under one deadline, so a slow or failing service never holds the others; the results are then
written. A process that dies mid-send leaves its claims to be taken again when the lease runs
out (that one delivery may then go twice: at least once, never lost).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from companion.accounts.models import User
from companion.alerts.models import Alert
from companion.careteam.models import PsychoedAssignment
from companion.clinic.models import Session
from companion.core import mail, outbound
from companion.core.extensions import db
from companion.measures.models import MeasureSchedule
from companion.notifications import preferences, subscriptions, webpush, wording
from companion.notifications.models import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationKind,
    PushSubscription,
)
from companion.selfcare import services as selfcare

log = logging.getLogger(__name__)

BATCH = 200
# Longer than a batch takes (sends side by side, each within its timeout).
LEASE = timedelta(minutes=10)
PARALLEL_SENDS = 4
MAX_ATTEMPTS = 8
# Push services keep an undelivered push this long at most (the phone is off).
MAX_TTL = 24 * 3600
# A stored endpoint whose host is no longer listed (COMPANION_PUSH_ENDPOINT_HOSTS): never sent to.
ENDPOINT_REFUSED = "endpoint no longer allowed"


def backoff(attempts: int) -> timedelta:
    """30 s, 2 min, 8 min, 32 min, then hourly."""
    return min(timedelta(seconds=30 * 4 ** max(attempts - 1, 0)), timedelta(hours=1))


@dataclass
class Outcome:
    """What a pass did, for logs and tests."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    gone: int = 0
    skipped: int = 0
    held: int = 0


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    channel: Channel
    subscription_id: int | None
    run: Callable[[], int | None]  # a push's HTTP status, or None for a mail handed over


def deliver(now: datetime) -> Outcome:
    """One pass over the deliveries due at ``now``."""
    outcome = Outcome()
    jobs = _claim(now, outcome)
    if not jobs:
        return outcome
    with ThreadPoolExecutor(max_workers=PARALLEL_SENDS) as pool:
        results = list(zip(jobs, pool.map(_attempt, jobs), strict=True))
    for job, (status, error) in results:
        _record(job, status, error, now, outcome)
    db.session.commit()
    return outcome


def _attempt(job: _Job) -> tuple[int | None, str | None]:
    """(push status or None, None) when the send got an answer; (None, why) when it did not.
    Runs without the database or the app."""
    try:
        return job.run(), None
    except webpush.EndpointRefused:
        return None, ENDPOINT_REFUSED
    except outbound.FetchFailed as error:
        return None, error.reason[:80]
    except (OSError, smtplib.SMTPException) as error:
        return None, type(error).__name__
    except Exception as error:  # noqa: BLE001 - one bad send must not end the pass
        return None, type(error).__name__


def _claim(now: datetime, outcome: Outcome) -> list[_Job]:
    due_ids = db.session.scalars(
        select(NotificationDelivery.id).where(NotificationDelivery.status ==
                                              DeliveryStatus.PENDING,
                                              NotificationDelivery.next_attempt_at <= now)
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id).limit(BATCH)
    ).all()
    mine = []
    for delivery_id in due_ids:
        result: Any = db.session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id == delivery_id,
                   NotificationDelivery.status == DeliveryStatus.PENDING,
                   NotificationDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempts=NotificationDelivery.attempts + 1)
            .execution_options(synchronize_session=False))
        if result.rowcount:
            mine.append(delivery_id)
    jobs: list[_Job] = []
    if mine:
        sender = webpush.sender()
        config = current_app.config
        for delivery in db.session.scalars(select(NotificationDelivery).where(
                NotificationDelivery.id.in_(mine))):
            job = _prepare(delivery, now, outcome, sender, config)
            if job is not None:
                jobs.append(job)
    db.session.commit()  # claims are kept; no transaction is open while sending
    return jobs


def _prepare(delivery: NotificationDelivery, now: datetime, outcome: Outcome,
             sender: webpush.Sender, config: Any) -> _Job | None:
    """The send to make for this claimed delivery, or None (skipped, held, gone)."""
    notification = delivery.notification
    user = db.session.get(User, notification.user_id)
    prefs = preferences.of(notification.user_id)
    if (user is None or not user.active or not still_useful(notification, now)
            or not preferences.wants(prefs, notification.kind.value)
            or not preferences.channel_on(prefs, delivery.channel)):
        delivery.status = DeliveryStatus.SKIPPED
        outcome.skipped += 1
        return None
    held = preferences.quiet_until(prefs, preferences.zone_of(user), now)
    if held is not None:
        delivery.next_attempt_at = held
        delivery.attempts -= 1  # waiting is not trying
        outcome.held += 1
        return None
    text = wording.Wording(notification.title, notification.body)
    if delivery.channel == Channel.EMAIL:
        if not config.get("MAIL_URL"):
            # The id only: an address or a text would tell who is being reminded of what.
            log.info("no mail server set (COMPANION_MAIL_URL): notification %s not emailed",
                     notification.id)
            delivery.status = DeliveryStatus.SKIPPED
            outcome.skipped += 1
            return None
        message = _message(user.email, text, notification.url, config)
        url, timeout = config["MAIL_URL"], float(config["NOTIFICATION_SEND_TIMEOUT"])
        return _Job(delivery.id, delivery.channel, None,
                    lambda: mail.send(message, url, timeout))
    subscription = (db.session.get(PushSubscription, delivery.subscription_id)
                    if delivery.subscription_id is not None else None)
    if subscription is None or subscription.user_id != notification.user_id:
        delivery.status = DeliveryStatus.GONE  # unsubscribed, or someone else's browser now
        outcome.gone += 1
        return None
    push = webpush.Push(
        endpoint=subscription.endpoint, p256dh=subscription.p256dh, auth=subscription.auth,
        payload={"title": text.title, "body": text.body, "url": notification.url},
        ttl=max(60, min(int((notification.expires_at - now).total_seconds()), MAX_TTL)),
        urgency="high" if notification.kind in URGENT else "normal",
    )
    return _Job(delivery.id, delivery.channel, subscription.id,
                lambda: webpush.send(push, sender))


URGENT = {NotificationKind.RISK_ALERT, NotificationKind.SESSION_REMINDER}


def _message(address: str, text: wording.Wording, url: str, config: Any) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((wording.SENDER_NAME, config["MAIL_FROM"]))
    message["To"] = address
    message["Subject"] = text.title
    base = str(config.get("PUBLIC_URL") or "").rstrip("/")
    message.set_content(wording.email_text(text, f"{base}{url}" if base else "Open Companion."))
    return message


def _record(job: _Job, status: int | None, error: str | None, now: datetime,
            outcome: Outcome) -> None:
    delivery = db.session.get(NotificationDelivery, job.delivery_id)
    if delivery is None:
        return
    if error is None and (status is None or 200 <= status < 300):
        delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, now, None
        outcome.sent += 1
        return
    if status in (404, 410) and job.subscription_id is not None:
        # The browser unsubscribed or the push service dropped it: never again.
        delivery.status, delivery.last_error = DeliveryStatus.GONE, f"HTTP {status}"
        subscriptions.forget_gone(job.subscription_id)
        outcome.gone += 1
        return
    delivery.last_error = error or f"HTTP {status}"
    retry_at = now + backoff(delivery.attempts)
    lasting = (status is not None and 400 <= status < 500 and status not in (408, 429)) \
        or error == ENDPOINT_REFUSED
    if lasting or delivery.attempts >= MAX_ATTEMPTS or \
            retry_at >= delivery.notification.expires_at:
        delivery.status = DeliveryStatus.FAILED
        outcome.failed += 1
        log.warning("notification delivery %s failed: %s", delivery.id, delivery.last_error)
        return
    delivery.next_attempt_at = retry_at
    outcome.retried += 1


def still_useful(notification: Notification, now: datetime) -> bool:
    """Whether what it reminds of still stands: the session not cancelled, ended or moved,
    today's check-in not done, the questionnaire not done, the alert not acknowledged."""
    if notification.expires_at <= now:
        return False
    kind, parts = notification.kind, notification.occurrence.split(":", 3)
    if kind == NotificationKind.SESSION_REMINDER:
        session = db.session.get(Session, int(parts[1]))
        return (session is not None and session.cancelled_at is None
                and session.ended_at is None and session.ends_at > now
                and session.starts_at.isoformat() == parts[3])
    if kind == NotificationKind.CHECKIN_REMINDER:
        client = db.session.get(User, notification.user_id)
        return client is not None and selfcare.today(client)[1] is None
    if kind == NotificationKind.MEASURE_DUE:
        plan = db.session.get(MeasureSchedule, int(parts[1]))
        return plan is not None and plan.next_due.isoformat() == notification.occurrence.split(
            ":", 2)[2]
    if kind == NotificationKind.MODULE_ASSIGNED:
        assignment = db.session.get(PsychoedAssignment, int(parts[1]))
        return assignment is not None and assignment.completed_at is None
    if kind == NotificationKind.RISK_ALERT:
        alert = db.session.get(Alert, int(parts[1]))
        return alert is not None and alert.acknowledged_at is None
    return True  # a schedule change stands until its expiry (the session's start)

