"""Periodic work of a running server: escalating overdue alerts, erasing expired room chat,
closing the media rooms of sessions that are over, checkpointing the audit log's head.

Started once per web process by ``companion serve``; each job is safe to run on several
processes at once (the services claim their rows atomically).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask

from companion.extensions import db, socketio

log = logging.getLogger(__name__)


def _escalate() -> None:
    from companion.services import escalation

    escalation.escalate_overdue()


def _purge_chat() -> None:
    from companion.services import rooms

    rooms.purge_expired_chat()


def _close_ended_media_rooms() -> None:
    from companion.realtime import media

    media.close_ended_rooms()


def _checkpoint_audit() -> None:
    from companion.services import audit

    audit.checkpoint_if_moved()  # a cut tail below this checkpoint fails `audit verify`


# (every N seconds, job)
JOBS: list[tuple[float, Callable[[], None]]] = [
    (30.0, _escalate), (600.0, _purge_chat), (60.0, _close_ended_media_rooms),
    (600.0, _checkpoint_audit)]


def start(app: Flask) -> None:
    socketio.start_background_task(_loop, app)


def _loop(app: Flask) -> None:
    last_run = {job: 0.0 for _, job in JOBS}
    while True:
        socketio.sleep(5)
        for every, job in JOBS:
            if time.monotonic() - last_run[job] < every:
                continue
            last_run[job] = time.monotonic()
            with app.app_context():
                try:
                    job()
                except Exception as error:  # a failed pass must not stop later ones
                    log.error("job %s failed: %s", job.__name__, type(error).__name__)
                finally:
                    db.session.remove()
