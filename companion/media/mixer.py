"""Mix-minus audio and active-speaker detection, with numpy only (no aiortc here).

Every 20 ms the room's mixer takes one frame (960 samples of 48 kHz mono int16) from each
participant's playout buffer, adds the frames of everyone who is not muted, and gives each
participant the sum minus their own frame: one personal mix of everyone else. Costs O(N).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 960

Pcm = npt.NDArray[np.int16]

SILENCE: Pcm = np.zeros(FRAME_SAMPLES, dtype=np.int16)
SILENCE.setflags(write=False)


def level_dbov(frame: Pcm) -> float:
    """RMS level of a frame in dB relative to full scale (-127 for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float32))))
    if rms < 1.0:
        return -127.0
    return 20.0 * math.log10(rms / 32768.0)


class PlayoutBuffer:
    """A small adaptive jitter buffer of decoded 20 ms frames for one participant.

    Frames are played once ``target`` frames are buffered; an underrun raises the target (up to
    ``max_target``) and a long quiet spell without underruns lowers it again, so the delay the
    server adds stays at one or two frames on a good link. Beyond ``target + slack`` frames the
    oldest are dropped so the delay is bounded.
    """

    def __init__(self, target: int = 1, max_target: int = 4, slack: int = 3) -> None:
        self.frames: collections.deque[tuple[float, Pcm]] = collections.deque()
        self.wait_sum = 0.0  # seconds frames spent here before being mixed (for benchmarks)
        self.wait_count = 0
        self.target = target
        self.min_target = target
        self.max_target = max_target
        self.slack = slack
        self.buffering = True
        self.good_ticks = 0
        self.underruns = 0
        self.dropped = 0

    def push(self, frame: Pcm) -> None:
        self.frames.append((time.monotonic(), frame))
        while len(self.frames) > self.target + self.slack:
            self.frames.popleft()
            self.dropped += 1

    def pop(self) -> Pcm | None:
        """The next frame to play, or None (nothing to play this tick)."""
        if self.buffering:
            if len(self.frames) < self.target:
                return None
            self.buffering = False
        if not self.frames:
            # Underrun: wait for a deeper buffer before playing again.
            self.underruns += 1
            self.buffering = True
            self.target = min(self.target + 1, self.max_target)
            self.good_ticks = 0
            return None
        self.good_ticks += 1
        if self.good_ticks >= 500 and self.target > self.min_target:  # 10 s without underrun
            self.target -= 1
            self.good_ticks = 0
            if len(self.frames) > 1:
                self.frames.popleft()
                self.dropped += 1
        arrived, frame = self.frames.popleft()
        self.wait_sum += time.monotonic() - arrived
        self.wait_count += 1
        return frame

    def clear(self) -> None:
        self.frames.clear()
        self.buffering = True


def mix_minus(frames: dict[str, Pcm], listeners: Iterable[str]) -> dict[str, Pcm]:
    """Each listener's mix: the sum of every frame in ``frames`` except the listener's own.

    ``frames`` holds the frames of the participants heard this tick (muted participants are
    simply left out); ``listeners`` are everyone who receives a mix.
    """
    out: dict[str, Pcm] = {}
    if not frames:
        for uid in listeners:
            out[uid] = SILENCE
        return out
    total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
    for frame in frames.values():
        total += frame
    total_clipped: Pcm | None = None
    for uid in listeners:
        own = frames.get(uid)
        if own is None:
            if total_clipped is None:
                total_clipped = np.clip(total, -32768, 32767).astype(np.int16)
            out[uid] = total_clipped
        elif len(frames) == 1:
            out[uid] = SILENCE
        else:
            out[uid] = np.clip(total - own, -32768, 32767).astype(np.int16)
    return out


@dataclass
class MixPlan:
    """One tick's mixes, grouped so that each distinct mix is encoded once.

    Only listeners who contribute a frame this tick need a mix of their own (``own``: the sum
    minus their frame); everyone else (silent, muted, gated, not sending) hears the same thing,
    the full sum, so ``shared`` is encoded once for all of ``sharing``.
    """

    shared: Pcm
    sharing: list[str]
    own: dict[str, Pcm]


