"""Cross-domain side effects, as signals (blinker, which Flask ships).

The domain where something happens sends the signal, right after its own commit; the domains that
care subscribe when the app is built. So a CLI command or a job calling a service has the same
effects as a view does, and no view has to remember them.

Each signal's sender is a plain value (an id), never a session-bound object.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# A login session ended on the server (logout, idle or absolute timeout, a second-factor reset).
# Sender: the login session's id. Subscriber: rooms, which disconnects that login's sockets.
login_ended = _signals.signal("login-ended")

# Someone may be in fewer rooms than before: a family member's consent revoked or family link
# ended, a client taken out of a group or discharged. Sender: that person's user id.
# Subscriber: rooms, which expels them from every room they may no longer be in.
room_access_changed = _signals.signal("room-access-changed")

# A client's check-in was stored (first time or a retry of the same entry). Sender: the
# check-in's id. Subscriber: careteam, which pays the day's reward
# (once a day whatever the retries).
checkin_recorded = _signals.signal("checkin-recorded")

# A counselor attested a session's attendance (or signed its clinical note, which attests it:
# companion/notes). Sender: the session's id; ``counselor_id``.
# Subscriber: careteam, which pays attendance rewards (once per client and session).
session_attested = _signals.signal("session-attested")

# Staff moved a session still to come to another time. Sender: the session's id.
# Subscriber: notifications, which tells its clients (a schedule change, by push and email).
# (Cancellations need no signal: notifications finds cancelled sessions itself.)
session_moved = _signals.signal("session-moved")

# A client was enrolled in a program (by an admin, or by accepting an invitation that names it;
# again after a discharge). Sender: the enrolment's id; ``by_id``, who did it (the admin, or the
# client accepting). Subscriber: dialin, which makes the client's phone PIN when the program
# offers dial-in (or moves their PIN to it).
client_enrolled = _signals.signal("client-enrolled")
