"""The one event funnel: services publish to explicit recipients after their commit.

Recipients are rooms: ``user:<id>`` (every socket of that user), ``session:<id>`` (everyone
admitted to a session's room), ``staff:<session id>`` (its counselor and peer supporters). The
caller names them, because a wrong list is a privacy leak. With REDIS_URL set, Flask-SocketIO's
message queue carries the event to sockets on every web process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from companion.core.extensions import socketio

log = logging.getLogger(__name__)


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def publish(recipients: Iterable[str], event: str, payload: dict[str, Any]) -> None:
    """Send ``event`` to each recipient room. Call only after the data is committed."""
    for room in sorted(set(recipients)):
        socketio.emit(event, payload, to=room)
