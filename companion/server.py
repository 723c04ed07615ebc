"""Running the web process: its background work, then HTTP and Socket.IO."""

from __future__ import annotations

from flask import Flask

from companion.core.extensions import socketio


def run(app: Flask, host: str, port: int, media_workers: int) -> None:
    """Start this process's background work and serve until interrupted (gevent's server in
    the embedded default)."""
    from companion import jobs
    from companion.rooms import enforcer
    from companion.rooms import signaling as media

    media.start(app, media_workers)  # media workers and their pool (docs/media.md)
    jobs.start(app)  # alert escalation, chat retention, meeting feeds (docs/meetings.md)
    enforcer.start(app)  # sockets held to logins, consents and other processes' decisions
    socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True)
