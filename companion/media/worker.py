"""A media worker: one asyncio loop with aiortc, serving rooms to the web process.

Run one with ``companion media`` (or ``python -m companion.media.worker``). It listens on a
TCP port (loopback unless told otherwise) for the web process's requests (protocol.py), once
that process has proved it holds the channel secret (handshake.py; anyone else gets nothing and
is closed), and sends it events about its rooms' peers.

Audio is mixed (mixer.py): each peer's Opus is decoded where aiortc's decoder thread would have
run, mixed every 20 ms, and each peer gets its own mix-minus encoded once. Video is forwarded
(forward.py): the publisher's encoded VP8 frames go to the subscribers' slots unchanged. Here:
the worker's lifecycle, its clocks and the dispatch of requests; rooms.py holds the rooms and
peers, offers.py answers offers, channel.py speaks to the web process, compat.py holds every
use of aiortc's and aioice's internals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from companion.media import PROFILES, compat, consent
from companion.media.channel import ChannelConnection
from companion.media.config import (
    MediaConfig,
    MediaConfigError,
    default_host_addresses,
    worker_secret,
)
from companion.media.handshake import HelloChecker
from companion.media.offers import answer_offer
from companion.media.protocol import (
    CloseRoomRequest,
    EmptyAnswer,
    Event,
    LeaveRequest,
    MediaKind,
    MuteRequest,
    OfferAnswer,
    OfferRequest,
    Op,
    PeerRequest,
    PingAnswer,
    PingRequest,
    Profile,
    ProfileAnswer,
    ProfileRequest,
    RequestError,
    RoomRequest,
    decode_request,
)
from companion.media.rooms import Peer, Room, WorkerStats

log = logging.getLogger("companion.media")

TICK = 0.020
QUALITY_INTERVAL = 5.0


class MediaWorker:
    def __init__(self, config: MediaConfig | None = None) -> None:
        self.config = config or MediaConfig.from_env()
        self.rooms: dict[str, Room] = {}
        self.connections: set[ChannelConnection] = set()
        self.server: asyncio.base_events.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._cpu_sample = (time.monotonic(), time.process_time())
        self.cpu = 0.0
        self.started = time.monotonic()
        self.stopping = asyncio.Event()
        self.stats = WorkerStats()
        compat.install_codec_counters()
        consent.install()  # RFC 7675 consent: a lagging loop does not hang up on everyone
        compat.install_host_addresses(self.config.host_addresses or default_host_addresses())

    # -- lifecycle
    async def start(self, host: str | None = None, port: int | None = None) -> tuple[str, int]:
        if not self.config.secret:
            raise MediaConfigError("a media worker needs the channel secret before it listens")
        self.hellos = HelloChecker(self.config.secret)
        self.server = await asyncio.start_server(
            self._on_connection,
            host or self.config.channel_host,
            self.config.channel_port if port is None else port,
            limit=4 * 1024 * 1024,
        )
        self._tasks = [asyncio.ensure_future(self._ticker()),
                       asyncio.ensure_future(self._housekeeping()),
                       asyncio.ensure_future(self._quality())]
        sock = self.server.sockets[0].getsockname()
        return sock[0], sock[1]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.server is not None:
            self.server.close()
        for room in list(self.rooms.values()):
            await room.close()
        for conn in list(self.connections):
            conn.close()

    # -- what rooms need of their worker (rooms.RoomHost)
    def emit(self, event: Event) -> None:
        """Send an event to the connections that asked about its room (to all if none)."""
        room = self.rooms.get(event["room"])
        targets = [c for c in (room.subscribers if room else ()) if not c.closed]
        if not targets:
            targets = [c for c in self.connections if not c.closed]
        for conn in targets:
            conn.send(event)

    def forget_room(self, room: Room) -> None:
        self.rooms.pop(room.id, None)

    # -- periodic work
    async def _ticker(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        stats = self.stats
        while True:
            next_at += TICK
            scheduled = next_at
            delay = next_at - loop.time()
            if delay < -0.2:  # far behind (the machine stalled): skip, do not burst
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))
            lag = loop.time() - scheduled
            if lag > 0.1:
                stats.ticks_late_100ms += 1
            stats.tick_lag_max = max(stats.tick_lag_max, lag)
            started = time.perf_counter()
            for room in list(self.rooms.values()):
                try:
                    room.tick()
                except Exception:
                    log.exception("[%s] mixer tick failed", room.id)
            stats.tick_sum += time.perf_counter() - started
            stats.tick_count += 1

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now, cpu = time.monotonic(), time.process_time()
            t0, c0 = self._cpu_sample
            if now - t0 >= 5.0:
                self.cpu = (cpu - c0) / (now - t0)
                self._cpu_sample = (now, cpu)
            for room in list(self.rooms.values()):
                room.housekeeping()

    async def _quality(self) -> None:
        while True:
            await asyncio.sleep(QUALITY_INTERVAL)
            for room in list(self.rooms.values()):
                for peer in list(room.peers.values()):
                    if peer.pc is not None and peer.connected:
                        with contextlib.suppress(Exception):
                            event = await peer.quality_event()
                            if event is not None:
                                self.emit(event)

    # -- requests
    def room(self, room_id: str, create: bool = False) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            if not create:
                raise RequestError("no such room")
            room = self.rooms[room_id] = Room(self, room_id)
        return room

    def peer(self, request: PeerRequest[Any]) -> Peer:
        peer = self.room(request.room).peers.get(request.peer)
        if peer is None:
            raise RequestError("no such peer")
        return peer

    async def handle(self, conn: ChannelConnection | None,
                     message: Mapping[str, Any]) -> Mapping[str, Any]:
        """Answer one request (``HANDLERS`` says how); RequestError refuses it."""
        request = decode_request(message)
        if isinstance(request, RoomRequest):
            # the room's events go to the connections that ask about it
            room = self.room(request.room, create=isinstance(request, OfferRequest))
            if conn is not None:
                room.subscribers.add(conn)
        return await HANDLERS[request.op](self, request)

    def ping(self) -> PingAnswer:
        peers = [p for r in self.rooms.values() for p in r.peers.values()]
        stats = self.stats
        wait_sum = stats.audio_wait_sum + sum(p.playout.wait_sum for p in peers)
        wait_count = stats.audio_wait_count + sum(p.playout.wait_count for p in peers)
        return {"rooms": len(self.rooms), "peers": len(peers),
                "cpu": round(self.cpu, 4), "cpu_s": round(time.process_time(), 3),
                "uptime_s": round(time.monotonic() - self.started, 1), "pid": os.getpid(),
                "codecs": dict(compat.CODEC_COUNTS),
                "audio_wait_ms_sum": round(wait_sum * 1000, 3), "audio_wait_count": wait_count,
                "tick_ms_sum": round(stats.tick_sum * 1000, 3), "tick_count": stats.tick_count,
                "audio_underruns": stats.audio_underruns
                + sum(p.playout.underruns for p in peers),
                "opus_encodes": stats.opus_encodes,
                "ticks_late_100ms": stats.ticks_late_100ms,
                "tick_lag_max_ms": round(stats.tick_lag_max * 1000, 1),
                "peer_failures": stats.peer_failures}

    # -- channel
    async def _on_connection(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        conn = ChannelConnection(reader, writer, self.hellos, self.handle)
        try:
            if not await conn.handshake():
                log.warning("channel connection from %s refused: no valid hello",
                            writer.get_extra_info("peername"))
                conn.close()
                return
            self.connections.add(conn)
            await conn.run()
        except asyncio.CancelledError:
            pass
        finally:
            conn.close()
            self.connections.discard(conn)
            for room in self.rooms.values():
                room.subscribers.discard(conn)


# ---------------------------------------------------------------- request handlers
async def _ping(worker: MediaWorker, request: PingRequest) -> PingAnswer:
    return worker.ping()


async def _offer(worker: MediaWorker, request: OfferRequest) -> OfferAnswer:
    return await answer_offer(worker.room(request.room, create=True), request)


async def _leave(worker: MediaWorker, request: LeaveRequest) -> EmptyAnswer:
    await worker.room(request.room).remove_peer(request.peer)
    return {}


async def _mute(worker: MediaWorker, request: MuteRequest) -> EmptyAnswer:
    """A server-enforced mute: out of everyone's mix, or not forwarded to anyone."""
    peer = worker.peer(request)
    if request.what is MediaKind.AUDIO:
        peer.muted_audio = request.muted
        if request.muted:
            peer.room.speaker.levels.pop(peer.uid, None)
    else:
        peer.muted_video = request.muted
    log.info("%s %s %s", peer.tag, request.what, "muted" if request.muted else "unmuted")
    peer.room.update_slots()
    return {}


