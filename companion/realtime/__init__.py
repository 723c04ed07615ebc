"""Live rooms over Socket.IO: connection rules (connections.py), events (handlers.py), how
stored room events look on the wire (wire.py), audio and video (media.py). Importing this
module registers the handlers."""

from __future__ import annotations

from companion import policy, signals
from companion.extensions import db, socketio
from companion.models import Role, User
from companion.realtime import connections, handlers, media  # noqa: F401  (registers handlers)
from companion.services import rooms


@signals.login_ended.connect
def sign_out(login_id: str) -> None:
    """A login ended (logout): its sockets here go now; other processes' are told through the
    message queue and dropped by their enforcer within seconds."""
    socketio.emit("signed_out", {}, to=f"login:{login_id}")
    for conn in list(connections.connections.values()):
        if conn.login_id == login_id:
            connections.disconnect(conn.sid, "signed_out")


@signals.family_access_changed.connect
def family_access_changed(user_id: int) -> None:
    """A family member's consent was revoked or their family link ended: out of every room they
    may no longer join, now (even while not connected: they would have to be admitted again);
    their sockets on other processes leave on that process's next enforcer pass."""
    user = db.session.get(User, user_id)
    if user is None or user.role != Role.FAMILY:
        return
    for _, room_session in rooms.guest_participations(user_id):
        if not policy.can(user, policy.Action.JOIN_SESSION, room_session):
            handlers.expel_guest(user_id, room_session.id)
