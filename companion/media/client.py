"""The web process's client of one media worker: synchronous, stdlib sockets and threads only.

Works in a gevent-patched process (the threads become greenlets, the sockets cooperative) and
in a plain threaded one. No asyncio here.

    client = MediaClient("127.0.0.1", 7990, on_event=relay, secret=channel_secret)
    answer = client.send(OfferRequest("session:12", "7", sdp, Profile.STANDARD), timeout=15)

``send`` writes a request of protocol.py and returns the worker's answer (the request's answer
TypedDict, without ``id``/``ok``) or raises :class:`MediaWorkerError` (the worker refused:
``str(exc)`` is its error) or :class:`MediaWorkerUnavailable` (no connection, the connection
dropped, or no answer in time). Events (``{"event": ...}``, kinds in ``protocol.EventKind``) go
to ``on_event(event)``, called on the client's reader thread: keep it short (hand off to a
queue or emit and return).

Each connection starts with the handshake (handshake.py): the client proves it holds the
channel secret, and uses the connection only once the worker has proved it holds it too.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from companion.media import handshake
from companion.media.protocol import AnswerT, PingAnswer, PingRequest, Request

log = logging.getLogger("companion.media.client")

EventCallback = Callable[[dict[str, Any]], None]


class MediaWorkerError(RuntimeError):
    """The worker answered ``ok: false``."""


class MediaWorkerUnavailable(ConnectionError):
    """The worker cannot be reached, the connection was lost, or it did not answer in time."""


class _Pending:
    __slots__ = ("event", "reply")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: dict[str, Any] | None = None


class MediaClient:
    def __init__(
        self,
        host: str,
        port: int,
        on_event: EventCallback | None = None,
        *,
        secret: str,
        connect_timeout: float = 2.0,
        reconnect: bool = True,
        on_connection_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.key = f"{host}:{port}"
        self.on_event = on_event
        self.on_connection_change = on_connection_change
        if not secret:
            raise ValueError("a media client needs the channel secret")
        self._secret = secret
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()  # guards _sock, _pending, sending
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self._reader: threading.Thread | None = None
        self._backoff = 0.0
        self._next_attempt = 0.0

    # ------------------------------------------------------------ public
    @property
    def connected(self) -> bool:
        return self._sock is not None

    def send(self, request: Request[AnswerT], timeout: float = 10.0) -> AnswerT:
        """Send ``request`` and wait for the worker's answer to it."""
        reply = self._roundtrip(request.to_wire(), timeout)
        if not reply.get("ok"):
            raise MediaWorkerError(str(reply.get("error") or "refused"))
        return cast(AnswerT, {k: v for k, v in reply.items() if k not in ("id", "ok")})

    def ping(self, timeout: float = 2.0) -> PingAnswer:
        return self.send(PingRequest(), timeout=timeout)

    def connect(self) -> None:
        """Connect now (requests connect by themselves; this only fails earlier)."""
        with self._lock:
            self._ensure_connected_locked(force=True)

    def close(self) -> None:
        self._closed = True
        self._drop_connection("client closed")

    # ------------------------------------------------------------ internals
    def _roundtrip(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self._closed:
            raise MediaWorkerUnavailable(f"media client for {self.key} is closed")
        pending = _Pending()
        with self._lock:
            sock = self._ensure_connected_locked()
            rid = next(self._ids)
            message["id"] = rid
            self._pending[rid] = pending
            try:
                sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")
            except OSError as exc:
                self._pending.pop(rid, None)
                self._drop_connection_locked(f"send failed: {exc}")
                raise MediaWorkerUnavailable(f"media worker {self.key}: send failed") from exc
        if not pending.event.wait(timeout):
            with self._lock:
                self._pending.pop(rid, None)
            raise MediaWorkerUnavailable(
                f"media worker {self.key} did not answer {message['op']!r} in {timeout:g} s")
        if pending.reply is None:
            raise MediaWorkerUnavailable(f"media worker {self.key}: connection lost")
        return pending.reply

    def _ensure_connected_locked(self, force: bool = False) -> socket.socket:
        if self._sock is not None:
            return self._sock
        now = time.monotonic()
        if not force and now < self._next_attempt:
            raise MediaWorkerUnavailable(f"media worker {self.key} unreachable (retrying later)")
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            self._backoff = min(max(self._backoff * 2, 0.2), 5.0)
            self._next_attempt = now + self._backoff
            raise MediaWorkerUnavailable(f"media worker {self.key} unreachable: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with _suppress_oserror():
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        try:
            leftover = self._handshake(sock)
        except (OSError, ValueError) as exc:
            with _suppress_oserror():
                sock.close()
            self._backoff = min(max(self._backoff * 2, 0.2), 5.0)
            self._next_attempt = now + self._backoff
            raise MediaWorkerUnavailable(
                f"media worker {self.key} did not complete the channel handshake ({exc}): the "
                "channel secrets differ (COMPANION_MEDIA_SECRET, or the instance folder's "
                "media_secret), or it is not a Companion media worker") from exc
        sock.settimeout(None)
        self._backoff = 0.0
        self._sock = sock
        self._reader = threading.Thread(target=self._read_loop, args=(sock, leftover),
                                        name=f"media-client-{self.key}", daemon=True)
        self._reader.start()
        self._notify(True)
        return sock

    def _handshake(self, sock: socket.socket) -> bytes:
        """Say hello; return what came after the worker's welcome (events may follow it at
        once). Raises ValueError when the welcome does not prove the worker holds the secret."""
        line, nonce = handshake.hello(self._secret)
        sock.settimeout(self.connect_timeout)
        sock.sendall(line)
        buf = b""
        while b"\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise ValueError("closed without a welcome")
            buf += chunk
            if len(buf) > 64 * 1024:
                raise ValueError("no welcome")
        answer, leftover = buf.split(b"\n", 1)
        try:
            welcome = json.loads(answer)
        except ValueError:
            welcome = None
        if not handshake.welcome_is_genuine(self._secret, nonce, welcome):
            raise ValueError("a welcome without the proof")
        return leftover

    def _read_loop(self, sock: socket.socket, buf: bytes) -> None:
        reason = "closed by the worker"
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        self._dispatch(line)
        except OSError as exc:
            reason = f"read failed: {exc}"
        with self._lock:
            if self._sock is sock:
                self._drop_connection_locked(reason)

    def _dispatch(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
        except ValueError:
            log.warning("media worker %s sent a line that is not JSON", self.key)
            return
        if not isinstance(msg, dict):
            return
        if "event" in msg:
            if self.on_event is not None:
                self._call(self.on_event, msg)
            return
        rid = msg.get("id")
        with self._lock:
            pending = self._pending.pop(rid, None) if isinstance(rid, int) else None
        if pending is not None:
            pending.reply = msg
            pending.event.set()

    def _drop_connection(self, reason: str) -> None:
        with self._lock:
            self._drop_connection_locked(reason)

    def _drop_connection_locked(self, reason: str) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with _suppress_oserror():
            sock.shutdown(socket.SHUT_RDWR)
        with _suppress_oserror():
            sock.close()
        pending, self._pending = self._pending, {}
        for p in pending.values():
            p.event.set()  # reply None: connection lost
        if not self._closed:
            log.warning("media worker %s: connection lost (%s)", self.key, reason)
        self._notify(False)

    def _notify(self, up: bool) -> None:
        # Never call out while holding the lock: the callback may well make a request.
        if self.on_connection_change is not None:
            threading.Thread(target=self._call, args=(self.on_connection_change, up),
                             daemon=True).start()

    @staticmethod
    def _call(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("media client callback failed")


class _suppress_oserror:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return exc_type is not None and issubclass(exc_type, OSError)
