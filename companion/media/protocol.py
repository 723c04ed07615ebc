"""The wire protocol between the web process's ``MediaClient`` and a media worker (docs/media.md).

After the handshake (handshake.py) each side writes one JSON object per line:

* requests ``{"id", "op", ...}`` from the client: one dataclass per :class:`Op` below, written
  with :meth:`Request.to_wire` and read back by the worker with :func:`decode_request`, which
  refuses (:class:`MalformedRequest`) what the protocol does not allow;
* answers ``{"id", "ok": true, ...}`` (the TypedDict each request class names) or
  ``{"id", "ok": false, "error"}``;
* events ``{"event", "room", "peer", ...}`` the worker sends unasked (:class:`EventKind`).

The client and the worker both import this module, so an op, an event or a peer state has one
spelling. No aiortc here: the web process imports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Generic, Literal, NotRequired, TypedDict, TypeVar

MAX_SDP_CHARS = 200_000


class Op(StrEnum):
    """What a request asks the worker to do."""

    OFFER = "offer"
    LEAVE = "leave"
    MUTE = "mute"
    PROFILE = "profile"
    CLOSE_ROOM = "close_room"
    PING = "ping"


class EventKind(StrEnum):
    """What an event the worker sends unasked reports."""

    PEER_STATE = "peer_state"
    ACTIVE_SPEAKER = "active_speaker"
    SLOTS = "slots"
    QUALITY = "quality"


class PeerState(StrEnum):
    """A peer's media connection, as ``peer_state`` events report it."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # a new offer replaced a live connection
    FAILED = "failed"
    CLOSED = "closed"  # left, or its room closed: the peer is gone from the worker


class Profile(StrEnum):
    """What a client wants forwarded to it (the slot counts are ``PROFILES``)."""

    STANDARD = "standard"
    LOW_BANDWIDTH = "low_bandwidth"
    AUDIO_ONLY = "audio_only"
    # A phone caller relayed by the dial-in line: G.711 audio (decoded and encoded by the
    # worker, companion/media/g711.py), no video.
    PHONE = "phone"


class MediaKind(StrEnum):
    """What a mute applies to."""

    AUDIO = "audio"
    VIDEO = "video"


class RequestError(Exception):
    """A request the worker refuses; the message goes back as ``error``."""


class MalformedRequest(RequestError):
    """A request that does not say what the protocol asks of it."""


# --- answers --------------------------------------------------------------------------------


class EmptyAnswer(TypedDict):
    pass


class OfferAnswer(TypedDict):
    sdp: str
    type: Literal["answer"]


class ProfileAnswer(TypedDict):
    needs_offer: bool  # the new profile wants more than the connection has: offer again


class PingAnswer(TypedDict):
    rooms: int
    peers: int
    cpu: float  # share of one core over the last 5 s
    cpu_s: float
    uptime_s: float
    pid: int
    codecs: dict[str, int]  # aiortc codec instances ever built (video ones must stay at 0)
    # for the benchmarks: how long decoded audio waits to be mixed, and the mixer's ticks
    audio_wait_ms_sum: float
    audio_wait_count: int
    tick_ms_sum: float
    tick_count: int
    audio_underruns: int
    opus_encodes: int
    ticks_late_100ms: int
    tick_lag_max_ms: float
    peer_failures: int


AnswerT = TypeVar("AnswerT")
EnumT = TypeVar("EnumT", bound=StrEnum)