async def _profile(worker: MediaWorker, request: ProfileRequest) -> ProfileAnswer:
    """Lower what is forwarded at once; say when raising it needs a new offer."""
    peer = worker.peer(request)
    profile = peer.profile = request.profile
    needs_offer = PROFILES[profile] > len(peer.slots) or (
        profile is not Profile.AUDIO_ONLY and peer.video_receiver is None)
    log.info("%s profile %s", peer.tag, profile)
    peer.room.update_slots()
    return {"needs_offer": needs_offer}


async def _close_room(worker: MediaWorker, request: CloseRoomRequest) -> EmptyAnswer:
    await worker.room(request.room).close()
    return {}


Handler = Callable[[MediaWorker, Any], Awaitable[Mapping[str, Any]]]
HANDLERS: dict[Op, Handler] = {
    Op.PING: _ping,
    Op.OFFER: _offer,
    Op.LEAVE: _leave,
    Op.MUTE: _mute,
    Op.PROFILE: _profile,
    Op.CLOSE_ROOM: _close_room,
}
"""How the worker answers each op (each handler takes that op's request class)."""


# ---------------------------------------------------------------- entry point
def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s media[%(process)d] %(levelname)s %(message)s")
    for noisy in ("aiortc", "aioice"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def serve(host: str | None = None, port: int | None = None,
                parent_pid: int | None = None, announce: bool = False) -> None:
    """Run a worker until SIGTERM/SIGINT (or until ``parent_pid`` is gone)."""
    config = MediaConfig.from_env()
    config.secret = worker_secret(config, host or config.channel_host)
    worker = MediaWorker(config)
    bound_host, bound_port = await worker.start(host, port)
    log.info("media worker listening on %s:%d", bound_host, bound_port)
    if announce:  # the spawning process reads the port (useful with --port 0)
        print(json.dumps({"listening": [bound_host, bound_port]}), flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, worker.stopping.set)

    async def watch_parent() -> None:
        while parent_pid is not None:
            await asyncio.sleep(1.0)
            if os.getppid() != parent_pid:
                log.info("parent process gone; stopping")
                worker.stopping.set()
                return

    watcher = asyncio.ensure_future(watch_parent())
    await worker.stopping.wait()
    watcher.cancel()
    await worker.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Companion media worker")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--announce", action="store_true")
    parser.add_argument("--log-level", default=os.environ.get("COMPANION_MEDIA_LOG", "INFO"))
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        compat.check_versions()
    except compat.IncompatibleLibraries as error:
        log.critical("The media worker did not start: %s.", error)
        sys.exit(1)
    try:
        asyncio.run(serve(args.host, args.port, args.parent_pid, args.announce))
    except MediaConfigError as error:
        sys.exit(f"The media worker did not start: {error}.")


if __name__ == "__main__":
    main()
