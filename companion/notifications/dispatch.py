"""One pass of the notification job: make what is due, then send what is due
(companion/jobs.py runs it every 30 seconds on every web process)."""

from __future__ import annotations

from datetime import datetime

from companion.core import clock
from companion.notifications import delivery, planning


def run_pass(now: datetime | None = None) -> delivery.Outcome:
    now = now or clock.now()
    planning.plan(now)
    return delivery.deliver(now)
