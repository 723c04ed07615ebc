"""The clinic's dial-in line on Janus's SIP plugin: registered with the trunk (or the SIP proxy in
front of Janus), it takes each incoming call on a free handle, answers its audio with a
:class:`PhoneLeg` and hands a :class:`Call` to the engine; and it places the calls counselors
ask for (:meth:`SipLine.dial`, driven by dialer.py) on a free handle too.

Janus's SIP plugin holds one call per handle: the registered one (the *master*) and *helpers*
attached to it (its "multiple calls" feature), so the line keeps ``helpers`` of them and as many
callers can be on the line at once, plus one. A call beyond that gets Janus's busy answer.

The calling number arrives with the call; it is kept on the :class:`Call` for the PIN limits
only (docs/dial-in.md) and never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from companion.dialin.dtmf import KEYS, key_of_info
from companion.dialin.janus import JanusError, JanusSession
from companion.dialin.phone_leg import PhoneLeg

log = logging.getLogger("companion.dialin.line")

SIP_PLUGIN = "janus.plugin.sip"


@dataclass(frozen=True)
class LineSettings:
    janus_url: str  # Janus's HTTP API, on this machine
    registrar: str  # "sip:trunk.example.net" (or the local SIP proxy)
    user: str  # the line's SIP identity, "sip:companion@trunk.example.net"
    secret: str
    helpers: int = 8


@dataclass
class Call:
    """One caller on the line. The engine reads ``keys`` and awaits ``ended``."""

    handle: int
    caller: str  # the calling party as the trunk gave it: for the PIN limits, never logged
    leg: PhoneLeg
    line: SipLine
    keys: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    # A call the line placed (SipLine.dial): the phone rings, then answers; or the call ends
    # first, with the SIP code it ended with (486 busy, 480 not reachable...) in ``refused``.
    ringing: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    refused: int | None = None

    def key(self, key: str) -> None:
        if key in KEYS:
            self.keys.put_nowait(key)

    async def hang_up(self) -> None:
        if not self.ended.is_set():
            await self.line.hang_up(self)


CallHandler = Callable[[Call], Awaitable[None]]
REGISTER_SECONDS = 15


class NotRegistered(RuntimeError):
    """The trunk refused the line's registration, or did not answer: the sentence says which."""


class LineBusy(RuntimeError):
    """No handle is free to place a call on."""


