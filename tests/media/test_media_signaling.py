"""The rtc_* Socket.IO events through Flask-SocketIO's test client, with a stand-in media pool:
who may send them, payload errors, relaying worker events, mutes, attendance modality."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from companion.core.extensions import db
from companion.media.client import MediaWorkerUnavailable
from companion.media.pool import MediaHooks, MemoryRoomStore
from companion.media.protocol import EventKind, Op, PeerState, RoomRequest
from companion.rooms import signaling as media
from companion.rooms.models import AttendanceInterval, Modality
from tests.rooms.test_rooms import Person, _join_admitted, room  # noqa: F401  (fixture)

OFFER = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=recvonly\r\n")
AUDIO_ONLY_OFFER = OFFER.split("m=video")[0]


class FakePool:
    """Answers like a media worker; records what it was asked."""

    def __init__(self) -> None:
        self.store = MemoryRoomStore()
        self.requests: list[tuple[str, Op, dict[str, Any]]] = []
        self.down = False

    def send(self, request: RoomRequest[Any], timeout: float = 10.0) -> dict[str, Any]:
        if self.down:
            raise MediaWorkerUnavailable("no media worker is available")
        fields = {k: v for k, v in request.to_wire().items() if k not in ("op", "room")}
        self.requests.append((request.room, request.op, fields))
        self.store.set_if_absent(request.room, "w1")
        if request.op is Op.OFFER:
            return {"sdp": "v=0\r\nanswer", "type": "answer"}
        if request.op is Op.PROFILE:
            return {"needs_offer": fields["profile"] == "standard"}
        return {}

    def forget(self, room_id: str) -> None:
        self.store.delete(room_id)

    def hooks(self) -> MediaHooks:
        return MediaHooks(self, lambda sid: f"session:{sid}")  # type: ignore[arg-type]

    def ops(self, op: Op) -> list[dict[str, Any]]:
        return [f for _, o, f in self.requests if o == op]


@pytest.fixture
def pool(app, monkeypatch):
    fake = FakePool()
    media.install(app, fake)
    # Database work normally runs on a background greenlet; here it runs at once.
    monkeypatch.setattr(media, "run_later", lambda fn, *args: fn(*args))
    yield fake
    media.uninstall()


def _offer(p: Person, sid: int, **extra: Any) -> Any:
    return p.emit("rtc_offer", session_id=sid, **({"sdp": OFFER, "type": "offer",
                                                    "profile": "standard"} | extra))


def _modalities(session_id: int, user_id: int) -> list[Modality]:
    db.session.expire_all()
    rows = db.session.query(AttendanceInterval).filter_by(
        session_id=session_id, user_id=user_id).order_by(AttendanceInterval.id).all()
    return [r.modality for r in rows]


def test_outsiders_and_waiting_clients_are_refused(room, pool):  # noqa: F811
    sid = room["session"].id
    outsider = room["person"](room["outsider"])
    counselor = _join_admitted(room, room["counselor"])
    waiting = room["person"](room["clients"][0])
    assert waiting.emit("join_session", session_id=sid)["state"] == "waiting"
    for who, error in ((outsider, "forbidden"), (waiting, "not_admitted")):
        ack = _offer(who, sid)
        assert ack["ok"] is False and ack["error"] == error and ack["detail"]
        for event, extra in (("rtc_profile", {"profile": "audio_only"}), ("rtc_leave", {}),
                             ("rtc_config", {})):
            ack = who.emit(event, session_id=sid, **extra)
            assert ack["ok"] is False and ack["error"] == error, (event, ack)
    assert pool.requests == []
    # An admitted person's socket that has not joined the room is refused too.
    other_socket = room["person"](room["counselor"])
    assert _offer(other_socket, sid)["error"] == "not_admitted"
    assert _offer(counselor, sid)["ok"] is True


def test_invalid_payloads_get_clear_errors(room, pool):  # noqa: F811
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    cases = [
        ({"type": "offer", "profile": "standard"}, "sdp"),
        ({"sdp": OFFER, "type": "answer", "profile": "standard"}, "type"),
        ({"sdp": OFFER, "type": "offer", "profile": "hd"}, "profile"),
        ({"sdp": "hello", "type": "offer", "profile": "standard"}, "sdp"),
        ({"sdp": OFFER, "type": "offer", "extra": 1}, "extra"),
    ]
    for payload, field in cases:
        ack = counselor.send("rtc_offer", {"session_id": sid, **payload})
        assert ack["ok"] is False and ack["error"] == "invalid" and ack["field"] == field, ack
        assert ack["detail"]
    assert counselor.send("rtc_offer", "not an object")["field"] == "session_id"
    assert counselor.emit("rtc_profile", session_id=sid, profile="ultra")["field"] == "profile"
    assert counselor.emit("rtc_offer", session_id=999999, sdp=OFFER, type="offer")["error"] \
        == "not_found"
    assert pool.requests == []


def test_no_media_plane_and_worker_down(room, pool):  # noqa: F811
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    pool.down = True
    assert _offer(counselor, sid)["error"] == "media_unavailable"
    media.uninstall()
    assert _offer(counselor, sid)["error"] == "no_media"
    assert counselor.emit("rtc_config", session_id=sid)["error"] == "no_media"


def test_offer_relays_events_and_switches_attendance_modality(room, pool):  # noqa: F811
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    sam = _join_admitted(room, room["clients"][1], counselor)
    alex_id, sam_id = room["clients"][0].id, room["clients"][1].id
    for p in (counselor, alex, sam):
        p.received()

    config = alex.emit("rtc_config", session_id=sid)
    assert config == {"ok": True, "ice_servers": [],
                      "profiles": {"standard": 4, "low_bandwidth": 1, "audio_only": 0}}
    assert _offer(alex, sid) == {"ok": True, "sdp": "v=0\r\nanswer", "type": "answer"}
    assert pool.ops(Op.OFFER)[0] | {"sdp": ""} == {"peer": str(alex_id), "sdp": "",
                                                  "type": "offer", "profile": "standard"}
    assert _offer(sam, sid, sdp=AUDIO_ONLY_OFFER, profile="audio_only")["ok"]
    assert _modalities(sid, alex_id) == [Modality.CHAT]

    room_id = f"session:{sid}"
    media.relay_event({"event": EventKind.PEER_STATE, "room": room_id, "peer": str(alex_id),
                       "state": PeerState.CONNECTED})
    media.relay_event({"event": EventKind.PEER_STATE, "room": room_id, "peer": str(sam_id),
                       "state": PeerState.CONNECTED})
    assert _modalities(sid, alex_id) == [Modality.CHAT, Modality.VIDEO]
    assert _modalities(sid, sam_id) == [Modality.CHAT, Modality.AUDIO]
    links = {p["id"]: p["link"] for p in counselor.received("presence")[-1]["present"]}
    assert links[alex_id] == "video" and links[sam_id] == "audio_only"
    states = [e for e in sam.received("rtc_peer_state") if e["user_id"] == alex_id]
    assert states[-1] == {"name": "rtc_peer_state", "session_id": sid, "user_id": alex_id,
                          "state": "connected"}

    # Slots only to the subscriber's socket; user ids as numbers, null for an empty slot.
    media.relay_event({"event": EventKind.SLOTS, "room": room_id, "peer": str(alex_id),
                       "slots": [{"mid": "2", "user_id": str(sam_id)},
                                 {"mid": "3", "user_id": None}]})
    assert alex.received("rtc_slots") == [{"name": "rtc_slots", "session_id": sid,
                                           "slots": [{"mid": "2", "user_id": sam_id},
                                                     {"mid": "3", "user_id": None}]}]
    assert sam.received("rtc_slots") == [] and counselor.received("rtc_slots") == []

    # Quality to staff and the participant; the active speaker to everyone.
    media.relay_event({"event": EventKind.QUALITY, "room": room_id, "peer": str(alex_id),
                       "profile": "standard", "rtt_ms": 42.0, "loss": 0.01,
                       "send_kbps": 480.0})
    quality = counselor.received("rtc_quality")
    assert quality == [{"name": "rtc_quality", "session_id": sid, "user_id": alex_id,
                        "profile": "standard", "rtt_ms": 42.0, "loss": 0.01,
                        "send_kbps": 480.0}]
    assert len(alex.received("rtc_quality")) == 1 and sam.received("rtc_quality") == []
    media.relay_event({"event": EventKind.ACTIVE_SPEAKER, "room": room_id, "peer": str(sam_id)})
    for p in (counselor, alex, sam):
        assert p.received("rtc_active_speaker") == [
            {"name": "rtc_active_speaker", "session_id": sid, "user_id": sam_id}]

    # Lowering to audio only applies at once; raising needs a new offer.
    assert alex.emit("rtc_profile", session_id=sid, profile="audio_only") == {
        "ok": True, "needs_offer": False}
    assert _modalities(sid, alex_id)[-1] == Modality.AUDIO
    assert alex.emit("rtc_profile", session_id=sid, profile="standard") == {
        "ok": True, "needs_offer": True}

    # "reconnecting" keeps the modality (the group sees reconnecting, not a departure).
    media.relay_event({"event": EventKind.PEER_STATE, "room": room_id, "peer": str(sam_id),
                       "state": PeerState.RECONNECTING})
    assert _modalities(sid, sam_id)[-1] == Modality.AUDIO
    assert alex.received("rtc_peer_state")[-1]["state"] == "reconnecting"

    # Leaving the media: chat again, the room stays.
    assert alex.emit("rtc_leave", session_id=sid) == {"ok": True}
    assert pool.ops(Op.LEAVE) == [{"peer": str(alex_id)}]
    assert _modalities(sid, alex_id)[-1] == Modality.CHAT
    assert alex.emit("chat", session_id=sid, id="m1", text="still here")["ok"]
    # Closed after failure: chat again.
    media.relay_event({"event": EventKind.PEER_STATE, "room": room_id, "peer": str(sam_id),
                       "state": PeerState.CLOSED})
    assert _modalities(sid, sam_id)[-1] == Modality.CHAT


def test_moderation_reaches_the_media_and_mutes_survive_a_new_offer(room, pool):  # noqa: F811
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    alex = _join_admitted(room, room["clients"][0], counselor)
    alex_id = room["clients"][0].id
    assert _offer(alex, sid)["ok"]
    for what in ("audio", "video"):
        assert counselor.emit("mute", session_id=sid, user_id=alex_id, what=what)["ok"]
    assert pool.ops(Op.MUTE) == [
        {"peer": str(alex_id), "what": "audio", "muted": True},
        {"peer": str(alex_id), "what": "video", "muted": True}]
    # A new offer (a reconnect, or a new worker after a move) carries the mutes again.
    pool.requests.clear()
    assert _offer(alex, sid)["ok"]
    assert [(f["what"], f["muted"]) for f in pool.ops(Op.MUTE)] == [("audio", True),
                                                                  ("video", True)]
    assert counselor.emit("unmute", session_id=sid, user_id=alex_id, what="audio")["ok"]
    assert pool.ops(Op.MUTE)[-1]["muted"] is False
    # A removed participant's media stops at once.
    assert counselor.emit("remove", session_id=sid, user_id=alex_id)["ok"]
    assert pool.ops(Op.LEAVE)[-1]["peer"] == str(alex_id)
    assert _offer(alex, sid)["error"] == "removed"


def test_moved_rooms_are_told_to_offer_again(room, pool):  # noqa: F811
    sid = room["session"].id
    counselor = _join_admitted(room, room["counselor"])
    counselor.received()
    media.restart_rooms([f"session:{sid}", "other"])
    assert counselor.received("rtc_restart") == [{"name": "rtc_restart", "session_id": sid}]


def test_sends_video_reads_directions() -> None:
    assert media.sends_video(OFFER)
    assert not media.sends_video(AUDIO_ONLY_OFFER)
    assert not media.sends_video(OFFER.replace("a=sendonly", "a=inactive"))


def test_media_rooms_of_sessions_that_are_over_are_closed(room, pool, world):  # noqa: F811
    """Sessions usually end by the clock, which has no hook: the sweep closes their rooms on
    the worker and forgets the pins, which would otherwise pile up and skew placement."""
    from companion.core import clock

    now = clock.now()
    group = room["group"]
    running = room["session"]
    overran = world.session(group, starts_in=-timedelta(minutes=65), length=timedelta(hours=1))
    long_over = world.session(group, starts_in=-timedelta(hours=3), length=timedelta(hours=1))
    ended_early = world.session(group, starts_in=-timedelta(minutes=30))
    ended_early.ended_at = now
    db.session.commit()
    pins = {running.id, overran.id, long_over.id, ended_early.id, 999_999}
    for session_id in pins:
        pool.store.set_if_absent(media.media_room(session_id), "w1")
    pool.store.set_if_absent("bench:other", "w1")  # not a session's room: left alone

    closed = media.close_ended_rooms()

    assert closed == sorted([long_over.id, ended_early.id, 999_999])
    assert sorted(r for r, op, _ in pool.requests if op is Op.CLOSE_ROOM) == sorted(
        media.media_room(s) for s in closed)
    assert {room_id for room_id, _ in pool.store.items()} == {
        media.media_room(running.id), media.media_room(overran.id), "bench:other"}
    # Ten minutes after its end the session that ran over goes too; nothing is asked twice.
    clock.advance(media.ROOM_CLOSES_AFTER_END)
    assert media.close_ended_rooms() == [overran.id]
    assert len([1 for _, op, _ in pool.requests if op is Op.CLOSE_ROOM]) == 4
