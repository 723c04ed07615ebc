"""The message queue between web processes (Redis pub/sub), and what happens when it is cut off.

With REDIS_URL set, an event goes to this process's own sockets at once and to the other
processes through Redis (python-socketio's RedisManager). Pub/sub delivers at most once: what
is published while a process is cut off never reaches it, and python-socketio only logs each
failure. Room events are stored before they are published (the database is the record), so
nothing is lost there; the sockets only have to ask for them. So, on each process:

* while Redis is unreachable, the process keeps serving its own sockets (events are stored,
  acked and delivered here) and stops trying to publish (no wait on every event); /healthz
  says "degraded"; one warning is logged;
* when it is subscribed again, every room this process has members in, or could not publish
  to, gets a ``resync`` event through the queue, and each member sends ``join_session`` again
  from the last seq up to which it holds every event; the replay brings the rest, in order
  (docs/realtime.md, "Message queue outages").

A link that dies without closing (a network partition) is noticed by a ping once the channel
has been quiet for a few seconds.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry
from socketio import RedisManager
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from companion.core import clock, events
from companion.core.extensions import db
from companion.rooms import connections as conns
from companion.rooms.models import RoomEvent

log = logging.getLogger(__name__)

RETRY_EVERY = 1.0  # seconds between attempts to subscribe again while cut off
PING_WHEN_QUIET = 5.0  # seconds without a message before the link is pinged
ANSWER_WITHIN = 3.0  # seconds for the ping's answer before the link counts as dead
# Events stored this long before the loss was noticed may be missing too (in flight at the
# moment, or stored by a process whose clock is a little ahead).
RESYNC_MARGIN = timedelta(seconds=10)


def queue_channel(url: str) -> str:
    """The pub/sub channel of the Companion on this Redis URL. Redis keeps keys apart by
    database number but publishes across all of them, so two Companions on databases 0 and 3 of
    one Redis (staging beside production, or two test runs) would hear each other's events:
    database 0 keeps Flask-SocketIO's own channel, any other has one of its own."""
    path = urlsplit(url).path.strip("/")
    return "flask-socketio" if path in ("", "0") else f"flask-socketio-db{path}"


