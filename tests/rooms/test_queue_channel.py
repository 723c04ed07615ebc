"""Two Companions on one Redis, apart by database number, hear only their own events: Redis
scopes keys by database but publishes across all of them (companion/rooms/message_queue.py)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from companion.rooms.message_queue import queue_channel


@pytest.mark.parametrize("url, channel", [
    ("redis://127.0.0.1:6379", "flask-socketio"),
    ("redis://127.0.0.1:6379/0", "flask-socketio"),
    ("redis://:secret@redis.internal:6380/3", "flask-socketio-db3"),
])
def test_database_zero_keeps_flask_socketios_channel_and_others_have_their_own(url, channel):
    assert queue_channel(url) == channel


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis (REDIS_URL)")
def test_a_message_published_for_one_database_does_not_reach_the_other():
    import redis

    base = os.environ["REDIS_URL"].rsplit("/", 1)[0]
    mine, theirs = f"{base}/5", f"{base}/6"
    listener = redis.Redis.from_url(theirs).pubsub()
    listener.subscribe(queue_channel(theirs))
    listener.get_message(timeout=1)  # the subscription's confirmation
    marker = uuid.uuid4().hex
    redis.Redis.from_url(mine).publish(queue_channel(mine), marker)
    redis.Redis.from_url(theirs).publish(queue_channel(theirs), "own")
    heard = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and "own" not in heard:
        message = listener.get_message(timeout=0.2)
        if message and message["type"] == "message":
            heard.append(message["data"].decode())
    listener.close()
    assert heard == ["own"]
