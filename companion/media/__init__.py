"""The media plane: worker processes that mix audio and forward video with aiortc.

* ``worker``  — one asyncio loop with aiortc (``companion media`` runs one);
* ``mixer``   — mix-minus audio and active-speaker detection (numpy, no aiortc);
* ``g711``    — a phone caller's G.711, to and from the mixer's frames (numpy);
* ``forward`` — forwarding encoded VP8 frames without decoding them, and slot choice;
* ``client``  — the web process's synchronous client of a worker (stdlib sockets, gevent-safe);
* ``pool``    — which worker holds which room, noticing dead workers and moving their rooms;
* ``process`` — spawning and stopping embedded worker subprocesses.

Nothing here imports aiortc at package import time: the web process imports ``client`` and
``pool`` only. See docs/media.md.
"""

from __future__ import annotations

PROFILES: dict[str, int] = {"standard": 4, "low_bandwidth": 1, "audio_only": 0, "phone": 0}
"""Profile name on the wire -> the most video slots a client of that profile receives."""
