"""The channel's wire protocol (companion/media/protocol.py): every op survives the trip through
JSON, malformed requests are refused with a message that says what is wrong, and the worker
has a handler for every op and answers ping with what PingAnswer names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from companion.media import PROFILES
from companion.media.protocol import (
    CloseRoomRequest,
    EventKind,
    LeaveRequest,
    MalformedRequest,
    MediaKind,
    MuteRequest,
    OfferRequest,
    Op,
    PingAnswer,
    PingRequest,
    Profile,
    ProfileRequest,
    RequestError,
    decode_request,
)
from tests.media_helpers import run_async

OFFER_SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

ONE_OF_EACH = [
    PingRequest(),
    OfferRequest("session:12", "7", OFFER_SDP, Profile.LOW_BANDWIDTH),
    LeaveRequest("session:12", "7"),
    MuteRequest("session:12", "7", MediaKind.VIDEO, True),
    ProfileRequest("session:12", "7", Profile.AUDIO_ONLY),
    CloseRoomRequest("session:12"),
]


def test_the_samples_cover_every_op() -> None:
    assert {request.op for request in ONE_OF_EACH} == set(Op)


@pytest.mark.parametrize("request_", ONE_OF_EACH, ids=lambda r: r.op.value)
def test_each_op_round_trips_through_json(request_: Any) -> None:
    wire = json.loads(json.dumps(request_.to_wire()))
    assert wire["op"] == request_.op.value
    decoded = decode_request(wire)
    assert decoded == request_ and type(decoded) is type(request_)


def test_the_wire_format_is_the_documented_one() -> None:
    """docs/media.md's table: an offer carries ``type: offer``; enums go as their strings."""
    offer = OfferRequest("session:1", "2", OFFER_SDP).to_wire()
    assert json.loads(json.dumps(offer)) == {"op": "offer", "room": "session:1", "peer": "2",
                                             "sdp": OFFER_SDP, "profile": "standard",
                                             "type": "offer"}
    mute = MuteRequest("session:1", "2", MediaKind.AUDIO, False).to_wire()
    assert json.loads(json.dumps(mute)) == {"op": "mute", "room": "session:1", "peer": "2",
                                            "what": "audio", "muted": False}
    assert PingRequest().to_wire() == {"op": "ping"}


def test_lenient_where_the_protocol_says_so() -> None:
    # user ids as numbers become strings; offer's type and profile have defaults
    assert decode_request({"op": "leave", "room": "r", "peer": 7}) == LeaveRequest("r", "7")
    assert decode_request({"op": "offer", "room": "r", "peer": "1", "sdp": OFFER_SDP}) == \
        OfferRequest("r", "1", OFFER_SDP, Profile.STANDARD)
    # fields the protocol does not know (the client's id, say) are ignored
    assert decode_request({"id": 4, "op": "close_room", "room": "r", "x": 1}) == \
        CloseRoomRequest("r")


@pytest.mark.parametrize(("message", "error"), [
    ({}, "unknown op None"),
    ({"op": "explode"}, "unknown op 'explode'"),
    ({"op": ["ping"]}, "unknown op"),
    ({"op": "close_room"}, "room must be a non-empty string"),
    ({"op": "close_room", "room": ""}, "room must be a non-empty string"),
    ({"op": "leave", "room": 12, "peer": "1"}, "room must be a non-empty string"),
    ({"op": "leave", "room": "r"}, "peer must be a non-empty string"),
    ({"op": "leave", "room": "r", "peer": True}, "peer must be a non-empty string"),
    ({"op": "leave", "room": "r", "peer": ""}, "peer must be a non-empty string"),
    ({"op": "offer", "room": "r", "peer": "1", "sdp": "nonsense"},
     "offer needs an SDP offer (type 'offer')"),
    ({"op": "offer", "room": "r", "peer": "1"}, "offer needs an SDP offer"),
    ({"op": "offer", "room": "r", "peer": "1", "sdp": OFFER_SDP, "type": "answer"},
     "offer needs an SDP offer"),
    ({"op": "offer", "room": "r", "peer": "1", "sdp": OFFER_SDP, "profile": "hd"},
     "profile must be standard, low_bandwidth or audio_only"),
    ({"op": "offer", "room": "r", "peer": "1", "sdp": OFFER_SDP + "a" * 200_000},
     "offer too large"),
    ({"op": "mute", "room": "r", "peer": "1", "what": "screen", "muted": True},
     "mute needs what (audio|video) and muted (bool)"),
    ({"op": "mute", "room": "r", "peer": "1", "what": "audio", "muted": "yes"},
     "mute needs what (audio|video) and muted (bool)"),
    ({"op": "profile", "room": "r", "peer": "1"},
     "profile must be standard, low_bandwidth or audio_only"),
])
def test_malformed_requests_say_what_is_wrong(message: dict[str, Any], error: str) -> None:
    with pytest.raises(MalformedRequest) as refused:
        decode_request(message)
    assert str(refused.value).startswith(error)
    assert isinstance(refused.value, RequestError)  # the channel answers it as a refusal


def test_profiles_and_event_kinds_have_one_spelling() -> None:
    assert set(PROFILES) == set(Profile)
    assert {kind.value for kind in EventKind} == {"peer_state", "active_speaker", "slots",
                                                   "quality"}


def test_the_worker_has_a_handler_for_every_op_and_answers_ping_as_typed() -> None:
    from companion.media.config import MediaConfig
    from companion.media.worker import HANDLERS, MediaWorker

    assert set(HANDLERS) == set(Op)

    async def ask() -> tuple[Any, str]:
        # 127.0.0.1 only, as the test helpers' client peers in this process use
        worker = MediaWorker(MediaConfig(host_addresses=["127.0.0.1"]))
        answer = await worker.handle(None, {"op": "ping"})
        try:
            await worker.handle(None, {"op": "leave", "room": "session:1", "peer": "1"})
        except RequestError as error:
            return answer, str(error)
        return answer, ""

    answer, refused = run_async(ask(), timeout=30)
    assert set(answer) == set(PingAnswer.__annotations__)
    assert answer["rooms"] == 0 and answer["codecs"]["Vp8Encoder"] >= 0
    assert refused == "no such room"
