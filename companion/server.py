"""Running the web process: its background work, then HTTP and Socket.IO."""

from __future__ import annotations

import logging

from flask import Flask

from companion.core.extensions import socketio

log = logging.getLogger("companion.server")


def run(app: Flask, host: str, port: int, media_workers: int) -> None:
    """Start this process's background work and serve until interrupted (gevent's server in
    the embedded default)."""
    from companion import jobs
    from companion.rooms import enforcer
    from companion.rooms import signaling as media

    pool = media.start(app, media_workers)  # media workers and their pool (docs/media.md)
    _start_dial_in_line(pool)
    jobs.start(app)  # alert escalation, chat retention, meeting feeds (docs/meetings.md)
    enforcer.start(app)  # sockets held to logins, consents and other processes' decisions
    socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True)


def _start_dial_in_line(pool: object) -> None:
    """The phone line (docs/dial-in.md) in a process of its own, when one is configured and
    there is media to put callers into; stopped with this one."""
    import atexit

    from companion.dialin.line_process import LineConfig, spawn

    if LineConfig.from_env() is None:
        return
    workers = list(getattr(pool, "workers", {}))
    if not workers:
        log.warning("COMPANION_SIP_REGISTRAR is set but media is off: no dial-in line")
        return
    line = spawn(workers)
    atexit.register(line.terminate)
    log.info("dial-in line: started (pid %s)", line.pid)