def member_of(kind: type[EnumT], value: object) -> EnumT | None:
    """The member of ``kind`` that ``value`` spells on the wire, or None."""
    if not isinstance(value, str):
        return None
    try:
        return kind(value)
    except ValueError:
        return None


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request(Generic[AnswerT]):
    """A request; ``AnswerT`` is what the worker answers it with."""

    op: ClassVar[Op]

    def to_wire(self) -> dict[str, Any]:
        """The request as the JSON object the client writes (without ``id``)."""
        return {"op": self.op.value, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class PingRequest(Request[PingAnswer]):
    op: ClassVar[Op] = Op.PING


@dataclass(frozen=True)
class RoomRequest(Request[AnswerT]):
    """A request about one room (``"session:12"``): routed to the worker holding it."""

    room: str


@dataclass(frozen=True)
class CloseRoomRequest(RoomRequest[EmptyAnswer]):
    op: ClassVar[Op] = Op.CLOSE_ROOM


@dataclass(frozen=True)
class PeerRequest(RoomRequest[AnswerT]):
    """A request about one peer of a room (a user id as a string)."""

    peer: str


@dataclass(frozen=True)
class OfferRequest(PeerRequest[OfferAnswer]):
    op: ClassVar[Op] = Op.OFFER
    sdp: str
    profile: Profile = Profile.STANDARD

    def to_wire(self) -> dict[str, Any]:
        return {**super().to_wire(), "type": "offer"}


@dataclass(frozen=True)
class LeaveRequest(PeerRequest[EmptyAnswer]):
    op: ClassVar[Op] = Op.LEAVE


@dataclass(frozen=True)
class MuteRequest(PeerRequest[EmptyAnswer]):
    op: ClassVar[Op] = Op.MUTE
    what: MediaKind
    muted: bool


@dataclass(frozen=True)
class ProfileRequest(PeerRequest[ProfileAnswer]):
    op: ClassVar[Op] = Op.PROFILE
    profile: Profile


AnyRequest = (PingRequest | CloseRoomRequest | OfferRequest | LeaveRequest | MuteRequest
              | ProfileRequest)


def decode_request(message: Mapping[str, Any]) -> AnyRequest:
    """The typed request a wire object holds; :class:`MalformedRequest` says what is wrong.
    Fields the protocol does not know are ignored."""
    op = member_of(Op, message.get("op"))
    if op is None:
        raise MalformedRequest(f"unknown op {message.get('op')!r}")
    return _DECODERS[op](message)


def _room(message: Mapping[str, Any]) -> str:
    room = message.get("room")
    if not isinstance(room, str) or not room:
        raise MalformedRequest("room must be a non-empty string")
    return room


def _peer(message: Mapping[str, Any]) -> str:
    peer = message.get("peer")
    if isinstance(peer, int) and not isinstance(peer, bool):
        peer = str(peer)  # user ids as numbers are accepted
    if not isinstance(peer, str) or not peer:
        raise MalformedRequest("peer must be a non-empty string")
    return peer


def _profile(value: Any) -> Profile:
    profile = member_of(Profile, value)
    if profile is None:
        raise MalformedRequest("profile must be standard, low_bandwidth or audio_only")
    return profile


def _offer(message: Mapping[str, Any]) -> OfferRequest:
    room, peer = _room(message), _peer(message)
    sdp = message.get("sdp")
    if message.get("type", "offer") != "offer" or not isinstance(sdp, str) \
            or not sdp.startswith("v=0"):
        raise MalformedRequest("offer needs an SDP offer (type 'offer')")
    profile = _profile(message.get("profile", Profile.STANDARD))
    if len(sdp) > MAX_SDP_CHARS:
        raise MalformedRequest("offer too large")
    return OfferRequest(room, peer, sdp, profile)


def _mute(message: Mapping[str, Any]) -> MuteRequest:
    room, peer = _room(message), _peer(message)
    what, muted = member_of(MediaKind, message.get("what")), message.get("muted")
    if what is None or not isinstance(muted, bool):
        raise MalformedRequest("mute needs what (audio|video) and muted (bool)")
    return MuteRequest(room, peer, what, muted)


_DECODERS: dict[Op, Callable[[Mapping[str, Any]], AnyRequest]] = {
    Op.PING: lambda message: PingRequest(),
    Op.CLOSE_ROOM: lambda message: CloseRoomRequest(_room(message)),
    Op.OFFER: _offer,
    Op.LEAVE: lambda message: LeaveRequest(_room(message), _peer(message)),
    Op.MUTE: _mute,
    Op.PROFILE: lambda message: ProfileRequest(_room(message), _peer(message),
                                               _profile(message.get("profile"))),
}


# --- events ---------------------------------------------------------------------------------


class PeerStateEvent(TypedDict):
    event: Literal[EventKind.PEER_STATE]
    room: str
    peer: str
    state: PeerState


class ActiveSpeakerEvent(TypedDict):
    event: Literal[EventKind.ACTIVE_SPEAKER]
    room: str
    peer: str  # the new speaker


class SlotEntry(TypedDict):
    mid: str
    user_id: str | None  # None: an empty slot


class SlotsEvent(TypedDict):
    event: Literal[EventKind.SLOTS]
    room: str
    peer: str  # the subscriber
    slots: list[SlotEntry]  # active speaker first


class QualityEvent(TypedDict):
    event: Literal[EventKind.QUALITY]
    room: str
    peer: str
    profile: Profile
    # only when aiortc's getStats has them
    rtt_ms: NotRequired[float]
    loss: NotRequired[float]  # fraction of the audio received
    send_kbps: NotRequired[float]


Event = PeerStateEvent | ActiveSpeakerEvent | SlotsEvent | QualityEvent
