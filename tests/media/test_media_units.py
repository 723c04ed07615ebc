"""Media plane pieces without WebRTC: mixing, speaker detection, slots, SDP, config, pool."""

from __future__ import annotations

import numpy as np
import pytest

from companion.media.config import MediaConfig, MediaConfigError, parse_ice_servers
from companion.media.forward import (
    EncodedTrack,
    PassThroughJitterBuffer,
    VideoSlot,
    assign_slots,
    choose_slot_sources,
    vp8_is_keyframe,
)
from companion.media.mixer import (
    FRAME_SAMPLES,
    NoiseGate,
    PlayoutBuffer,
    SpeakerDetector,
    level_dbov,
    mix_minus,
    plan_mixes,
)
from companion.media.opus import OpusDecoder, OpusEncoder
from companion.media.pool import MediaPool, MemoryRoomStore, parse_addresses
from tests.media_helpers import run_async


def tone(freq: float, amp: int = 3000) -> np.ndarray:
    t = np.arange(FRAME_SAMPLES) / 48000
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_mix_minus_leaves_out_own_and_muted() -> None:
    a, b, c = tone(440), tone(620), tone(850)
    mixes = mix_minus({"a": a, "b": b, "c": c}, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(mixes["a"], b.astype(np.int32) + c)
    np.testing.assert_array_equal(mixes["b"], a.astype(np.int32) + c)
    np.testing.assert_array_equal(mixes["d"], a.astype(np.int32) + b + c)
    # a muted participant is simply not among the frames mixed
    mixes = mix_minus({"b": b, "c": c}, ["a", "b", "c"])
    np.testing.assert_array_equal(mixes["a"], b.astype(np.int32) + c)
    np.testing.assert_array_equal(mixes["b"], c)
    assert not mix_minus({"a": a}, ["a"])["a"].any()
    assert not mix_minus({}, ["a"])["a"].any()


def test_mix_clips_instead_of_wrapping() -> None:
    loud = np.full(FRAME_SAMPLES, 30000, dtype=np.int16)
    mixes = mix_minus({"a": loud, "b": loud, "c": loud}, ["c"])
    assert mixes["c"].dtype == np.int16 and int(mixes["c"].min()) == 32767


def test_plan_mixes_shares_one_mix_among_those_not_talking() -> None:
    a, b, c = tone(440), tone(620), tone(850)
    listeners = ["a", "b", "c", "d", "e"]
    # a and b talk; c is muted or gated (no frame); d and e only listen
    plan = plan_mixes({"a": a, "b": b}, listeners)
    assert sorted(plan.own) == ["a", "b"] and plan.sharing == ["c", "d", "e"]
    np.testing.assert_array_equal(plan.own["a"], b)  # never themselves
    np.testing.assert_array_equal(plan.own["b"], a)
    np.testing.assert_array_equal(plan.shared, a.astype(np.int32) + b)
    # the same mixes as mix_minus gives every listener separately
    reference = mix_minus({"a": a, "b": b, "c": c}, listeners)
    plan = plan_mixes({"a": a, "b": b, "c": c}, listeners)
    for uid in listeners:
        mine = plan.own.get(uid, plan.shared if uid in plan.sharing else None)
        assert mine is not None
        np.testing.assert_array_equal(mine, reference[uid])
    # a lone talker hears silence; nobody talking: everyone shares silence
    plan = plan_mixes({"a": a}, ["a", "b"])
    assert not plan.own["a"].any() and plan.sharing == ["b"]
    np.testing.assert_array_equal(plan.shared, a)
    plan = plan_mixes({}, ["a", "b"])
    assert plan.own == {} and plan.sharing == ["a", "b"] and not plan.shared.any()
    loud = np.full(FRAME_SAMPLES, 30000, dtype=np.int16)
    assert int(plan_mixes({"a": loud, "b": loud}, ["c"]).shared.min()) == 32767  # clipped


def test_noise_gate_opens_on_speech_and_holds_over_pauses() -> None:
    gate = NoiseGate(threshold_db=-60.0, hangover=3)
    quiet = level_dbov(tone(440, amp=10))  # about -70 dBov: background
    assert quiet < -60 and level_dbov(tone(440)) > -30
    assert not gate.update(quiet)
    assert gate.update(level_dbov(tone(440)))
    assert [gate.update(quiet) for _ in range(4)] == [True, True, True, False]
    assert gate.update(-20.0)
    gate.close()  # muted
    assert not gate.update(quiet)


def test_opus_codec_round_trip() -> None:
    enc, dec = OpusEncoder(32000, 4), OpusDecoder()
    t = np.arange(FRAME_SAMPLES * 10) / 48000
    pcm = (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    out = []
    for i in range(10):
        packet = enc.encode(pcm[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES])
        assert packet is not None and 0 < len(packet) < 400
        decoded = dec.decode(packet)
        assert decoded is not None and decoded.shape == (FRAME_SAMPLES,)
        out.append(decoded)
    got = np.concatenate(out[3:]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(got))
    peak_hz = np.fft.rfftfreq(len(got), 1 / 48000)[int(spectrum.argmax())]
    assert abs(peak_hz - 440) < 10
    assert dec.decode(b"") is None


def test_playout_buffer_adapts_and_bounds_delay() -> None:
    buf = PlayoutBuffer()
    assert buf.pop() is None
    buf.push(tone(440))
    assert buf.pop() is not None
    assert buf.pop() is None  # underrun
    assert buf.target == 2 and buf.underruns == 1
    buf.push(tone(440))
    assert buf.pop() is None  # rebuffering to 2 frames
    buf.push(tone(440))
    assert buf.pop() is not None
    for _ in range(20):
        buf.push(tone(440))
    assert len(buf.frames) <= buf.target + buf.slack


def test_speaker_detection_has_hysteresis() -> None:
    det = SpeakerDetector(hold_ticks=5)
    assert det.update({"a": -20.0, "b": -127.0}) == "a"
    # b slightly louder than a: no switch (margin)
    for _ in range(20):
        assert det.update({"a": -20.0, "b": -18.0}) is None
    # b clearly louder, but must hold for 5 ticks
    changes = [det.update({"a": -40.0, "b": -10.0}) for _ in range(10)]
    assert changes.count("b") == 1 and changes.index("b") >= 3
    assert det.recent == ["b", "a"]
    # silence keeps the last speaker
    for _ in range(50):
        assert det.update({}) is None
    assert det.active == "b"
    det.remove("b")
    assert det.active is None and det.recent == ["a"]


def test_slot_choice_and_stable_placement() -> None:
    pubs = ["a", "b", "c", "d", "e"]
    assert choose_slot_sources("a", 2, "c", ["c", "e", "a"], pubs) == ["c", "e"]
    assert choose_slot_sources("c", 2, "c", ["c", "e"], pubs) == ["e", "a"]
    assert choose_slot_sources("a", 0, "c", [], pubs) == []
    assert choose_slot_sources("a", 4, "x", [], ["a"]) == []  # nobody else publishes
    assert assign_slots(["b", "c", None], ["c", "d"]) == ["d", "c", None]
    assert assign_slots([None, None], ["a"]) == ["a", None]


def test_video_slot_waits_for_keyframe_and_keeps_timestamps_rising() -> None:
    track = EncodedTrack("video", maxlen=8)
    slot = VideoSlot("2", track)
    slot.set_source("a")
    key, delta = b"\x10rest", b"\x11rest"
    assert vp8_is_keyframe(key) and not vp8_is_keyframe(delta)
    slot.forward(delta, 1000, False)
    assert not track._frames  # waits for a keyframe
    slot.forward(key, 1000, True)
    slot.forward(delta, 7000, False)
    t1, t2 = (f.timestamp for f in track._frames)
    assert t2 - t1 == 6000
    slot.set_source("b")  # another publisher with unrelated timestamps
    slot.forward(key, 5, True)
    assert track._frames[-1].timestamp > t2


def test_passthrough_jitter_buffer_drops_late_packets() -> None:
    class P:
        def __init__(self, seq: int) -> None:
            self.sequence_number, self.timestamp, self._data = seq, seq * 960, b"x"

    jb = PassThroughJitterBuffer()
    assert jb.add(P(65535))[1] is not None
    assert jb.add(P(0))[1] is not None  # wraps
    assert jb.add(P(65534))[1] is None  # late
    assert jb.add(P(0))[1] is None  # duplicate
    assert jb.add(P(3))[1] is not None  # a gap is handed on


def test_mdns_candidates_are_dropped_with_end_of_candidates() -> None:
    from companion.media.offers import drop_mdns_candidates

    sdp = "\r\n".join([
        "v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=candidate:1 1 udp 2122260223 0b1c2d3e-aaaa-bbbb-cccc-0123456789ab.local 54321 typ host",
        "a=candidate:2 1 udp 1686052607 203.0.113.7 54321 typ srflx raddr 0.0.0.0 rport 0",
        "a=end-of-candidates", ""])
    out, dropped = drop_mdns_candidates(sdp)
    assert dropped == 1
    assert ".local" not in out and "203.0.113.7" in out and "end-of-candidates" not in out
    same, none = drop_mdns_candidates("v=0\r\na=end-of-candidates\r\n")
    assert none == 0 and "end-of-candidates" in same


def test_config_from_env() -> None:
    cfg = MediaConfig.from_env({
        "COMPANION_ICE_SERVERS": '[{"urls": "turns:turn.example.org:443?transport=tcp",'
                                 ' "username": "u", "credential": "p"}]',
        "COMPANION_MEDIA_HOST_ADDRESSES": "198.51.100.4, 127.0.0.1",
    })
    assert cfg.ice_servers == [{"urls": ["turns:turn.example.org:443?transport=tcp"],
                                "username": "u", "credential": "p"}]
    assert cfg.host_addresses == ["198.51.100.4", "127.0.0.1"]
    assert MediaConfig.from_env({}).ice_servers == []  # no outside STUN by default
    with pytest.raises(MediaConfigError):
        parse_ice_servers('[{"urls": "http://example.org"}]')
    with pytest.raises(MediaConfigError):
        MediaConfig.from_env({"COMPANION_MEDIA_MDNS": "maybe"})


def test_pool_pins_rooms_and_spreads_them() -> None:
    assert parse_addresses("127.0.0.1:7990, [::1]:7991") == [("127.0.0.1", 7990), ("::1", 7991)]
    pool = MediaPool([("127.0.0.1", 1), ("127.0.0.1", 2)], store=MemoryRoomStore(),
                     secret="unit-test-channel-secret-0123456789abcdef")
    first = pool.worker_key_for("session:1")
    assert pool.worker_key_for("session:1") == first
    assert pool.worker_key_for("session:2") != first
    moved: list[list[str]] = []
    pool.on_rooms_moved = moved.append
    pool.workers[first].alive = False
    assert pool._move_rooms_of_dead() == ["session:1"]
    assert pool.worker_key_for("session:1") != first
    pool.stop()


# ---------------------------------------------------------------- consent freshness (RFC 7675)
class _Pair:
    remote_addr = ("127.0.0.1", 9)

    def __init__(self, answers: list[bool]) -> None:
        self.answers = answers
        self.retransmissions: list[int | None] = []
        self.protocol = self

    async def request(self, request, addr, integrity_key=None, retransmissions=None):
        from aioice import stun

        self.retransmissions.append(retransmissions)
        if self.answers.pop(0) if self.answers else False:
            return object(), addr
        raise stun.TransactionTimeout()


class _Connection:
    remote_password = "pw"

    def __init__(self, answers: list[bool]) -> None:
        self.pair = _Pair(answers)
        self._nominated = {1: self.pair}
        self._query_consent_task = object()
        self.closed = False

    def build_request(self, pair, nominate=False):
        return object()

    async def close(self) -> None:
        self.closed = True


def _run_consent(conn: _Connection, seconds: float) -> None:
    import asyncio

    from companion.media import consent

    async def go() -> None:
        task = asyncio.ensure_future(consent.query_consent(conn))
        await asyncio.sleep(seconds)
        task.cancel()

    # In its own thread: the browser tests' Playwright keeps an event loop in this one.
    run_async(go(), timeout=30)


def test_consent_survives_late_answers_and_expires_after_silence(monkeypatch) -> None:
    from companion.media import consent

    monkeypatch.setattr(consent, "INTERVAL", 0.01)
    monkeypatch.setattr(consent, "EXPIRY", 0.2)
    # unanswered checks for less than the expiry, then answers: still connected
    flaky = _Connection([False] * 5 + [True] * 100)
    _run_consent(flaky, 0.3)
    assert not flaky.closed
    assert set(flaky.pair.retransmissions) == {consent.RETRANSMISSIONS}  # checks retransmit
    # nothing answered for longer than the expiry: consent expires, the connection closes
    silent = _Connection([])
    _run_consent(silent, 0.5)
    assert silent.closed and silent._query_consent_task is None


def test_worker_installs_rfc7675_consent() -> None:
    import aioice.ice

    from companion.media import consent
    from companion.media.worker import MediaWorker

    MediaWorker()
    assert aioice.ice.Connection.query_consent is consent.query_consent


def test_default_worker_count_is_one_per_usable_core() -> None:
    import os

    from companion.media.process import default_worker_count

    assert default_worker_count() == len(os.sched_getaffinity(0))
