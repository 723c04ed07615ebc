"""Keys a caller presses, as trunks send them: RFC 4733 telephone events in the RTP stream
(what RFC 2833 became) and SIP INFO ``application/dtmf-relay`` bodies (which Janus's SIP plugin
hands on as ``info`` events). Both end up as one key each, told once.

An RFC 4733 key is sent as several packets with one RTP timestamp (the start of the tone) and the
end bit set on the last three (repeated for loss), so a key is the first end packet of a
timestamp not seen before.
"""

from __future__ import annotations

import re
from collections.abc import Callable

KEYS = "0123456789*#ABCD"  # RFC 4733 event codes 0-15, in order
_INFO_SIGNAL = re.compile(r"^\s*Signal\s*=\s*(\S)", re.IGNORECASE | re.MULTILINE)


class TelephoneEvents:
    """Turns RFC 4733 payloads into keys, each told once to ``on_key``."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self._on_key = on_key
        self._last_timestamp: int | None = None

    def packet(self, payload: bytes, timestamp: int) -> None:
        if len(payload) < 4:
            return
        event, flags = payload[0], payload[1]
        ended = bool(flags & 0x80)
        if not ended or event >= len(KEYS) or timestamp == self._last_timestamp:
            return
        self._last_timestamp = timestamp
        self._on_key(KEYS[event])


def key_of_info(content_type: str, body: str) -> str | None:
    """The key of a SIP INFO body, or None when it carries none we know."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/dtmf-relay":
        found = _INFO_SIGNAL.search(body)
        key = found.group(1).upper() if found else ""
    elif kind == "application/dtmf":
        key = body.strip().upper()
    else:
        return None
    return key if len(key) == 1 and key in KEYS else None
