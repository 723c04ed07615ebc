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
# Sender: the login session's id. Subscriber: realtime, which disconnects that login's sockets.
login_ended = _signals.signal("login-ended")

# A family member may see less than before (a consent naming them revoked, their family link
# ended). Sender: the family member's user id. Subscriber: realtime, which expels them from every
# room they may no longer be in.
family_access_changed = _signals.signal("family-access-changed")
