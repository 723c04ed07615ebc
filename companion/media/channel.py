"""The worker's end of the channel to a web process: the handshake, then newline-delimited JSON
both ways (protocol.py says what the lines hold; docs/media.md, "Internal channel").

Each request is answered on its own task, so a ``ping`` is not held up by a slow ``offer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from companion.media.handshake import HELLO_TIMEOUT, MAX_HELLO_BYTES, HelloChecker
from companion.media.protocol import RequestError

log = logging.getLogger("companion.media")

# What answers a request: the worker's dispatch (the connection subscribes to the room asked
# about). Raises RequestError to refuse.
Dispatch = Callable[["ChannelConnection", dict[str, Any]], Awaitable[Mapping[str, Any]]]


class ChannelConnection:
    """One web process connected to this worker: newline-delimited JSON both ways."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 hellos: HelloChecker, dispatch: Dispatch) -> None:
        self.reader = reader
        self.writer = writer
        self.hellos = hellos
        self.dispatch = dispatch
        self.closed = False
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, message: Mapping[str, Any]) -> None:
        if self.closed:
            return
        try:
            self.writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        except Exception:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self.writer.close()

    async def handshake(self) -> bool:
        """Read the hello (handshake.py) and welcome a web process that proved it holds the
        secret. Whoever does not gets not a byte back: no error, no ping, nothing."""
        try:
            line = await asyncio.wait_for(self._hello_line(), HELLO_TIMEOUT)
        except (TimeoutError, ConnectionError):
            return False
        answer = self.hellos.welcome(line) if line is not None else None
        if answer is None:
            return False
        self.writer.write(answer)
        return True

    async def _hello_line(self) -> bytes | None:
        """The first line, at most MAX_HELLO_BYTES, with nothing sent after it: the web
        process waits for the welcome before its first request."""
        buf = b""
        while b"\n" not in buf:
            chunk = await self.reader.read(MAX_HELLO_BYTES + 1 - len(buf))
            if not chunk:
                return None
            buf += chunk
            if len(buf) > MAX_HELLO_BYTES:
                return None
        line, rest = buf.split(b"\n", 1)
        return None if rest else line

    async def run(self) -> None:
        try:
            while not self.closed:
                try:
                    line = await self.reader.readline()
                except (ConnectionError, asyncio.LimitOverrunError, ValueError):
                    break
                if not line:
                    break
                try:
                    msg = json.loads(line)
                    if not isinstance(msg, dict):
                        raise ValueError
                except ValueError:
                    self.send({"ok": False, "error": "not a JSON object"})
                    continue
                task = asyncio.ensure_future(self._answer(msg))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        finally:
            self.close()

    async def _answer(self, msg: dict[str, Any]) -> None:
        rid = msg.get("id")
        try:
            result = await self.dispatch(self, msg)
            self.send({"id": rid, "ok": True, **result})
        except RequestError as exc:
            self.send({"id": rid, "ok": False, "error": str(exc)})
        except Exception as exc:
            log.exception("request %s failed", msg.get("op"))
            self.send({"id": rid, "ok": False, "error": f"internal error: {type(exc).__name__}"})
