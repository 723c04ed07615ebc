"""A client of Janus's HTTP API (https://janus.conf.meetecho.com/docs/rest.html), enough for
its SIP plugin: one session, handles attached to plugins, requests answered by events.

Janus answers a plugin request at once with an ``ack`` and later with an event carrying the
request's transaction; events nobody asked for (an incoming call, a hang-up, a key sent by SIP
INFO) arrive on the session's long poll too and go to ``on_event(handle_id, event)``.
The session lives as long as something reaches Janus within its ``session_timeout``: the long
poll does, and a keep-alive covers the gaps.

Janus runs on the same machine (its HTTP transport bound to loopback), so the URL is the
operator's configuration, never a user's.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger("companion.dialin.janus")

EventHandler = Callable[[int, dict[str, Any]], None]
POLL_SECONDS = 30  # Janus's own long-poll limit
KEEPALIVE_SECONDS = 25


class JanusError(RuntimeError):
    """Janus or its plugin refused a request (the message is Janus's reason)."""


class JanusSession:
    def __init__(self, base_url: str, on_event: EventHandler) -> None:
        self._base = base_url.rstrip("/")
        self._on_event = on_event
        self._http: aiohttp.ClientSession | None = None
        self._url = ""
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> JanusSession:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=POLL_SECONDS + 10))
        created = await self._post(self._base, {"janus": "create"})
        self._url = f"{self._base}/{created['data']['id']}"
        self._tasks = [asyncio.create_task(self._poll()), asyncio.create_task(self._keepalive())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._post(self._url, {"janus": "destroy"})
        except (TimeoutError, aiohttp.ClientError, JanusError):
            pass  # Janus drops the session at its timeout anyway
        if self._http is not None:
            await self._http.close()

    async def attach(self, plugin: str) -> int:
        attached = await self._post(self._url, {"janus": "attach", "plugin": plugin})
        return int(attached["data"]["id"])

    async def detach(self, handle: int) -> None:
        await self._post(f"{self._url}/{handle}", {"janus": "detach"})

    async def request(self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None,
                      timeout: float = 10.0) -> dict[str, Any]:
        """Send a plugin request and wait for the event that answers it: its plugin data, with
        the event's ``jsep`` (if any) under the key ``"jsep"``."""
        transaction = secrets.token_hex(8)
        answered = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = answered
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        try:
            reply = await self._post(f"{self._url}/{handle}", message, transaction)
            if reply.get("janus") == "success":  # a synchronous request: answered in the reply
                return dict(reply.get("plugindata", {}).get("data", {}))
            event = await asyncio.wait_for(answered, timeout)
        finally:
            self._waiting.pop(transaction, None)
        data = dict(event.get("plugindata", {}).get("data", {}))
        if "error" in data:
            raise JanusError(str(data["error"]))
        if "jsep" in event:
            data["jsep"] = event["jsep"]
        return data

    async def _post(self, url: str, body: dict[str, Any], transaction: str | None = None
                    ) -> dict[str, Any]:
        assert self._http is not None, "use the session in `async with`"
        body["transaction"] = transaction or secrets.token_hex(8)
        async with self._http.post(url, json=body) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(str(reply.get("error", {}).get("reason", "refused")))
        return reply

    async def _poll(self) -> None:
        assert self._http is not None
        while True:
            try:
                async with self._http.get(f"{self._url}?maxev=10") as response:
                    events = await response.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning("Janus did not answer its long poll (%s); asking again",
                            type(exc).__name__)
                await asyncio.sleep(1)
                continue
            for event in events if isinstance(events, list) else [events]:
                self._dispatch(event)

    def _dispatch(self, event: dict[str, Any]) -> None:
        if event.get("janus") == "keepalive":
            return
        waiting = self._waiting.get(str(event.get("transaction", "")))
        if waiting is not None and event.get("janus") == "event" and not waiting.done():
            waiting.set_result(event)
            return
        handle = event.get("sender")
        if isinstance(handle, int):
            self._on_event(handle, event)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            try:
                await self._post(self._url, {"janus": "keepalive"})
            except (TimeoutError, aiohttp.ClientError, JanusError) as exc:
                log.warning("Janus keep-alive failed (%s)", type(exc).__name__)
