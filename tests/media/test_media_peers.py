"""The media worker with real aiortc client peers over loopback: mix-minus audio (FFT), server
mute, forwarded video with no video codec in the worker, profiles, mDNS candidates, channel."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from companion.media.client import MediaClient, MediaWorkerError, MediaWorkerUnavailable
from companion.media.protocol import (
    CloseRoomRequest,
    EventKind,
    MediaKind,
    MuteRequest,
    OfferRequest,
    PeerState,
    Profile,
    ProfileRequest,
    Request,
)
from tests.media_helpers import (
    ClientPeer,
    WorkerProcess,
    run_async,
    settles,
    spectrum_peaks,
    wait_for,
    worker_process,
)

TONES = [440.0, 620.0, 850.0]
PHONE_TONE = 1000.0  # a phone caller's, within the telephone band


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerProcess]:
    with worker_process() as w:
        yield w


@pytest.fixture
def client(worker: WorkerProcess) -> Iterator[MediaClient]:
    events: list[dict[str, Any]] = []
    c = MediaClient(worker.host, worker.port, on_event=events.append, secret=worker.secret)
    c.events = events  # type: ignore[attr-defined]
    yield c
    c.close()


def run(coro: Any, timeout: float = 60) -> Any:
    return run_async(coro, timeout)


def hears(peer: ClientPeer) -> dict[float, float]:
    return spectrum_peaks(peer.recent_audio(50), [*TONES, PHONE_TONE])


def _mix_is(peaks: dict[float, float], present: list[float], absent: list[float]) -> bool:
    weakest = min(peaks[f] for f in present)
    return weakest > 40 and all(peaks[f] < weakest - 30 for f in absent)


async def assert_mix(peer: ClientPeer, present: list[float], absent: list[float]) -> None:
    """The last second ``peer`` heard holds the ``present`` tones and none of the ``absent``
    ones (30 dB below the weakest present). A frame lost on a busy test machine is concealed
    by the decoder with a smear of every frequency, so a few later windows get a chance too: a
    tone that is really mixed in is there in every window."""
    for _ in range(6):
        peaks = hears(peer)
        if _mix_is(peaks, present, absent):
            return
        await asyncio.sleep(0.3)
    raise AssertionError((peer.name, present, absent, peaks))


@pytest.mark.slow
def test_mix_minus_and_server_mute(client: MediaClient) -> None:
    async def scenario() -> None:
        peers = [ClientPeer(f"u{i}", freq=f) for i, f in enumerate(TONES)]
        try:
            for p in peers:
                await p.join(client, "session:mix")
            assert await wait_for(lambda: all(p.audio_frames > 100 for p in peers), 15)
            for i, p in enumerate(peers):
                others = [f for j, f in enumerate(TONES) if j != i]
                await assert_mix(p, others, [TONES[i]])

            await asyncio.to_thread(client.send,
                                    MuteRequest("session:mix", "u0", MediaKind.AUDIO, True))
            start = [p.audio_frames for p in peers]
            assert await wait_for(lambda: all(p.audio_frames > s + 60
                                              for p, s in zip(peers, start, strict=True)), 10)
            await assert_mix(peers[1], [TONES[2]], [TONES[0], TONES[1]])
            await assert_mix(peers[2], [TONES[1]], [TONES[0], TONES[2]])
            # The muted one still hears the others.
            await assert_mix(peers[0], [TONES[1], TONES[2]], [TONES[0]])
        finally:
            for p in peers:
                await p.close()
            await asyncio.to_thread(client.send, CloseRoomRequest("session:mix"))

    run(scenario())
    states = [(e["peer"], e["state"]) for e in client.events  # type: ignore[attr-defined]
              if e["event"] == EventKind.PEER_STATE]
    assert ("u0", PeerState.CONNECTED) in states and ("u0", PeerState.CLOSED) in states
    assert any(e["event"] == EventKind.ACTIVE_SPEAKER
               for e in client.events)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_phone_caller_is_mixed_in_g711_by_the_worker(client: MediaClient) -> None:
    """A phone caller's leg (the dial-in line's, Profile.PHONE) speaks G.711: the worker
    decodes it into the mix and encodes the caller's mix-minus in it (docs/dial-in.md)."""
    async def scenario() -> None:
        caller = ClientPeer("caller", freq=PHONE_TONE, codec="audio/pcmu")
        others = [ClientPeer(f"u{i}", freq=f) for i, f in enumerate(TONES[:2])]
        try:
            answer = await caller.join(client, "session:phone", Profile.PHONE)
            media = next(x for x in answer["sdp"].splitlines() if x.startswith("m=audio"))
            assert media.split()[3:] == ["0"]  # PCMU only
            for p in others:
                await p.join(client, "session:phone")
            assert await wait_for(lambda: all(p.audio_frames > 100
                                              for p in [caller, *others]), 15)
            await assert_mix(caller, TONES[:2], [PHONE_TONE])  # the room, not their own voice
            await assert_mix(others[0], [PHONE_TONE, TONES[1]], [TONES[0]])
            await asyncio.to_thread(client.send,
                                    MuteRequest("session:phone", "caller", MediaKind.AUDIO, True))
            await asyncio.sleep(1.5)
            await assert_mix(others[0], [TONES[1]], [PHONE_TONE, TONES[0]])
        finally:
            for p in [caller, *others]:
                await p.close()
            await asyncio.to_thread(client.send, CloseRoomRequest("session:phone"))

    run(scenario())


