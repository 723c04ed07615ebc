"""Running the web process."""

from __future__ import annotations

from flask import Flask

from companion.extensions import socketio


def run(app: Flask, host: str, port: int) -> None:
    """Serve HTTP and Socket.IO until interrupted (gevent's server in the embedded default)."""
    socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True)
