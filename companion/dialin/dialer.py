"""The line's side of a counselor's call to a client (dial_out.py keeps the records): each
second the line takes the next call asked for, dials the client's number through the trunk,
reports each step (ringing, answered), and once the phone is answered runs the call as the
engine runs any call, asking whoever answered for the client's PIN before anything is heard of
the session. A call not answered within RING_SECONDS, or cancelled in the room, is hung up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from flask import Flask

from companion.dialin import dial_out
from companion.dialin.dial_out import Claimed
from companion.dialin.engine import CallRunner, Workers, in_app
from companion.dialin.janus import JanusError
from companion.dialin.models import CallState
from companion.dialin.sip_line import Call, LineBusy, SipLine

log = logging.getLogger("companion.dialin.dialer")

CLAIM_SECONDS = 1.0  # the records are asked this often for a call to place (one indexed read)
RING_SECONDS = 45  # about eight rings: longer, and voicemail answers
# What a call that ended unanswered ended with (SIP's final codes), as the counselor hears it.
BUSY_CODES = frozenset({486, 600, 603})  # busy here, busy everywhere, declined
NO_ANSWER_CODES = frozenset({408, 480, 487})  # timed out, not reachable now, cancelled


def dial_uri(number: str, registrar: str) -> str:
    """The SIP address of an E.164 number at the trunk: ``sip:+15555550123@sip.provider``."""
    host = registrar.removeprefix("sip:").split(";")[0].rpartition("@")[2]
    return f"sip:{number}@{host}"


def unanswered(code: int | None) -> CallState:
    if code in BUSY_CODES:
        return CallState.BUSY
    if code in NO_ANSWER_CODES:
        return CallState.NO_ANSWER
    return CallState.FAILED


class Dialer:
    def __init__(self, app: Flask, line: SipLine, workers: Workers, prompts: Path) -> None:
        self._app, self._line, self._workers, self._prompts = app, line, workers, prompts
        self._calls: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Place calls until ``stop`` is set; calls under way are hung up then."""
        try:
            while not stop.is_set():
                claimed = await in_app(self._app, dial_out.claim_next)
                if claimed is not None:
                    task = asyncio.ensure_future(self._place(claimed))
                    self._calls.add(task)
                    task.add_done_callback(self._calls.discard)
                    continue
                try:
                    await asyncio.wait_for(stop.wait(), CLAIM_SECONDS)
                except TimeoutError:
                    pass
        finally:
            for task in list(self._calls):
                task.cancel()

    async def _step(self, claimed: Claimed, state: CallState) -> None:
        await in_app(self._app, dial_out.set_state, claimed.call_id, state)

    async def _place(self, claimed: Claimed) -> None:
        try:
            call = await self._line.dial(dial_uri(claimed.number, self._line.settings.registrar))
        except (LineBusy, JanusError, TimeoutError) as exc:
            log.warning("a call to a client could not be placed: %s", exc)
            await self._step(claimed, CallState.FAILED)
            return
        try:
            if await self._rings(claimed, call):
                await self._step(claimed, CallState.ANSWERED)
                runner = CallRunner(self._app, self._workers, self._prompts, call, claimed)
                await runner.run()
                if runner.reached_the_room:
                    await self._step(claimed, CallState.ENDED)
                elif runner.flow.hung_up in ("wrong_pin", "silence"):
                    await self._step(claimed, CallState.WRONG_PIN)
                else:  # hung up by whoever answered, or the session ended first
                    await self._step(claimed, CallState.ENDED)
        finally:
            await call.hang_up()

    async def _rings(self, claimed: Claimed, call: Call) -> bool:
        """Wait for the answer: True once answered; False (the call's end written) when the
        phone was busy, did not answer, or the counselor cancelled."""
        deadline = time.monotonic() + RING_SECONDS
        told_ringing = False
        while not call.answered.is_set():
            if call.ended.is_set():
                await self._step(claimed, unanswered(call.refused))
                return False
            if time.monotonic() > deadline:
                await self._step(claimed, CallState.NO_ANSWER)
                return False
            if call.ringing.is_set() and not told_ringing:
                told_ringing = True
                await self._step(claimed, CallState.RINGING)
            state = await in_app(self._app, dial_out.state_of, claimed.call_id)
            if state == CallState.CANCELLED:
                return False
            await _first(call.answered, call.ended, call.ringing if not told_ringing else None,
                         timeout=1.0)
        return True


async def _first(*events: asyncio.Event | None, timeout: float) -> None:
    """Until one of ``events`` is set, or ``timeout`` seconds."""
    waits = [asyncio.ensure_future(e.wait()) for e in events if e is not None]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
