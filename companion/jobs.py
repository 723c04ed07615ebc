"""Periodic work of a running server: escalating overdue alerts, erasing expired room chat,
closing the media rooms of sessions that are over, checkpointing the audit log's head,
making groups' sessions to eight weeks ahead, forgetting the answers kept for retried writes,
refreshing meeting feeds, sending reminders and alerts outside the app, raising missed
check-in alerts.

Started once per web process by ``companion serve``; each job is safe to run on several
processes at once (the services claim their rows atomically).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask

from companion.core import origin
from companion.core.extensions import db, socketio

log = logging.getLogger(__name__)


def _escalate() -> None:
    from companion.alerts import escalation

    escalation.escalate_overdue()


def _purge_chat() -> None:
    from companion.rooms import chat

    chat.purge_expired_chat()


def _close_ended_media_rooms() -> None:
    from companion.rooms import signaling as media

    media.close_ended_rooms()


def _make_occurrences() -> None:
    from companion.clinic import occurrences
    from companion.core import clock

    occurrences.generate_all(clock.now())  # safe on every process: one row per slot


def _raise_missed_checkins() -> None:
    from companion.core import clock
    from companion.selfcare import missed_checkins

    missed_checkins.raise_due(clock.now())


def _forget_retried_answers() -> None:
    from companion.clinic import retries
    from companion.core import clock

    retries.forget_old(clock.now())  # the answers kept for retried writes quote records


def _checkpoint_audit() -> None:
    from companion.core import audit

    audit.checkpoint_if_moved()  # a cut tail below this checkpoint fails `audit verify`


# (every N seconds, job)
JOBS: list[tuple[float, Callable[[], None]]] = [
    (30.0, _escalate), (600.0, _purge_chat), (60.0, _close_ended_media_rooms),
    (600.0, _checkpoint_audit), (3600.0, _make_occurrences), (600.0, _raise_missed_checkins),
    (3600.0, _forget_retried_answers)]

# Notifications' own task: their sends wait on push services and the mail server, and alert
# escalation must not wait behind them. Every 30 s, so that a risk alert reaches a counselor
# with no live socket within a minute.
NOTIFY_EVERY = 30.0


def start(app: Flask) -> None:
    socketio.start_background_task(_loop, app)
    # A task of its own: a feed may take its whole timeout to download, and alert escalation
    # must not wait behind it.
    minutes = int(app.config.get("MEETING_REFRESH_CHECK_MINUTES", 15))
    if minutes > 0:
        socketio.start_background_task(_meeting_feed_loop, app, minutes)
    socketio.start_background_task(_notification_loop, app)


def send_notifications(app: Flask) -> None:
    """One pass: make the notifications due, send the deliveries due (docs/notifications.md).
    Claimed in the database, so safe on every process; no transaction is held while sending."""
    from companion.notifications import dispatch

    with app.app_context(), origin.acting_from(origin.JOB):
        try:
            dispatch.run_pass()
        except Exception as error:  # a failed pass must not stop later ones
            log.error("notification pass failed: %s", type(error).__name__)
        finally:
            db.session.remove()


def _notification_loop(app: Flask) -> None:
    while True:
        socketio.sleep(NOTIFY_EVERY)
        send_notifications(app)


def refresh_meeting_feeds(app: Flask) -> None:
    """One pass over the meeting feeds due a refresh (docs/meetings.md). Each download runs
    with no database connection held, so requests go on meanwhile."""
    from companion.meetings import sources as meetings

    with app.app_context(), origin.acting_from(origin.JOB):
        try:
            meetings.refresh_due()
        except Exception as error:  # a failed pass must not stop later ones
            log.error("scheduled meeting refresh failed: %s", type(error).__name__)
        finally:
            db.session.remove()


def _meeting_feed_loop(app: Flask, minutes: int) -> None:
    while True:  # the first pass at start, then every few minutes
        refresh_meeting_feeds(app)
        socketio.sleep(minutes * 60)


def _loop(app: Flask) -> None:
    last_run = {job: 0.0 for _, job in JOBS}
    while True:
        socketio.sleep(5)
        for every, job in JOBS:
            if time.monotonic() - last_run[job] < every:
                continue
            last_run[job] = time.monotonic()
            with app.app_context(), origin.acting_from(origin.JOB):
                try:
                    job()
                except Exception as error:  # a failed pass must not stop later ones
                    log.error("job %s failed: %s", job.__name__, type(error).__name__)
                finally:
                    db.session.remove()