class SipLine:
    def __init__(self, settings: LineSettings, on_call: CallHandler) -> None:
        self.settings = settings
        self._on_call = on_call
        self._janus: JanusSession | None = None
        self._calls: dict[int, Call] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.registered = asyncio.Event()
        self._refused: str | None = None  # the trunk's answer to a refused registration
        self._master_id: int | None = None
        self._helpers: list[int] = []  # the handles calls are placed on

    async def __aenter__(self) -> SipLine:
        self._janus = await JanusSession(self.settings.janus_url, self._on_event).__aenter__()
        master = await self._janus.attach(SIP_PLUGIN)
        await self._janus.request(master, {
            "request": "register", "username": self.settings.user,
            "secret": self.settings.secret, "proxy": self.settings.registrar})
        try:
            await asyncio.wait_for(self.registered.wait(), timeout=REGISTER_SECONDS)
        except TimeoutError:
            await self.__aexit__(None, None, None)
            raise NotRegistered(f"the trunk did not answer the line's registration within "
                                f"{REGISTER_SECONDS} s") from None
        if self._refused is not None:
            await self.__aexit__(None, None, None)
            if self._refused.split(" ")[0] in ("401", "403", "407"):
                raise NotRegistered(f"the trunk refused the line's registration "
                                    f"({self._refused}): check COMPANION_SIP_USER and "
                                    "COMPANION_SIP_PASSWORD")
            raise NotRegistered(f"the line's registration failed ({self._refused}): check "
                                "COMPANION_SIP_REGISTRAR and that the trunk is reachable")
        for _ in range(self.settings.helpers):
            helper = await self._janus.attach(SIP_PLUGIN)
            await self._janus.request(helper, {
                "request": "register", "type": "helper", "username": self.settings.user,
                "master_id": self._master_id})
            self._helpers.append(helper)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for call in list(self._calls.values()):
            await self.hang_up(call)
        for task in list(self._tasks):
            task.cancel()
        if self._janus is not None:
            await self._janus.__aexit__(*exc)

    async def dial(self, uri: str) -> Call:
        """Place a call to ``uri`` (``sip:+15555550123@trunk``) on a free handle; the call
        rings and is answered (its events), or ends unanswered. LineBusy when every handle
        holds a call."""
        assert self._janus is not None
        handle = next((h for h in self._helpers if h not in self._calls), None)
        if handle is None:
            raise LineBusy("every call of the line is taken: raise COMPANION_SIP_CALLS")
        call = Call(handle, "", PhoneLeg(on_key=lambda key: call.key(key)), self)
        self._calls[handle] = call
        try:
            offer = await call.leg.offer()
            await self._janus.request(handle, {"request": "call", "uri": uri},
                                      jsep={"type": "offer", "sdp": offer})
        except BaseException:
            await self._forget(call)
            raise
        return call

    async def hang_up(self, call: Call) -> None:
        assert self._janus is not None
        try:
            await self._janus.request(call.handle, {"request": "hangup"})
        except (JanusError, TimeoutError) as exc:
            log.info("hang-up of a call not confirmed by Janus (%s)", exc)
        await self._forget(call)

    async def _forget(self, call: Call) -> None:
        if self._calls.pop(call.handle, None) is not None:
            call.ended.set()
            await call.leg.close()

    # --- Janus's events, on its long poll ---------------------------------------------------

    def _on_event(self, handle: int, event: dict[str, Any]) -> None:
        result = event.get("plugindata", {}).get("data", {}).get("result", {})
        kind = result.get("event")
        if kind == "registered" and "master_id" in result:
            self._master_id = int(result["master_id"])
            self.registered.set()
        elif kind == "registration_failed":
            self._refused = f"{result.get('code', '')} {result.get('reason', '')}".strip()
            self.registered.set()
        elif kind == "incomingcall" and "jsep" in event:
            self._spawn(self._answer(handle, str(result.get("username", "")), event["jsep"]))
        elif kind == "info" and handle in self._calls:
            key = key_of_info(str(result.get("type", "")), str(result.get("content", "")))
            if key is not None:
                self._calls[handle].key(key)
        # Janus 1.2 also reports telephone events as "dtmf" events; they are read from the RTP
        # the leg receives instead (dtmf.py), whatever the version, so a key counts once.
        elif kind in ("ringing", "proceeding") and handle in self._calls:
            self._calls[handle].ringing.set()
        elif kind in ("progress", "accepted") and handle in self._calls:
            # The phone's answer comes with early media (183) or with the answer (200).
            if "jsep" in event:
                self._spawn(self._accepted(self._calls[handle], event["jsep"]["sdp"],
                                           kind == "accepted"))
            elif kind == "accepted":
                self._calls[handle].answered.set()
        elif kind == "hangup" and handle in self._calls:
            call = self._calls[handle]
            if not call.answered.is_set() and call.refused is None:
                call.refused = int(result.get("code") or 0)
            self._spawn(self._forget(call))
        elif event.get("janus") == "hangup" and handle in self._calls:  # the WebRTC leg died
            self._spawn(self.hang_up(self._calls[handle]))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accepted(self, call: Call, answer_sdp: str, answered: bool) -> None:
        if not call.leg.answered:  # the answer is taken once (183's, else 200's)
            try:
                await call.leg.accepted(answer_sdp)
            except ValueError:
                log.info("a placed call was answered with audio we cannot take: hung up")
                await self.hang_up(call)
                return
        if answered:
            call.answered.set()

    async def _answer(self, handle: int, caller: str, jsep: dict[str, str]) -> None:
        assert self._janus is not None
        call = Call(handle, caller, PhoneLeg(on_key=lambda key: call.key(key)), self)
        try:
            answer = await call.leg.answer(jsep["sdp"])
        except ValueError:
            log.info("a call offered no G.711 audio: declined")
            await self._janus.request(handle, {"request": "decline", "code": 488})
            await call.leg.close()
            return
        self._calls[handle] = call
        await self._janus.request(handle, {"request": "accept"},
                                  jsep={"type": "answer", "sdp": answer})
        try:
            await self._on_call(call)
        except Exception:  # one call's failure must not take the line down; it is hung up
            log.exception("a call failed")
        finally:
            await call.hang_up()