def test_a_phone_profile_without_g711_is_refused(client: MediaClient) -> None:
    async def scenario() -> None:
        opus_only = ClientPeer("caller", freq=PHONE_TONE, codec="audio/opus")
        try:
            with pytest.raises(MediaWorkerError, match="the offer has no G.711 audio"):
                await opus_only.join(client, "session:phone-refused", Profile.PHONE)
        finally:
            await opus_only.close()

    run(scenario())


def test_video_forwarded_without_codecs_and_profiles(client: MediaClient) -> None:
    room = "session:video"

    async def scenario() -> None:
        pub = ClientPeer("pub", freq=440, video_index=0, slots=4)
        sub = ClientPeer("sub", freq=620, slots=4)
        late = ClientPeer("late", freq=850, slots=1)
        try:
            await pub.join(client, room)
            await sub.join(client, room)

            def got(peer: ClientPeer, n: int) -> bool:
                return sum(1 for v in peer.video.values() for c, _ in v if c == 0) >= n

            assert await wait_for(lambda: got(sub, 20), 15), sub.video
            await asyncio.sleep(1.0)
            # joins later: receives only after the server asked the publisher for a keyframe
            await late.join(client, room, profile=Profile.LOW_BANDWIDTH)
            assert await wait_for(lambda: got(late, 10), 10), late.video
            for peer in (sub, late):
                frames = [f for v in peer.video.values() for f in v]
                assert {c for c, _ in frames} == {0}  # the publisher's colour marker
                counts = [n for _, n in frames]
                assert counts[-1] != counts[0]  # frame counters advance
            ping = await asyncio.to_thread(client.ping)
            codecs = ping["codecs"]
            assert codecs["Vp8Encoder"] == 0 and codecs["Vp8Decoder"] == 0, codecs
            assert codecs["H264Encoder"] == 0 and codecs["H264Decoder"] == 0, codecs

            slots = [e for e in client.events  # type: ignore[attr-defined]
                     if e["event"] == EventKind.SLOTS and e["peer"] == "sub"]
            assert slots[-1]["slots"][0]["user_id"] == "pub"
            assert slots[-1]["slots"][0]["mid"] in sub.video

            # profile: audio_only stops video at once while audio goes on
            answer = await asyncio.to_thread(
                client.send, ProfileRequest(room, "sub", Profile.AUDIO_ONLY))
            assert answer == {"needs_offer": False}

            def sub_video() -> int:
                return sum(len(v) for v in sub.video.values())

            assert await settles(sub_video), "video kept coming after audio_only"
            v0, a0 = sub_video(), sub.audio_frames
            await asyncio.sleep(1.5)
            assert sub_video() == v0
            assert sub.audio_frames > a0 + 40
            raised = await asyncio.to_thread(
                client.send, ProfileRequest(room, "late", Profile.STANDARD))
            assert raised == {"needs_offer": True}  # 1 slot offered: more needs a new offer

            # mute video: the publisher's video is no longer forwarded to anyone
            await asyncio.to_thread(client.send,
                                    MuteRequest(room, "pub", MediaKind.VIDEO, True))

            def late_video() -> int:
                return sum(len(v) for v in late.video.values())

            assert await settles(late_video), "video kept coming after the mute"
            n0 = late_video()
            await asyncio.sleep(1.5)
            assert late_video() == n0
            assert late.audio_frames > 0
        finally:
            for p in (pub, sub, late):
                await p.close()
            await asyncio.to_thread(client.send, CloseRoomRequest(room))

    run(scenario())


