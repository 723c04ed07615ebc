"""G.711 in the mixer (companion/media/g711.py): the laws as ITU-T G.711 defines them, a phone's
20 ms packet as the mixer's 48 kHz frame and back, a tone kept, and nothing above the telephone
band folded into it."""

from __future__ import annotations

import numpy as np
import pytest

from companion.media.g711 import DECODE, ENCODE, FRAME_SAMPLES, PHONE_SAMPLES, G711Voice


@pytest.mark.parametrize("law, code, value", [
    ("pcmu", 0xFF, 0), ("pcmu", 0x7F, 0), ("pcmu", 0x00, -32124), ("pcmu", 0x80, 32124),
    ("pcma", 0xD5, 8), ("pcma", 0x55, -8), ("pcma", 0xAA, 32256), ("pcma", 0x2A, -32256),
])
def test_the_laws_decode_as_g711_says(law, code, value):
    assert DECODE[law][code] == value


@pytest.mark.parametrize("law", ["pcmu", "pcma"])
def test_every_code_encodes_back_to_itself(law):
    # Decoding then encoding any code gives that code (0x7F, μ-law's "negative zero", is 0).
    decoded = DECODE[law].astype(np.int32) + 32768
    again = ENCODE[law][decoded]
    expected = np.arange(256, dtype=np.uint8)
    if law == "pcmu":
        expected[0x7F] = 0xFF
    assert np.array_equal(again, expected)


def _tone(hz: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def _peak(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


def test_a_phone_packet_is_a_mixer_frame_holding_its_tone():
    voice = G711Voice("pcmu")
    phone = ENCODE["pcmu"][_tone(1000, 8000, 1.0).astype(np.int32) + 32768].tobytes()
    frames = [voice.decode(phone[i:i + PHONE_SAMPLES]) for i in range(0, 8000, PHONE_SAMPLES)]
    assert {f.size for f in frames} == {FRAME_SAMPLES}
    heard = np.concatenate(frames)
    assert _peak(heard, 48000) == pytest.approx(1000, abs=5)
    assert 5000 < heard.std() < 6500  # 8000 peak: about its RMS, no loss, no doubling


def test_a_mix_is_a_phone_packet_and_what_the_phone_cannot_carry_is_filtered_out():
    voice = G711Voice("pcma")
    mix = _tone(440, 48000, 1.0) + _tone(6000, 48000, 1.0) // 2  # 6 kHz: above the band
    packets = [voice.encode(mix[i:i + FRAME_SAMPLES]) for i in range(0, 48000, FRAME_SAMPLES)]
    assert {len(p) for p in packets} == {PHONE_SAMPLES}
    heard = DECODE["pcma"][np.frombuffer(b"".join(packets), dtype=np.uint8)][800:]
    assert _peak(heard, 8000) == pytest.approx(440, abs=5)
    spectrum = np.abs(np.fft.rfft(heard.astype(float) * np.hanning(heard.size)))
    bins = np.fft.rfftfreq(heard.size, 1 / 8000)
    folded = spectrum[(bins > 1900) & (bins < 2100)].max()  # 6 kHz folds to 2 kHz at 8 kHz
    assert folded < spectrum.max() / 300  # more than 50 dB down


def test_only_the_two_laws_are_taken():
    with pytest.raises(ValueError, match="not a G.711 law"):
        G711Voice("opus")
