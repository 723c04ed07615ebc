"""What dial-in does when other domains say something happened (companion.core.signals)."""

from __future__ import annotations

import logging

from companion.core import signals
from companion.core.extensions import db
from companion.dialin import pins

log = logging.getLogger(__name__)


@signals.client_enrolled.connect
def pin_for_new_client(enrollment_id: int, by_id: int | None = None) -> None:
    """A client was enrolled: their PIN now, if the program offers dial-in."""
    try:
        pins.pin_for_enrolment(enrollment_id, by_id)
    except Exception as error:  # noqa: BLE001 - the enrolment stands; the PIN comes at first look
        db.session.rollback()
        log.warning("enrolment %s: dial-in PIN not made: %s", enrollment_id,
                    type(error).__name__)