def test_mdns_candidates_and_replacing_offer(client: MediaClient) -> None:
    room = "session:mdns"

    async def scenario() -> None:
        peer = ClientPeer("m", freq=440)
        other = ClientPeer("o", freq=620)
        try:
            await other.join(client, room)
            desc = await peer.offer()
            # hide the host address behind an mDNS name, as browsers do
            sdp = desc.sdp.replace(" 127.0.0.1 ", " 6f1c7b8e-2a4b-4c3d-9e8f-0a1b2c3d4e5f.local ")
            assert ".local" in sdp
            answer = await asyncio.to_thread(
                client.send, OfferRequest(room, "m", sdp, Profile.AUDIO_ONLY), 20)
            assert answer["type"] == "answer" and "a=candidate:" in answer["sdp"]
            assert "127.0.0.1" in answer["sdp"]
            from aiortc import RTCSessionDescription

            assert peer.pc is not None
            await peer.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
            assert await wait_for(lambda: peer.audio_frames > 25, 10)

            # a new offer from the same peer replaces its connection
            again = ClientPeer("m", freq=440)
            await again.join(client, room, profile=Profile.AUDIO_ONLY)
            assert await wait_for(lambda: again.audio_frames > 25, 10)
            await again.close()
        finally:
            await peer.close()
            await other.close()
            await asyncio.to_thread(client.send, CloseRoomRequest(room))

    run(scenario())
    states = [e["state"] for e in client.events  # type: ignore[attr-defined]
              if e["event"] == EventKind.PEER_STATE and e["peer"] == "m"]
    assert states[:2] == [PeerState.CONNECTING, PeerState.CONNECTED]
    assert PeerState.RECONNECTING in states


@dataclass(frozen=True)
class RawRequest(Request[dict[str, Any]]):
    """Whatever a test wants on the wire, sent through the real client."""

    wire: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return dict(self.wire)


def test_channel_errors(client: MediaClient, worker: WorkerProcess) -> None:
    assert client.ping()["pid"] == worker.proc.pid
    with pytest.raises(MediaWorkerError, match="unknown op"):
        client.send(RawRequest({"op": "explode"}))
    with pytest.raises(MediaWorkerError, match="SDP offer"):
        client.send(RawRequest({"op": "offer", "room": "session:x", "peer": "1",
                                "sdp": "nonsense", "type": "offer"}))
    with pytest.raises(MediaWorkerError, match="no such room"):
        client.send(MuteRequest("session:nope", "1", MediaKind.AUDIO, True))
    assert client.ping()["rooms"] == 0  # nothing refused left a room behind
    with pytest.raises(MediaWorkerUnavailable):
        MediaClient("127.0.0.1", 9, connect_timeout=0.5, secret=worker.secret).ping()


def test_client_under_gevent(worker: WorkerProcess) -> None:
    code = ("from gevent import monkey; monkey.patch_all()\n"
            "from companion.media.client import MediaClient\n"
            f"c = MediaClient('127.0.0.1', {worker.port}, secret={worker.secret!r})\n"
            "print(c.ping()['rooms'] >= 0); c.close()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr


def test_a_configured_secret_is_the_one_required() -> None:
    configured = "configured-channel-secret-0123456789abcdef"
    with worker_process({"COMPANION_MEDIA_SECRET": configured}) as w:
        assert w.secret == configured
        with pytest.raises(MediaWorkerUnavailable):
            MediaClient(w.host, w.port, secret="another-secret-" * 3, reconnect=False).ping()
        good = MediaClient(w.host, w.port, secret=configured)
        assert good.ping()["rooms"] == 0
        good.close()
