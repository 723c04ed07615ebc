"""Live rooms over Socket.IO: connection rules (connections.py), events (handlers.py), how
stored room events look on the wire (wire.py), audio and video (media.py). Importing this
module registers the handlers."""

from __future__ import annotations

from companion.extensions import socketio
from companion.realtime import connections, handlers, media  # noqa: F401  (registers handlers)


def sign_out(login_id: str) -> None:
    """A login ended (logout): its sockets here go now; other processes' are told through the
    message queue and dropped by their enforcer within seconds."""
    socketio.emit("signed_out", {}, to=f"login:{login_id}")
    for conn in list(connections.connections.values()):
        if conn.login_id == login_id:
            connections.disconnect(conn.sid, "signed_out")
