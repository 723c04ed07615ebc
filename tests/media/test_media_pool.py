"""Killing a media worker during a session: the pool notices, moves the room, and the client
connects again to the live worker (what `rtc_restart` makes a browser do)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from companion.media.pool import MediaPool
from companion.media.process import spawn_workers
from companion.media.protocol import OfferRequest, Profile
from tests.media_helpers import ClientPeer, run_async, wait_for, worker_process

SECRET = "pool-test-channel-secret-0123456789abcdef"


@pytest.mark.slow
def test_dead_worker_rooms_move_and_clients_reconnect() -> None:
    env = {"COMPANION_MEDIA_SECRET": SECRET}
    with worker_process(env) as w1, worker_process(env) as w2:
        moved: list[str] = []
        moved_event = threading.Event()

        def on_moved(rooms: list[str]) -> None:
            moved.extend(rooms)
            moved_event.set()

        pool = MediaPool([(w1.host, w1.port), (w2.host, w2.port)], on_rooms_moved=on_moved,
                         ping_interval=0.5, ping_timeout=1.0, secret=SECRET)
        pool.start()
        room = "session:42"
        try:
            first = pool.worker_key_for(room)
            victim = w1 if first == f"{w1.host}:{w1.port}" else w2

            async def scenario() -> None:
                a, b = ClientPeer("1", freq=440), ClientPeer("2", freq=620)
                try:
                    for p in (a, b):
                        desc = await p.offer()
                        answer = await asyncio.to_thread(
                            pool.send, OfferRequest(room, p.name, desc.sdp, Profile.AUDIO_ONLY),
                            20)
                        await p.pc.setRemoteDescription(  # type: ignore[union-attr]
                            type(desc)(answer["sdp"], answer["type"]))
                    assert await wait_for(lambda: a.audio_frames > 25 and b.audio_frames > 25,
                                          10)

                    os.kill(victim.proc.pid, signal.SIGKILL)
                    killed_at = time.monotonic()
                    assert await asyncio.to_thread(moved_event.wait, 5)
                    noticed = time.monotonic() - killed_at
                    assert moved == [room] and noticed < 5
                    assert pool.worker_key_for(room) != first

                    # rtc_restart: each client offers again, now to the live worker
                    a2, b2 = ClientPeer("1", freq=440), ClientPeer("2", freq=620)
                    for p in (a2, b2):
                        desc = await p.offer()
                        answer = await asyncio.to_thread(
                            pool.send, OfferRequest(room, p.name, desc.sdp, Profile.AUDIO_ONLY),
                            20)
                        await p.pc.setRemoteDescription(  # type: ignore[union-attr]
                            type(desc)(answer["sdp"], answer["type"]))
                    assert await wait_for(lambda: a2.audio_frames > 5 and b2.audio_frames > 5,
                                          10)
                    assert time.monotonic() - killed_at < 10
                    for p in (a2, b2):
                        await p.close()
                finally:
                    for p in (a, b):
                        await p.close()

            run_async(scenario(), 60)
        finally:
            pool.stop()


def test_spawned_workers_start_and_stop() -> None:
    workers = spawn_workers(1)
    try:
        pool = MediaPool(workers.addresses, ping_interval=0.5, secret=workers.secret)
        assert pool.check() == []
        assert pool.workers[f"{workers.addresses[0][0]}:{workers.addresses[0][1]}"].alive
        pool.stop()
    finally:
        workers.stop()
    assert not workers.workers[0].alive()


def test_rooms_spread_over_spawned_workers() -> None:
    """``companion serve --media-workers 2``: 3 rooms land 2 + 1 on the two workers (fewest rooms
    first), and a closed room's place is reused."""
    workers = spawn_workers(2)
    pool = MediaPool(workers.addresses, ping_interval=0.5, secret=workers.secret)
    try:
        assert pool.check() == []
        keys = [pool.worker_key_for(f"session:{i}") for i in range(3)]
        assert sorted(keys.count(k) for k in set(keys)) == [1, 2]
        assert set(keys) == {f"{h}:{p}" for h, p in workers.addresses}
        assert pool.worker_key_for("session:0") == keys[0]  # pinned
        pool.hooks().closed(1)  # session 1 ends: its worker has room again
        assert pool.worker_key_for("session:9") == keys[1]
    finally:
        pool.stop()
        workers.stop()


def test_a_worker_that_cannot_start_says_it_exited() -> None:
    """A worker that refuses to start (here a bad setting; other library versions the same way)
    is reported as exited, not as slow."""
    from companion.media.process import WorkerProcess

    worker = WorkerProcess("127.0.0.1", 0, {**os.environ, "COMPANION_MEDIA_MDNS": "maybe"})
    with pytest.raises(RuntimeError, match=r"exited at start-up \(exit code 1\)"):
        worker.start()
