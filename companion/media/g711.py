"""G.711 for phone callers in the mixer: each 20 ms packet (160 bytes of μ-law or A-law at 8 kHz)
to the mixer's 960 samples of 48 kHz, and a mix back, with numpy only.

A phone call reaches the room's worker as G.711 (docs/dial-in.md, "Cost of a phone leg"): the
dial-in line relays what the phone network speaks and the worker decodes and encodes it here,
as it does Opus for everyone else. The laws are table look-ups (ITU-T G.711, as libavcodec and
audioop compute them); 8 to 48 kHz is linear interpolation, 48 to 8 kHz a windowed-sinc
low-pass (3.4 kHz, the telephone band) then every sixth sample, each carrying its state from
one frame to the next so that frame edges make no clicks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

PHONE_RATE = 8000
FACTOR = 6  # 48 kHz / 8 kHz
PHONE_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_SAMPLES = PHONE_SAMPLES * FACTOR  # 960, the mixer's frame

Pcm = npt.NDArray[np.int16]


def _ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -magnitude if sign else magnitude


def _alaw_to_linear(code: int) -> int:
    code ^= 0x55
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    magnitude = (mantissa << 4) + 8
    if exponent:
        magnitude = (magnitude + 0x100) << (exponent - 1)
    return magnitude if sign else -magnitude


def _linear_to_ulaw(sample: int) -> int:
    # The reference coder works on 14 bits (an arithmetic shift: -1 stays -1).
    value, mask = sample >> 2, 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + 0x21
    segment = next((i for i, end in enumerate((0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF,
                                                0x1FFF)) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _linear_to_alaw(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample) if sample >= 0 else abs(sample) - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (code | sign) ^ 0x55


_CODES = np.arange(256)
_ALL = np.arange(-32768, 32768)
DECODE = {
    "pcmu": np.array([_ulaw_to_linear(int(c)) for c in _CODES], dtype=np.int16),
    "pcma": np.array([_alaw_to_linear(int(c)) for c in _CODES], dtype=np.int16),
}
# Indexed by the sample + 32768.
ENCODE = {
    "pcmu": np.array([_linear_to_ulaw(int(s)) for s in _ALL], dtype=np.uint8),
    "pcma": np.array([_linear_to_alaw(int(s)) for s in _ALL], dtype=np.uint8),
}

_TAPS = 48  # a little over one 8 kHz period of 3.4 kHz on each side, at 48 kHz


def _low_pass() -> npt.NDArray[np.float32]:
    n = np.arange(_TAPS) - (_TAPS - 1) / 2
    cutoff = 3400 / 48000
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(_TAPS)
    return (kernel / kernel.sum()).astype(np.float32)


_KERNEL = _low_pass()


class G711Voice:
    """One caller's G.711, both ways (``law``: "pcmu" or "pcma", as the offer named it)."""

    def __init__(self, law: str) -> None:
        if law not in DECODE:
            raise ValueError(f"not a G.711 law: {law}")
        self.law = law
        self._last_in = 0.0  # the previous packet's last sample, for the interpolation
        self._history = np.zeros(_TAPS - 1, dtype=np.float32)  # the filter's memory
        self._phase = 0  # where in the 48 kHz stream the next kept sample lies

    def decode(self, payload: bytes) -> Pcm:
        """One packet as the mixer's 48 kHz frame (shorter or longer packets are stretched to
        20 ms: a trunk sends 20 ms, the usual ptime)."""
        samples = DECODE[self.law][np.frombuffer(payload, dtype=np.uint8)].astype(np.float32)
        if samples.size == 0:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16)
        points = np.concatenate(([self._last_in], samples))
        self._last_in = float(samples[-1])
        # Sample i of the packet sits at 48 kHz position (i + 1) * 6 after the previous one.
        positions = np.linspace(0, samples.size, FRAME_SAMPLES, endpoint=False) + (
            samples.size / FRAME_SAMPLES)
        pcm = np.interp(positions, np.arange(points.size), points)
        return np.clip(np.round(pcm), -32768, 32767).astype(np.int16)

    def encode(self, pcm: Pcm) -> bytes:
        """One 48 kHz mix as a 20 ms packet."""
        signal = np.concatenate((self._history, pcm.astype(np.float32)))
        self._history = signal[-(_TAPS - 1):]
        filtered = np.convolve(signal, _KERNEL, mode="valid")  # one value per input sample
        kept = filtered[self._phase::FACTOR]
        self._phase = (self._phase - len(filtered)) % FACTOR
        samples = np.clip(np.round(kept), -32768, 32767).astype(np.int32)
        return ENCODE[self.law][samples + 32768].tobytes()
