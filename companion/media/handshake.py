"""How a web process and a media worker prove to each other that they hold the channel secret
(stdlib only: the worker's asyncio loop and the web process's gevent both use it).

The web process speaks first, with one line::

    {"op": "hello", "nonce": <32 hex>, "time": <unix seconds>,
     "proof": HMAC-SHA256(secret, "companion-media-hello:<nonce>:<time>")}

The worker checks the proof in constant time, that the time is within ``MAX_SKEW`` of its own
clock and that it has not seen the nonce before (so an overheard hello cannot be replayed), and
only then answers, proving in turn that it holds the secret::

    {"ok": true, "proof": HMAC-SHA256(secret, "companion-media-welcome:<nonce>")}

Anything else gets no answer at all, and the connection is closed. The secret itself never
crosses the wire. The channel is authenticated, not encrypted: keep it on loopback or a private
network (docs/media.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

MAX_HELLO_BYTES = 512
HELLO_TIMEOUT = 5.0  # seconds a new connection has to say hello
MAX_SKEW = 300  # seconds between the web process's clock and the worker's


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def hello(secret: str, now: float | None = None) -> tuple[bytes, str]:
    """The web process's first line, and the nonce the worker's answer must prove."""
    nonce = secrets.token_hex(16)
    at = int(time.time() if now is None else now)
    message = {"op": "hello", "nonce": nonce, "time": at,
               "proof": _mac(secret, f"companion-media-hello:{nonce}:{at}")}
    return json.dumps(message, separators=(",", ":")).encode() + b"\n", nonce


def welcome_is_genuine(secret: str, nonce: str, answer: Any) -> bool:
    """Whether the worker's answer to our hello proves it holds the secret."""
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        return False
    proof = answer.get("proof")
    return isinstance(proof, str) and hmac.compare_digest(
        proof.encode(), _mac(secret, f"companion-media-welcome:{nonce}").encode())


class HelloChecker:
    """The worker's side: accepts each genuine, fresh hello once."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._seen: dict[str, float] = {}  # nonce -> when it may be forgotten

    def welcome(self, line: bytes, now: float | None = None) -> bytes | None:
        """The answer to a hello line, or None when it must get none (why is not said)."""
        now = time.time() if now is None else now
        try:
            msg = json.loads(line)
        except ValueError:
            return None
        if not isinstance(msg, dict) or msg.get("op") != "hello":
            return None
        nonce, at, proof = msg.get("nonce"), msg.get("time"), msg.get("proof")
        if not (isinstance(nonce, str) and 16 <= len(nonce) <= 64 and isinstance(proof, str)
                and isinstance(at, int) and not isinstance(at, bool)):
            return None
        expected = _mac(self.secret, f"companion-media-hello:{nonce}:{at}")
        if not hmac.compare_digest(proof.encode(), expected.encode()):
            return None
        if abs(now - at) > MAX_SKEW:
            return None
        # Only holders of the secret get this far, so the memory of nonces stays small.
        self._seen = {n: until for n, until in self._seen.items() if until > now}
        if nonce in self._seen:
            return None
        self._seen[nonce] = now + 2 * MAX_SKEW
        answer = {"ok": True, "proof": _mac(self.secret, f"companion-media-welcome:{nonce}")}
        return json.dumps(answer, separators=(",", ":")).encode() + b"\n"
