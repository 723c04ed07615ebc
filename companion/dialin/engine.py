"""A call from answer to hang-up: the line's call (sip_line.py) driven by the call flow
(callflow.py), and once the caller is admitted, their audio bridged into the session's room.

The flow is pure; what it asks for is done here: prompts are played on the phone leg, a knock
and the caller's keys in the room go through ``rooms.phone`` (acting as the caller from the
phone channel), and each second the room is asked whether the caller was admitted, removed, muted
by a moderator, or the session ended. Database work runs in a thread with the app's context, so
the call's audio (asyncio, aiortc) never waits on it.

In the room the caller is a participant of the media worker like anyone: the engine holds a
WebRTC leg of its own toward the worker (:class:`RoomLeg`, G.711 with the phone profile, which
the worker decodes into its mix and encodes the caller's mix-minus in), offered under the
caller's user id, and relays the phone leg's audio into it and the room's mix back
(docs/dial-in.md, "A call from answer to hang-up"). A moderator's mute or removal reaches the
worker from the web side as for anyone; the caller's own ``*6`` gates what the engine relays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from flask import Flask

from companion.core import clock, origin
from companion.core.extensions import db
from companion.dialin import dial_out, services
from companion.dialin.callflow import (
    Action,
    CallFlow,
    Hangup,
    Knock,
    Play,
    SetHand,
    SetMute,
    Stage,
)
from companion.dialin.dial_out import Claimed
from companion.dialin.models import CallState
from companion.dialin.phone_leg import Law, Payload, PhoneLeg, encode, read_prompt, relay
from companion.dialin.prompts import Prompt, prompt_file
from companion.dialin.sip_line import Call
from companion.media import compat
from companion.media.protocol import LeaveRequest, OfferAnswer, OfferRequest, Profile, RoomRequest
from companion.rooms import phone

log = logging.getLogger("companion.dialin.engine")

T = TypeVar("T")
POLL_SECONDS = 1.0  # the room is asked this often (one indexed read: rooms.phone.admission_of)
GOODBYE_SECONDS = 15.0  # a goodbye is heard to its end, but no longer than this
OFFER_TIMEOUT = 20.0


class Workers(Protocol):
    """Where room requests go: the web side's MediaPool, or one worker's MediaClient."""

    def send(self, request: RoomRequest[T], timeout: float = ...) -> T: ...


def media_room(session_id: int) -> str:
    return f"session:{session_id}"  # as rooms/signaling.py names a session's media room


class _Relayed(MediaStreamTrack):
    """The caller's voice toward the room, packet by packet as the phone sent it, or silence
    while they muted themselves (``*6``)."""

    kind = "audio"

    def __init__(self, law: Law) -> None:
        super().__init__()
        self.law = law
        self.muted = False
        self._packets: asyncio.Queue[bytes] = asyncio.Queue(maxsize=10)  # 200 ms at most
        self._sent = 0

    def put(self, payload: bytes) -> None:
        if self._packets.full():  # the room's side stalled: the oldest goes
            self._packets.get_nowait()
        self._packets.put_nowait(payload)

    async def recv(self) -> Payload:  # type: ignore[override]
        payload = await self._packets.get()
        if self.muted:
            payload = encode(np.zeros(len(payload), dtype=np.int16), self.law)
        out = Payload(payload, self._sent)
        self._sent += len(payload)  # one sample a byte, at 8 kHz
        return out


class RoomLeg:
    """The engine's WebRTC leg toward the worker holding the session's room, in the call's
    G.711: the caller's packets go to the worker as they came, the worker's mix-minus comes
    back encoded and goes to the phone as it is. No codec runs here."""

    def __init__(self, workers: Workers, session_id: int, user_id: int, phone: PhoneLeg) -> None:
        self._workers, self._room, self._peer = workers, media_room(session_id), str(user_id)
        self._phone = phone
        self.law: Law = phone.law or "pcmu"
        self.outgoing = _Relayed(self.law)
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._transceiver = self._pc.addTransceiver(self.outgoing, direction="sendrecv")
        relay(self._transceiver.sender)
        self._transceiver.setCodecPreferences([
            c for c in RTCRtpSender.getCapabilities("audio").codecs
            if c.mimeType.lower() == f"audio/{self.law}"])

    async def open(self) -> None:
        """Join the room's media: the caller is heard in it and hears its mix (without their
        own voice) from now on."""
        await self._pc.setLocalDescription(await self._pc.createOffer())
        request = OfferRequest(self._room, self._peer, self._pc.localDescription.sdp,
                               Profile.PHONE)
        answer: OfferAnswer = await asyncio.to_thread(self._workers.send, request, OFFER_TIMEOUT)
        await self._pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        for codec in compat.codecs_of(self._transceiver):
            if codec.payloadType is not None:
                compat.intercept_payload_type(self._transceiver.receiver, codec.payloadType,
                                              lambda payload, _: self._phone.hears.room(payload))
        self._phone.hears.hear_room(self.law)
        self._phone.on_voice = self.outgoing.put

    async def close(self) -> None:
        self._phone.on_voice = None
        self._phone.hears.hear_room(None)
        try:
            await asyncio.to_thread(self._workers.send, LeaveRequest(self._room, self._peer), 5.0)
        except Exception as exc:  # the worker may be gone already; the call ends regardless
            log.info("[%s] leave not applied: %s", self._room, type(exc).__name__)
        await self._pc.close()


class CallRunner:
    """One call, from the welcome to the hang-up."""

    def __init__(self, app: Flask, workers: Workers, prompts: Path, call: Call,
                 called: Claimed | None = None) -> None:
        self._app, self._workers, self._prompts, self._call = app, workers, prompts, call
        self._called = called
        if called is None:
            self.flow = CallFlow(lambda pin: services.identify(pin, call.caller),
                                 services.open_sessions, clock.now)
        else:  # a counselor's call: only this client's PIN, only this session
            self.flow = CallFlow(
                lambda pin: services.identify(pin, called.number, only=called.user_id),
                lambda user_id, now: [s for s in services.open_sessions(user_id, now)
                                      if s.session_id == called.session_id],
                clock.now, called=True)
        self._recordings: dict[tuple[Prompt, str], np.ndarray] = {}
        self._knocked: tuple[int, int] | None = None  # (session, user) once at the door
        self._leg: RoomLeg | None = None
        self._staff_muted = False
        self._over = False

    async def run(self) -> None:
        try:
            await self._do(await self._db(self.flow.start))
            while not self._over and not self._call.ended.is_set():
                try:
                    key = await asyncio.wait_for(self._call.keys.get(), POLL_SECONDS)
                except TimeoutError:
                    await self._do(await self._db(self.flow.tick))
                    await self._do(await self._db(self._watch_room))
                else:
                    await self._do(await self._db(self.flow.digit, key))
        finally:
            await self._leave()

    # --- the room, asked each second (in the database thread) -------------------------------

    def _watch_room(self) -> list[Action]:
        if self._knocked is None:
            if (self._called is not None
                    and dial_out.state_of(self._called.call_id) == CallState.CANCELLED):
                return self.flow.cancelled()
            return []
        session_id, user_id = self._knocked
        admission = phone.admission_of(session_id, user_id)
        if admission == "removed":
            return self.flow.removed()
        if admission == "ended":
            return self.flow.ended()
        if admission != "admitted":
            return []
        actions: list[Action] = []
        if self._leg is None:
            actions += self.flow.admitted()  # the engine bridges the audio on seeing this
        muted = phone.muted_by_staff(session_id, user_id)
        if muted != self._staff_muted:
            self._staff_muted = muted
            actions += self.flow.staff_muted(muted)
        if self.flow.hand_raised and not phone.hand_raised(session_id, user_id):
            actions += self.flow.hand_lowered()  # a moderator lowered it
        return actions

    # --- what the flow asks for -------------------------------------------------------------

    async def _do(self, actions: list[Action]) -> None:
        if actions:  # what the call does, never what was keyed (a PIN is keys)
            log.debug("call: %s", ", ".join(type(a).__name__ for a in actions))
        played = False
        for action in actions:
            if isinstance(action, Play):
                if not played:  # an answer's prompts replace what is still playing
                    self._call.leg.hears.hush()
                    played = True
                self._call.leg.hears.say(self._recording(action.prompt, action.lang))
            elif isinstance(action, Knock):
                await self._db(phone.knock_by_phone, action.session_id, action.user_id)
                self._knocked = (action.session_id, action.user_id)
                if self._called is not None:  # the counselor who called lets them in
                    await self._db(phone.admit_called, action.session_id, action.user_id,
                                   self._called.requested_by_id)
            elif isinstance(action, SetMute) and self._knocked is not None:
                await self._db(phone.mute_self_by_phone, *self._knocked, action.muted)
                if self._leg is not None:
                    self._leg.outgoing.muted = action.muted
            elif isinstance(action, SetHand) and self._knocked is not None:
                await self._db(phone.hand_by_phone, *self._knocked, action.raised)
            elif isinstance(action, Hangup):
                await self._hang_up(action.reason)
                return
        if self.flow.stage is Stage.IN_ROOM and self._leg is None:
            await self._bridge()

    async def _bridge(self) -> None:
        assert self._knocked is not None
        self._leg = RoomLeg(self._workers, *self._knocked, self._call.leg)
        await self._leg.open()
        await self._db(phone.enter_by_phone, *self._knocked)
        if self._called is not None:
            await self._db(dial_out.set_state, self._called.call_id, CallState.IN_ROOM)

    async def _hang_up(self, reason: str) -> None:
        self._over = True
        for _ in range(int(GOODBYE_SECONDS / 0.1)):
            if not self._call.leg.hears.speaking:
                break
            await asyncio.sleep(0.1)
        log.info("call hung up by the line: %s", reason)
        await self._call.hang_up()

    async def _leave(self) -> None:
        if self._leg is not None:
            await self._leg.close()
        if self._knocked is not None:
            await self._db(phone.leave_by_phone, *self._knocked)

    def _recording(self, prompt: Prompt, lang: str) -> np.ndarray:
        if (prompt, lang) not in self._recordings:
            try:
                self._recordings[prompt, lang] = read_prompt(prompt_file(self._prompts, prompt,
                                                                         lang))
            except (OSError, ValueError) as exc:
                log.error("prompt %s/%s cannot be played (%s): run `companion dialin-prompts`",
                          lang, prompt.value, exc)
                self._recordings[prompt, lang] = np.zeros(0, dtype=np.int16)
        return self._recordings[prompt, lang]

    async def _db(self, work: Callable[..., T], *args: Any) -> T:
        return await in_app(self._app, work, *args)

    @property
    def reached_the_room(self) -> bool:
        return self._leg is not None


async def in_app(app: Flask, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a thread, in the app's context, acting from the phone; committed as a
    request is (its events go out with the commit)."""
    def run() -> T:
        with app.app_context(), origin.acting_from(origin.PHONE):
            done = work(*args)
            db.session.commit()
            return done
    return await asyncio.to_thread(run)
