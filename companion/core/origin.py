"""Where an action comes from: the channel (an HTTP request, a socket event, the command line,
a background job, a calendar app fetching its feed, a caller on the phone) and the address it
came from.

The audit log records it with every row. It is one value read where the row is written, not an
``ip`` argument passed down through every service: a request or a socket event knows its own
origin (Flask's request context, which Flask-SocketIO provides for each event too), and the
paths without one, the command line and the job runner, say theirs once at their entry with
``acting_from``. So a service called from a CLI command, a job or a view audits correctly
without knowing which one called it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from flask import has_request_context, request


@dataclass(frozen=True)
class Origin:
    channel: str  # "http", "socket", "cli", "job", "calendar", "phone"
    ip: str | None = None


CLI = Origin("cli")
JOB = Origin("job")
# A caller on the phone (companion/dialin): the SIP engine acts for them. No address: the
# calling number is never stored (docs/dial-in.md).
PHONE = Origin("phone")
# Work with no request and no declared origin: a test's direct call, an app-context helper.
INTERNAL = Origin("internal")

_declared: ContextVar[Origin | None] = ContextVar("companion_origin", default=None)


def current() -> Origin:
    """The declared origin if a caller set one, else the request's or socket event's own."""
    declared = _declared.get()
    if declared is not None:
        return declared
    if has_request_context():
        # Flask-SocketIO runs each event in a request context that carries the socket's sid.
        channel = "socket" if getattr(request, "sid", None) else "http"
        return Origin(channel, request.remote_addr)
    return INTERNAL


@contextmanager
def acting_from(origin: Origin) -> Iterator[Origin]:
    """Everything audited inside comes from ``origin`` (a CLI command, a job, a feed fetch)."""
    token = _declared.set(origin)
    try:
        yield origin
    finally:
        _declared.reset(token)


def by_channel(channel: str) -> Origin:
    """This request's address under another channel's name (a calendar app's feed fetch)."""
    return Origin(channel, current().ip)
