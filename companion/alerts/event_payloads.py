"""The ``alert`` event's payload (docs/realtime.md), registered with ``core/event_schemas.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from companion.alerts.models import AlertKind, AlertUrgency
from companion.core.event_schemas import EventPayload, payload_of


class AlertClient(EventPayload):
    id: int
    display_name: str


@payload_of("alert")
class AlertRaised(EventPayload):
    """To every counselor treating the client; ``escalated`` when it went to on-call staff."""

    id: int
    client: AlertClient
    kind: AlertKind
    urgency: AlertUrgency
    created_at: datetime
    escalated: Literal[True] | None = None
