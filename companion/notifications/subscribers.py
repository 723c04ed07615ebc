"""What notifications do when other domains say something happened (companion.core.signals)."""

from __future__ import annotations

import logging

from companion.core import clock, signals
from companion.core.extensions import db
from companion.notifications import planning, subscriptions

log = logging.getLogger(__name__)


@signals.session_moved.connect
def tell_clients_of_move(session_id: int) -> None:
    """A session moved: its clients hear the new time (sent by the next pass of the job)."""
    try:
        planning.session_moved(session_id, clock.now())
    except Exception as error:  # noqa: BLE001 - the move stands; the reminder is best effort
        db.session.rollback()
        log.warning("session %s: move notice not made: %s", session_id, type(error).__name__)


@signals.login_ended.connect
def forget_devices_of_logout(login_id: str) -> None:
    """Logged out: the push subscriptions of that login go (a shared phone)."""
    try:
        subscriptions.forget_login(login_id)
    except Exception as error:  # noqa: BLE001 - the logout stands either way
        db.session.rollback()
        log.warning("push subscriptions of an ended login not removed: %s",
                    type(error).__name__)
