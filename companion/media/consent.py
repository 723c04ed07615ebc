"""ICE consent freshness as RFC 7675 describes it, for aioice (used by the media workers).

aioice 0.13 checks consent every 5 s (±20%) with a single STUN request and no retransmission:
an answer later than 500 ms counts as a failure, and 6 failures in a row close the connection.
A worker whose event loop is held up for a moment (a burst of offers, a CPU shared with other
processes) reads its sockets late, so the answers to its own checks are "late" for every peer
at once, and after 30 s of that it hangs up on every browser in every room it holds, which
then all offer again at the same time. Measured with 36 standard peers on a loaded 2-core box:
31 of 36 connections closed this way, none by ICE or DTLS failure (docs/benchmarks.md).

RFC 7675 (section 5.1) only asks that consent expire 30 s after the last answer, and lets each
check be retransmitted on the STUN schedule. :func:`install` makes aioice run
:func:`query_consent` instead of its own (the aioice internals it touches are compat.py's): a
check is retransmitted (0.5, 1, 2, 4 s) and consent expires when no check has been answered for
``EXPIRY`` seconds. A browser that is really gone still loses consent after 30 s, as before.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from companion.media import compat

log = logging.getLogger("companion.media")

INTERVAL = 5.0  # seconds between checks, randomised by ±20% as aioice does
EXPIRY = 30.0  # RFC 7675: consent expires 30 s after the last answer
RETRANSMISSIONS = 3  # a check waits 0.5 + 1 + 2 + 4 = 7.5 s for its answer


async def query_consent(self: Any) -> None:
    """Periodic consent checks (RFC 7675) for one aioice ``Connection``."""
    assert self.remote_password is not None
    last_answer = time.monotonic()
    while True:
        await asyncio.sleep(INTERVAL * (0.8 + 0.4 * random.random()))  # nosec B311
        for pair in compat.nominated_pairs(self):
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request, pair.remote_addr,
                    integrity_key=self.remote_password.encode("utf8"),
                    retransmissions=RETRANSMISSIONS)
                last_answer = time.monotonic()
            except compat.StunTransactionError:
                pass
        if time.monotonic() - last_answer >= EXPIRY:
            log.info("ICE consent expired (no answer for %.0f s)", time.monotonic() - last_answer)
            compat.consent_task_ended(self)
            await self.close()
            return


def install() -> None:
    """Use :func:`query_consent` for every aioice connection in this process."""
    compat.install_consent_check(query_consent)