class MessageQueue(RedisManager):
    """Flask-SocketIO's Redis message queue, which says when it is cut off and makes the rooms
    catch up when it is back. Replaces python-socketio's ``_publish`` and ``_listen`` (the two
    methods a pub/sub backend implements)."""

    def __init__(self, url: str, app: Flask, channel: str) -> None:
        super().__init__(url, channel=channel, redis_options={
            "socket_connect_timeout": 2, "socket_timeout": 2,
            # Errors surface at once: redis-py's own retries would reconnect and resubscribe
            # behind our back, and whatever was published in between would be silently lost.
            "retry": Retry(NoBackoff(), 0),
        })
        self.app = app
        self.cut_off_since: datetime | None = None  # when this process noticed; None: linked
        self.unsent_sessions: set[int] = set()  # rooms whose events others may have missed
        self.listening = False  # the listener runs (from the first socket's connection)

    # --- state ----------------------------------------------------------------------------

    def reachable(self) -> bool:
        """Is the queue up, as this process sees it? (/healthz)"""
        if not self.listening:  # no socket yet, so no listener to tell: ask Redis
            try:
                return bool(self._client().ping())
            except Exception:
                return False
        return self.cut_off_since is None

    def _cut_off(self, error: Exception) -> None:
        if self.cut_off_since is None:
            self.cut_off_since = clock.now()
            log.warning("message queue unreachable (%s): serving this process's sockets only "
                        "until it is back", type(error).__name__)

    def _back(self) -> None:
        if self.cut_off_since is None:
            return
        since, unsent = self.cut_off_since, self.unsent_sessions
        self.cut_off_since, self.unsent_sessions = None, set()
        self.server.start_background_task(self._catch_up, since, unsent)

    def _catch_up(self, since: datetime, unsent: set[int]) -> None:
        """Tell every room this process has members in, or could not publish to, to ask for
        what it may have missed (``resync``, through the queue: other processes' members too)."""
        with self.app.app_context():
            sessions = unsent | {s for c in list(conns.connections.values()) for s in c.joined}
            held = _last_seq_before(sessions, since - RESYNC_MARGIN)
            for session_id in sorted(sessions):
                # At once: it reports no write, and this reads in a transaction never committed.
                events.send_now([events.session_room(session_id)], "resync",
                                {"session_id": session_id, "seq": held.get(session_id, 0)})
            db.session.remove()
        log.info("message queue back after %.0f s; %d rooms told to catch up",
                 (clock.now() - since).total_seconds(), len(sessions))

    # --- publishing -----------------------------------------------------------------------

    def _client(self) -> Any:
        if self.redis is None:
            self._redis_connect()
        return self.redis

    def _publish(self, data: dict[str, Any]) -> None:
        if self.cut_off_since is not None and self.listening:
            # Not even tried: the listener finds out when the link is back, then rooms catch up.
            self._note_unsent(data)
            return
        error: Exception | None = None
        for _ in range(2):  # a connection Redis dropped fails once; a new one then works
            try:
                self._client().publish(self.channel, self.json.dumps(data))
            except Exception as exc:
                error = exc
                continue
            if not self.listening:  # no listener in this process to notice the link is back
                self._back()
            return
        assert error is not None
        self._cut_off(error)
        self._note_unsent(data)

    def _note_unsent(self, data: dict[str, Any]) -> None:
        room = data.get("room")
        for name in room if isinstance(room, list) else [room]:
            session_id = events.session_of_room(name) if isinstance(name, str) else None
            if session_id is not None:
                self.unsent_sessions.add(session_id)

    # --- listening ------------------------------------------------------------------------

    def _listen(self) -> Iterator[bytes]:
        """The channel's messages, for ever: subscribed again after every failure."""
        self.listening = True
        while True:
            pubsub = None
            try:
                pubsub = self._client().pubsub()
                pubsub.subscribe(self.channel)
                yield from self._messages(pubsub)
            except Exception as error:  # Redis unreachable, or the link went quiet
                self._cut_off(error)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # the link is gone already
                        pubsub.close()
            self.server.sleep(RETRY_EVERY)

    def _messages(self, pubsub: Any) -> Iterator[bytes]:
        """Messages of one subscription until its link fails (raises)."""
        channel = self.channel.encode()
        subscribed = False
        heard = pinged = time.monotonic()
        while True:
            if subscribed and self.cut_off_since is not None:
                raise ConnectionError("a publish failed")  # start over: subscribe, catch up
            message = pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is not None:
                heard = now
                if message["type"] == "subscribe":
                    subscribed = True
                    self._back()  # from here on nothing published can miss this process
                elif message["type"] == "message" and message["channel"] == channel:
                    yield message["data"]
            elif now - heard > PING_WHEN_QUIET + ANSWER_WITHIN:
                raise TimeoutError("no answer from the message queue")
            elif now - max(heard, pinged) > PING_WHEN_QUIET:
                pubsub.ping()
                pinged = now


def _last_seq_before(sessions: set[int], moment: datetime) -> dict[int, int]:
    """Each room's last seq stored before ``moment`` (rooms with none are left out)."""
    if not sessions:
        return {}
    try:
        rows = db.session.execute(
            select(RoomEvent.session_id, func.max(RoomEvent.seq))
            .where(RoomEvent.session_id.in_(sessions), RoomEvent.created_at < moment)
            .group_by(RoomEvent.session_id)
        ).all()
    except SQLAlchemyError as error:  # the database is down too: "from the start" is safe
        db.session.rollback()
        log.error("resync: cannot read the rooms' seqs (%s)", type(error).__name__)
        return {}
    return {session_id: seq for session_id, seq in rows}
