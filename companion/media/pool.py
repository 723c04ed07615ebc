"""Which media worker holds which room, for the web process (stdlib threads; gevent-safe).

    pool = MediaPool([("127.0.0.1", 7990)], secret=channel_secret, on_event=relay,
                     on_rooms_moved=restart_rooms)
    pool.start()                       # health monitor: pings every worker every second
    answer = pool.send(OfferRequest("session:12", "7", sdp, Profile.STANDARD))

A room is pinned to one worker (``MemoryRoomStore``, or ``RedisRoomStore`` when several web
processes share the pins through ``REDIS_URL``). A worker whose connection drops or that fails
its pings is marked dead and its rooms are moved to the least-loaded live worker; the pool then
calls ``on_rooms_moved(rooms)`` once, from the process that won the move, so the web process can
send ``rtc_restart`` to those rooms' clients.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from companion.media.client import (
    EventCallback,
    MediaClient,
    MediaWorkerError,
    MediaWorkerUnavailable,
)
from companion.media.protocol import (
    AnswerT,
    CloseRoomRequest,
    LeaveRequest,
    MediaKind,
    MuteRequest,
    RoomRequest,
    member_of,
)

log = logging.getLogger("companion.media.pool")

Address = tuple[str, int]


def parse_addresses(raw: str) -> list[Address]:
    """``"10.0.0.5:7990,10.0.0.6:7990"`` -> [("10.0.0.5", 7990), ("10.0.0.6", 7990)]."""
    out: list[Address] = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"media worker address {item!r} is not host:port")
        out.append((host.strip("[]"), int(port)))
    return out


class RoomStore(Protocol):
    def get(self, room: str) -> str | None: ...
    def set_if_absent(self, room: str, worker: str) -> str: ...
    def move(self, room: str, old: str, new: str) -> bool: ...
    def delete(self, room: str) -> None: ...
    def items(self) -> list[tuple[str, str]]: ...


class MemoryRoomStore:
    """Room pins in this process only (the embedded default: one web process)."""

    def __init__(self) -> None:
        self._pins: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, room: str) -> str | None:
        return self._pins.get(room)

    def set_if_absent(self, room: str, worker: str) -> str:
        with self._lock:
            return self._pins.setdefault(room, worker)

    def move(self, room: str, old: str, new: str) -> bool:
        with self._lock:
            if self._pins.get(room) != old:
                return False
            self._pins[room] = new
            return True

    def delete(self, room: str) -> None:
        with self._lock:
            self._pins.pop(room, None)

    def items(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._pins.items())


_MOVE_SCRIPT = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


class RedisRoomStore:
    """Room pins in a Redis hash, shared by every web process; moves are compare-and-set, so
    only one process reports (and restarts) a moved room."""

    def __init__(self, url: str, key: str = "companion:media:rooms") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._key = key
        self._move = self._redis.register_script(_MOVE_SCRIPT)

    def get(self, room: str) -> str | None:
        value = self._redis.hget(self._key, room)
        return str(value) if value is not None else None

    def set_if_absent(self, room: str, worker: str) -> str:
        self._redis.hsetnx(self._key, room, worker)
        return self.get(room) or worker

    def move(self, room: str, old: str, new: str) -> bool:
        return bool(self._move(keys=[self._key], args=[room, old, new]))

    def delete(self, room: str) -> None:
        self._redis.hdel(self._key, room)

    def items(self) -> list[tuple[str, str]]:
        return [(str(k), str(v)) for k, v in self._redis.hgetall(self._key).items()]


@dataclass
class WorkerState:
    client: MediaClient
    alive: bool = True
    failures: int = 0
    load: dict[str, Any] = field(default_factory=dict)
    last_ok: float = 0.0


class MediaPool:
    def __init__(
        self,
        addresses: Sequence[Address],
        on_event: EventCallback | None = None,
        on_rooms_moved: Callable[[list[str]], None] | None = None,
        *,
        store: RoomStore | None = None,
        secret: str,
        ping_interval: float = 1.0,
        ping_timeout: float = 1.5,
        failures_to_dead: int = 2,
    ) -> None:
        if not addresses:
            raise ValueError("a media pool needs at least one worker address")
        self.on_event = on_event
        self.on_rooms_moved = on_rooms_moved
        self.store: RoomStore = store or MemoryRoomStore()
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.failures_to_dead = failures_to_dead
        self.workers: dict[str, WorkerState] = {}
        for host, port in addresses:
            client = MediaClient(host, port, on_event=self._relay, secret=secret,
                                 on_connection_change=self._connection_changed(f"{host}:{port}"))
            self.workers[client.key] = WorkerState(client)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, addresses: Sequence[Address] | None = None, *, secret: str,
                 **kwargs: Any) -> MediaPool:
        """Workers from ``COMPANION_MEDIA_WORKERS`` (host:port,...) unless given; pins in Redis
        when ``REDIS_URL`` is set."""
        if addresses is None:
            addresses = parse_addresses(os.environ.get("COMPANION_MEDIA_WORKERS", ""))
        if "store" not in kwargs and os.environ.get("REDIS_URL"):
            kwargs["store"] = RedisRoomStore(os.environ["REDIS_URL"])
        return cls(addresses, secret=secret, **kwargs)

    # ------------------------------------------------------------ routing
    def live_workers(self) -> list[str]:
        return [key for key, w in self.workers.items() if w.alive]

    def worker_key_for(self, room: str) -> str:
        key = self.store.get(room)
        if key is not None and key in self.workers and self.workers[key].alive:
            return key
        live = self.live_workers()
        if not live:
            raise MediaWorkerUnavailable("no media worker is available")
        counts: dict[str, int] = {k: 0 for k in live}
        for _, k in self.store.items():
            if k in counts:
                counts[k] += 1
        choice = min(live, key=lambda k: (counts[k], self.workers[k].load.get("cpu", 0.0)))
        if key is None:
            return self.store.set_if_absent(room, choice)
        # pinned to a dead or unknown worker: move it now
        if self.store.move(room, key, choice):
            self._report_moved([room])
        return self.store.get(room) or choice

    def client_for(self, room: str) -> MediaClient:
        return self.workers[self.worker_key_for(room)].client

    def send(self, request: RoomRequest[AnswerT], timeout: float = 10.0) -> AnswerT:
        """Send a room's request to the worker holding the room."""
        key = self.worker_key_for(request.room)
        try:
            return self.workers[key].client.send(request, timeout=timeout)
        except MediaWorkerUnavailable:
            self._wake.set()  # let the monitor decide quickly whether the worker is dead
            raise

    def forget(self, room: str) -> None:
        self.store.delete(room)

    # ------------------------------------------------------------ health
    def check(self) -> list[str]:
        """Ping every worker once; move the rooms of dead workers. Returns the rooms moved."""
        with self._lock:
            for key, state in self.workers.items():
                try:
                    state.load = dict(state.client.ping(timeout=self.ping_timeout))
                    state.failures = 0
                    state.last_ok = time.monotonic()
                    if not state.alive:
                        log.info("media worker %s is back", key)
                    state.alive = True
                except (MediaWorkerUnavailable, MediaWorkerError) as exc:
                    state.failures += 1
                    refused = "unreachable" in str(exc)
                    if state.alive and (refused or state.failures >= self.failures_to_dead):
                        log.warning("media worker %s is dead (%s)", key, exc)
                        state.alive = False
            moved = self._move_rooms_of_dead()
        if moved:
            self._report_moved(moved)
        return moved

    def _move_rooms_of_dead(self) -> list[str]:
        live = self.live_workers()
        if not live:
            return []
        counts = {k: 0 for k in live}
        pins = self.store.items()
        for _, k in pins:
            if k in counts:
                counts[k] += 1
        moved = []
        for room, key in pins:
            if key in counts:
                continue
            target = min(live, key=lambda k: counts[k])
            if self.store.move(room, key, target):
                counts[target] += 1
                moved.append(room)
                log.warning("[%s] moved from media worker %s to %s", room, key, target)
        return moved

    def _report_moved(self, rooms: list[str]) -> None:
        if self.on_rooms_moved is not None and rooms:
            try:
                self.on_rooms_moved(rooms)
            except Exception:
                log.exception("on_rooms_moved failed")

    def _connection_changed(self, key: str) -> Callable[[bool], None]:
        def changed(up: bool) -> None:
            if not up:
                self._wake.set()

        return changed

    def _relay(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def start(self) -> None:
        """Start the health monitor thread (a greenlet under gevent)."""
        if self._monitor is not None:
            return
        self._stop.clear()
        self._monitor = threading.Thread(target=self._run_monitor, name="media-pool",
                                         daemon=True)
        self._monitor.start()

    def _run_monitor(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:
                log.exception("media pool check failed")
            self._wake.wait(self.ping_interval)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._monitor is not None:
            self._monitor.join(5)
            self._monitor = None
        for state in self.workers.values():
            state.client.close()

    def hooks(self, room_of: Callable[[Any], str] = lambda sid: f"session:{sid}") -> MediaHooks:
        return MediaHooks(self, room_of)


class MediaHooks:
    """What the Socket.IO moderation handlers call (``media_hooks`` in rooms/sockets.py):
    mute/unmute audio or video, remove a participant, end a session. Failures are logged, never
    raised: moderation must not fail because the media plane is down."""

    def __init__(self, pool: MediaPool, room_of: Callable[[Any], str]) -> None:
        self.pool = pool
        self.room_of = room_of

    def _send(self, request: RoomRequest[Any]) -> None:
        if self.pool.store.get(request.room) is None:
            return  # no media in this room
        try:
            self.pool.send(request, timeout=5.0)
        except (MediaWorkerError, MediaWorkerUnavailable) as exc:
            log.info("[%s] media %s not applied: %s", request.room, request.op, exc)

    def muted(self, session_id: Any, user_id: Any, what: str, muted: bool) -> None:
        kind = member_of(MediaKind, what)
        if kind is not None:
            self._send(MuteRequest(self.room_of(session_id), str(user_id), kind, muted))

    def left(self, session_id: Any, user_id: Any) -> None:
        self._send(LeaveRequest(self.room_of(session_id), str(user_id)))

    def closed(self, session_id: Any) -> None:
        room = self.room_of(session_id)
        self._send(CloseRoomRequest(room))
        self.pool.forget(room)


def rooms_on(pool: MediaPool, key: str) -> Iterable[str]:
    return [room for room, k in pool.store.items() if k == key]
