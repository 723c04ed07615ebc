"""What a caller hears (companion/dialin/prompts.py): every prompt in English and Spanish, none
saying anything about treatment, recorded by espeak-ng as 8 kHz mono 16-bit WAV; and the call
flow with the real services, speaking a session's time in its program's zone."""

from __future__ import annotations

import re
import wave
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner

from companion.accounts.models import Role
from companion.cli import main
from companion.core import clock
from companion.dialin import pins, prompts, services
from companion.dialin.callflow import CallFlow, Knock, Play
from companion.dialin.prompts import LANGS, Prompt, text
from tests.dialin_factories import dial_in_on

# Words that would tell someone overhearing the call what it is about.
TELLING = re.compile(
    r"counsel|therap|recover|treat|addict|substance|sober|drug|alcohol|rehab|clinic|relapse|"
    r"group|patient|consejer|terap|recupera|tratamiento|adicci|sustancia|droga|alcohol|"
    r"rehabilita|clínica|recaída|grupo|paciente", re.IGNORECASE)


def test_every_prompt_has_english_and_spanish_words_that_say_nothing_of_treatment():
    for prompt in Prompt:
        for lang in LANGS:
            words = text(prompt, lang)
            assert words.strip(), (prompt, lang)
            assert not TELLING.search(words), (prompt, lang, words)
    assert text(Prompt.WELCOME, "en") == "Welcome to Companion. For Spanish, press 2."
    assert text(Prompt.PLEASE_WAIT, "en") == "Please wait, someone will let you in."
    assert text(Prompt.PRESS_2, "en") == "Press 2" and text(Prompt.PRESS_2, "es") == "Oprima el 2."
    assert (text(Prompt.HOUR_1, "es"), text(Prompt.HOUR_6, "es")) == ("la una", "las seis")
    assert (text(Prompt.MINUTE_5, "en"), text(Prompt.MINUTE_30, "en")) == ("oh 5", "30")
    assert text(Prompt.MINUTE_30, "es") == "y 30"
    # English and Spanish differ wherever there are words to translate.
    differ = [p for p in Prompt if text(p, "en") != text(p, "es")]
    assert len(differ) >= len(Prompt) - 12  # the English hours are digits


def test_the_command_records_every_prompt_as_8_khz_mono_16_bit_wav(tmp_path):
    result = CliRunner().invoke(main, ["dialin-prompts", "--folder", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"Recorded {2 * len(Prompt)} prompts" in result.output
    for lang in LANGS:
        for prompt in Prompt:
            with wave.open(str(prompts.prompt_file(tmp_path, prompt, lang))) as recording:
                assert (recording.getframerate(), recording.getnchannels(),
                        recording.getsampwidth()) == (8000, 1, 2)
                seconds = recording.getnframes() / 8000
                samples = np.frombuffer(recording.readframes(recording.getnframes()), "<i2")
            assert 0.2 < seconds < 15, (prompt, lang, seconds)
            assert np.abs(samples).max() > 1000, (prompt, lang)  # speech, not silence


def test_without_espeak_the_command_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(prompts.shutil, "which", lambda name: None)
    result = CliRunner().invoke(main, ["dialin-prompts", "--folder", str(tmp_path)])
    assert result.exit_code == 1
    assert "espeak-ng is not installed: install Debian's espeak-ng package" in result.output


def _tone(hz: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (8000 * np.sin(2 * np.pi * hz * t)).astype("<i2")


def _level_at(samples: np.ndarray, rate: int, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return float(spectrum[int(round(hz * samples.size / rate))])


def test_resampling_keeps_speech_frequencies_and_drops_what_8_khz_cannot_carry():
    kept = prompts.resample(_tone(1000, 22050), 22050, 8000)
    assert kept.size == 8000
    assert _level_at(kept, 8000, 1000) > 0.9 * np.abs(np.fft.rfft(kept.astype(float))).max()
    # 6 kHz is above 8 kHz's Nyquist frequency: filtered out, not folded down to 2 kHz.
    folded = prompts.resample(_tone(6000, 22050), 22050, 8000)
    assert np.sqrt(np.mean(folded.astype(float) ** 2)) < 0.02 * 8000


def test_a_real_call_hears_the_session_at_its_programs_local_time(world):
    dial_in_on(world.program)
    client = world.user(Role.CLIENT, name="Alex")
    counselor = world.user(Role.COUNSELOR)
    chicago = ZoneInfo("America/Chicago")
    today = clock.now().astimezone(chicago).date()
    six = datetime.combine(today + timedelta(days=1), time(18, 0), tzinfo=chicago)
    clock.advance(six + timedelta(minutes=20) - clock.now())  # 6:20 PM: both rooms are open
    first = world.session(world.group(counselor, [client], name="A"),
                          starts_in=timedelta(minutes=-20))
    second = world.session(world.group(counselor, [client], name="B"),
                           starts_in=timedelta(minutes=10))
    first.starts_at, second.starts_at = six, six + timedelta(minutes=30)  # to the second
    world.db.session.commit()
    pin = pins.my_dial_in(client).pin
    flow = CallFlow(lambda keyed: services.identify(keyed, "+1 555 0142"),
                    services.open_sessions, clock.now)
    flow.start()
    heard = [a for key in pin + "#" for a in flow.digit(key)]
    assert heard == [Play(p, "en") for p in (
        Prompt.CHOOSE, Prompt.PRESS_1, Prompt.FOR_THE_SESSION_AT, Prompt.HOUR_6, Prompt.EVENING,
        Prompt.PRESS_2, Prompt.FOR_THE_SESSION_AT, Prompt.HOUR_6, Prompt.MINUTE_30,
        Prompt.EVENING)]
    assert flow.digit("2")[0] == Knock(second.id, client.id)


@pytest.mark.parametrize("lang", LANGS)
def test_a_prompt_file_is_found_by_prompt_and_language(tmp_path, lang):
    assert prompts.prompt_file(tmp_path, Prompt.WELCOME, lang) == tmp_path / lang / "welcome.wav"
