"""What rooms do when other domains say something happened (signals from companion.core.signals):
a login ended, someone's right to rooms narrowed. Sent by whatever ended it (a view, a CLI
command, a job), so live sockets follow at once whichever path the change took."""

from __future__ import annotations

from companion.core import events, signals
from companion.rooms import connections, sockets


@signals.login_ended.connect
def sign_out(login_id: str) -> None:
    """A login ended (logout): its sockets here go now; other processes' are told through the
    message queue and dropped by their enforcer within seconds. Told at once: the logout is
    committed (the signal follows the commit) and the sockets here are closed next."""
    events.send_now([events.login_room(login_id)], "signed_out", {})
    for conn in list(connections.connections.values()):
        if conn.login_id == login_id:
            connections.disconnect(conn.sid, "signed_out")


@signals.room_access_changed.connect
def room_access_changed(user_id: int) -> None:
    """Someone may be in fewer rooms than before (a family member's consent revoked or link
    ended; a client out of a group or discharged): out of every room they may no longer join,
    now (even while not connected: they would have to be admitted again); their sockets on
    other processes leave on that process's next enforcer pass."""
    sockets.expel_where_not_allowed(user_id)