def plan_mixes(frames: dict[str, Pcm], listeners: Iterable[str]) -> MixPlan:
    """Like :func:`mix_minus`, grouped: the listeners without a frame in ``frames`` share one
    mix (the sum of every frame); each listener with a frame gets the sum minus their own."""
    sharing: list[str] = []
    own: dict[str, Pcm] = {}
    if not frames:
        return MixPlan(SILENCE, list(listeners), own)
    total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
    for frame in frames.values():
        total += frame
    for uid in listeners:
        mine = frames.get(uid)
        if mine is None:
            sharing.append(uid)
        elif len(frames) == 1:
            own[uid] = SILENCE
        else:
            own[uid] = np.clip(total - mine, -32768, 32767).astype(np.int16)
    shared = np.clip(total, -32768, 32767).astype(np.int16) if sharing else SILENCE
    return MixPlan(shared, sharing, own)


class NoiseGate:
    """Whether a participant's frame is mixed: open at or above ``threshold_db`` and for
    ``hangover`` ticks after (so word endings and short pauses are kept). A closed gate leaves
    the frame out of every mix, which makes that participant a listener of the shared mix.
    Background noise that browsers leave after noise suppression sits well below -60 dBov;
    speech is around -20 to -40 dBov."""

    def __init__(self, threshold_db: float = -60.0, hangover: int = 25) -> None:
        self.threshold_db = threshold_db
        self.hangover = hangover
        self.hold = 0

    def update(self, level_db: float) -> bool:
        if level_db >= self.threshold_db:
            self.hold = self.hangover
            return True
        if self.hold > 0:
            self.hold -= 1
            return True
        return False

    def close(self) -> None:
        self.hold = 0


@dataclass
class SpeakerDetector:
    """Energy-based active-speaker detection with hysteresis.

    A participant's level is smoothed (fast attack, slow release). The active speaker changes
    only when another participant is above ``threshold_db``, louder than the current speaker by
    ``margin_db`` (or the current speaker has fallen below the threshold), and has stayed so for
    ``hold_ticks`` frames. Silence keeps the last speaker: nobody talking is no change.
    """

    threshold_db: float = -50.0
    margin_db: float = 6.0
    hold_ticks: int = 15  # 300 ms
    attack: float = 0.5
    release: float = 0.08
    levels: dict[str, float] = field(default_factory=dict)
    active: str | None = None
    recent: list[str] = field(default_factory=list)  # most recent speaker first
    _candidate: str | None = None
    _candidate_ticks: int = 0

    def update(self, frame_levels: dict[str, float]) -> str | None:
        """Feed one tick of levels (participants without audio this tick are absent).

        Returns the new active speaker when it changed, else None.
        """
        for uid in list(self.levels):
            if uid not in frame_levels:
                frame_levels = {**frame_levels, uid: -127.0}
        for uid, db in frame_levels.items():
            prev = self.levels.get(uid, db)
            k = self.attack if db > prev else self.release
            self.levels[uid] = prev + k * (db - prev)
        loud = [(db, uid) for uid, db in self.levels.items() if db >= self.threshold_db]
        if not loud:
            self._candidate = None
            return None
        best_db, best = max(loud)
        if best == self.active:
            self._candidate = None
            return None
        current_db = self.levels.get(self.active, -127.0) if self.active else -127.0
        if current_db >= self.threshold_db and best_db < current_db + self.margin_db:
            self._candidate = None
            return None
        if best != self._candidate:
            self._candidate = best
            self._candidate_ticks = 0
        self._candidate_ticks += 1
        if self._candidate_ticks < self.hold_ticks and self.active is not None:
            return None
        self.active = best
        self._candidate = None
        if best in self.recent:
            self.recent.remove(best)
        self.recent.insert(0, best)
        return best

    def remove(self, uid: str) -> None:
        self.levels.pop(uid, None)
        if uid in self.recent:
            self.recent.remove(uid)
        if self.active == uid:
            self.active = None
        if self._candidate == uid:
            self._candidate = None
