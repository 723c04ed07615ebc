"""What a caller hears: every prompt in English and Spanish, and their recordings.

The words say nothing about treatment (no counselor, therapy, recovery...): a call can be
overheard, and the number's display name says only "Companion". The recordings are made on the
server by espeak-ng (``companion dialin-prompts``), never fetched: 8 kHz mono 16-bit WAV, as
the phone network carries them, one file per prompt and language in the instance folder.

A time is spoken in pieces ("Press 1" "for the session at" "6" "30" "in the evening"), so a
session at any minute is read right from a fixed set of recordings.
"""

from __future__ import annotations

import enum
import io
import shutil
import subprocess  # nosec B404
import wave
from datetime import datetime
from pathlib import Path

import numpy as np

LANGS = ("en", "es")
# espeak-ng's voices (Debian's espeak-ng-data).
VOICES = {"en": "en-us", "es": "es"}
RATE = 8000  # Hz: G.711's
SPEED = 150  # words a minute: a little slower than espeak-ng's default, for a phone line
FOLDER = "dialin-prompts"


class Prompt(enum.StrEnum):
    WELCOME = "welcome"
    CALLED_WELCOME = "called_welcome"  # a call the line placed (a counselor called the client)
    SPANISH_OFFER = "spanish_offer"
    ENTER_PIN = "enter_pin"
    WRONG_PIN = "wrong_pin"
    WRONG_PIN_GOODBYE = "wrong_pin_goodbye"
    SILENCE_GOODBYE = "silence_goodbye"
    NO_SESSION = "no_session"
    CHOOSE = "choose"
    NOT_A_CHOICE = "not_a_choice"
    FOR_THE_SESSION_AT = "for_the_session_at"
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    PLEASE_WAIT = "please_wait"
    ADMITTED = "admitted"
    MUTED = "muted"
    UNMUTED = "unmuted"
    MUTED_BY_STAFF = "muted_by_staff"
    STAFF_MUTED_YOU = "staff_muted_you"
    STAFF_LIFTED_MUTE = "staff_lifted_mute"
    STILL_SELF_MUTED = "still_self_muted"
    HAND_RAISED = "hand_raised"
    HAND_LOWERED = "hand_lowered"
    REMOVED = "removed"
    ENDED = "ended"
    # "Press 1" ... "Press 9": the choices when two sessions or more are open.
    PRESS_1 = "press_1"
    PRESS_2 = "press_2"
    PRESS_3 = "press_3"
    PRESS_4 = "press_4"
    PRESS_5 = "press_5"
    PRESS_6 = "press_6"
    PRESS_7 = "press_7"
    PRESS_8 = "press_8"
    PRESS_9 = "press_9"
    # The hour of a start on a 12-hour clock ("6"; in Spanish "las seis").
    HOUR_1 = "hour_1"
    HOUR_2 = "hour_2"
    HOUR_3 = "hour_3"
    HOUR_4 = "hour_4"
    HOUR_5 = "hour_5"
    HOUR_6 = "hour_6"
    HOUR_7 = "hour_7"
    HOUR_8 = "hour_8"
    HOUR_9 = "hour_9"
    HOUR_10 = "hour_10"
    HOUR_11 = "hour_11"
    HOUR_12 = "hour_12"
    # Its minutes, when not on the hour ("oh 5", "30"; in Spanish "y 30").
    MINUTE_1 = "minute_1"
    MINUTE_2 = "minute_2"
    MINUTE_3 = "minute_3"
    MINUTE_4 = "minute_4"
    MINUTE_5 = "minute_5"
    MINUTE_6 = "minute_6"
    MINUTE_7 = "minute_7"
    MINUTE_8 = "minute_8"
    MINUTE_9 = "minute_9"
    MINUTE_10 = "minute_10"
    MINUTE_11 = "minute_11"
    MINUTE_12 = "minute_12"
    MINUTE_13 = "minute_13"
    MINUTE_14 = "minute_14"
    MINUTE_15 = "minute_15"
    MINUTE_16 = "minute_16"
    MINUTE_17 = "minute_17"
    MINUTE_18 = "minute_18"
    MINUTE_19 = "minute_19"
    MINUTE_20 = "minute_20"
    MINUTE_21 = "minute_21"
    MINUTE_22 = "minute_22"
    MINUTE_23 = "minute_23"
    MINUTE_24 = "minute_24"
    MINUTE_25 = "minute_25"
    MINUTE_26 = "minute_26"
    MINUTE_27 = "minute_27"
    MINUTE_28 = "minute_28"
    MINUTE_29 = "minute_29"
    MINUTE_30 = "minute_30"
    MINUTE_31 = "minute_31"
    MINUTE_32 = "minute_32"
    MINUTE_33 = "minute_33"
    MINUTE_34 = "minute_34"
    MINUTE_35 = "minute_35"
    MINUTE_36 = "minute_36"
    MINUTE_37 = "minute_37"
    MINUTE_38 = "minute_38"
    MINUTE_39 = "minute_39"
    MINUTE_40 = "minute_40"
    MINUTE_41 = "minute_41"
    MINUTE_42 = "minute_42"
    MINUTE_43 = "minute_43"
    MINUTE_44 = "minute_44"
    MINUTE_45 = "minute_45"
    MINUTE_46 = "minute_46"
    MINUTE_47 = "minute_47"
    MINUTE_48 = "minute_48"
    MINUTE_49 = "minute_49"
    MINUTE_50 = "minute_50"
    MINUTE_51 = "minute_51"
    MINUTE_52 = "minute_52"
    MINUTE_53 = "minute_53"
    MINUTE_54 = "minute_54"
    MINUTE_55 = "minute_55"
    MINUTE_56 = "minute_56"
    MINUTE_57 = "minute_57"
    MINUTE_58 = "minute_58"
    MINUTE_59 = "minute_59"


# (English, Spanish). "Moderator", not a clinical role: whoever mutes is named by what they do.
_PHRASES: dict[Prompt, tuple[str, str]] = {
    Prompt.WELCOME: ("Welcome to Companion. For Spanish, press 2.",
                     "Bienvenido a Companion. Para español, oprima el 2."),
    Prompt.CALLED_WELCOME: ("Hello, this is Companion, calling you to join your session. For "
                            "Spanish, press 2.",
                            "Hola, le llama Companion para que se una a su sesión. Para español, "
                            "oprima el 2."),
    Prompt.SPANISH_OFFER: ("For Spanish, press 2.", "Para español, oprima el 2."),
    Prompt.ENTER_PIN: ("Please enter your PIN, then press the pound key.",
                       "Por favor, marque su PIN y luego la tecla numeral."),
    Prompt.WRONG_PIN: ("That PIN did not work. Please enter it again, then press the pound key.",
                       "Ese PIN no funcionó. Márquelo de nuevo y luego la tecla numeral."),
    Prompt.WRONG_PIN_GOODBYE: ("That PIN did not work. You can find your PIN in the Companion "
                               "app. Goodbye.",
                               "Ese PIN no funcionó. Encontrará su PIN en la aplicación "
                               "Companion. Adiós."),
    Prompt.SILENCE_GOODBYE: ("We did not hear any keys. Please call again. Goodbye.",
                             "No recibimos ninguna tecla. Por favor, llame de nuevo. Adiós."),
    Prompt.NO_SESSION: ("You have no session open right now. Please call again when it starts. "
                        "Goodbye.",
                        "No tiene ninguna sesión abierta ahora. Llame de nuevo cuando empiece. "
                        "Adiós."),
    Prompt.CHOOSE: ("You have more than one session open.", "Tiene más de una sesión abierta."),
    Prompt.NOT_A_CHOICE: ("That is not one of the choices.", "Esa no es una de las opciones."),
    Prompt.FOR_THE_SESSION_AT: ("for the session at", "para la sesión de"),
    Prompt.MORNING: ("in the morning.", "de la mañana."),
    Prompt.AFTERNOON: ("in the afternoon.", "de la tarde."),
    Prompt.EVENING: ("in the evening.", "de la noche."),
    Prompt.PLEASE_WAIT: ("Please wait, someone will let you in.",
                         "Por favor, espere; alguien le dejará entrar."),
    Prompt.ADMITTED: ("You are in the session. To mute or unmute yourself, press star 6. "
                      "To raise or lower your hand, press star 9.",
                      "Ya está en la sesión. Para silenciar o activar su micrófono, oprima "
                      "asterisco 6. Para levantar o bajar la mano, oprima asterisco 9."),
    Prompt.MUTED: ("You are muted.", "Su micrófono está silenciado."),
    Prompt.UNMUTED: ("You are no longer muted.", "Su micrófono está activado."),
    Prompt.MUTED_BY_STAFF: ("A moderator muted you: only a moderator can unmute you.",
                            "Un moderador le silenció: solo un moderador puede activar su "
                            "micrófono."),
    Prompt.STAFF_MUTED_YOU: ("A moderator muted you.", "Un moderador le silenció."),
    Prompt.STAFF_LIFTED_MUTE: ("A moderator lifted your mute.",
                               "Un moderador levantó su silencio."),
    Prompt.STILL_SELF_MUTED: ("You are still muted by your own choice: press star 6 to unmute.",
                              "Usted sigue silenciado por su cuenta: oprima asterisco 6 para "
                              "activar su micrófono."),
    Prompt.HAND_RAISED: ("Your hand is raised.", "Su mano está levantada."),
    Prompt.HAND_LOWERED: ("Your hand is lowered.", "Su mano está bajada."),
    Prompt.REMOVED: ("You have been removed from the session. Goodbye.",
                     "Le han retirado de la sesión. Adiós."),
    Prompt.ENDED: ("The session has ended. Goodbye.", "La sesión ha terminado. Adiós."),
}

_SPANISH_HOURS = ["", "la una", "las dos", "las tres", "las cuatro", "las cinco", "las seis",
                  "las siete", "las ocho", "las nueve", "las diez", "las once", "las doce"]


def text(prompt: Prompt, lang: str) -> str:
    """The words of a prompt in a language ("en" or "es")."""
    spanish = LANGS.index(lang) == 1
    kind, _, number = prompt.value.rpartition("_")
    if kind == "press":
        return f"Oprima el {number}." if spanish else f"Press {number}"
    if kind == "hour":
        return _SPANISH_HOURS[int(number)] if spanish else number
    if kind == "minute":
        return f"y {int(number)}" if spanish else (f"oh {number}" if len(number) == 1 else number)
    return _PHRASES[prompt][1 if spanish else 0]


def clock_prompts(at: datetime) -> list[Prompt]:
    """A local time as spoken: its hour, its minutes if any, and the part of the day."""
    hour = at.hour % 12 or 12
    spoken = [Prompt(f"hour_{hour}")]
    if at.minute:
        spoken.append(Prompt(f"minute_{at.minute}"))
    if at.hour < 12:
        spoken.append(Prompt.MORNING)
    else:
        spoken.append(Prompt.AFTERNOON if at.hour < 18 else Prompt.EVENING)
    return spoken


# --- recordings -----------------------------------------------------------------------------


class RecordingError(RuntimeError):
    """espeak-ng is missing or failed: the sentence says which."""


def prompt_file(folder: Path, prompt: Prompt, lang: str) -> Path:
    """Where the recording of a prompt is (``folder``: the instance folder's FOLDER)."""
    return folder / lang / f"{prompt.value}.wav"


def render_all(folder: Path, espeak: str | None = None) -> list[Path]:
    """Record every prompt in both languages into ``folder``; returns the files written."""
    program = espeak or shutil.which("espeak-ng")
    if program is None:
        raise RecordingError("espeak-ng is not installed: install Debian's espeak-ng package "
                             "(apt-get install espeak-ng), then run this again.")
    written = []
    for lang in LANGS:
        (folder / lang).mkdir(parents=True, exist_ok=True)
        for prompt in Prompt:
            path = prompt_file(folder, prompt, lang)
            path.write_bytes(record(text(prompt, lang), VOICES[lang], program))
            written.append(path)
    return written


def record(words: str, voice: str, espeak: str) -> bytes:
    """``words`` spoken by espeak-ng's ``voice``, as an 8 kHz mono 16-bit WAV file."""
    try:
        # a fixed program, the words as one argument, no shell
        done = subprocess.run(  # nosec B603
            [espeak, "-v", voice, "-s", str(SPEED), "--stdout", words],
            capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        raise RecordingError(f"espeak-ng could not record a prompt ({type(error).__name__}): "
                             "check that it runs (espeak-ng --version).") from None
    with wave.open(io.BytesIO(done.stdout)) as source:
        if source.getsampwidth() != 2 or source.getnchannels() != 1:
            raise RecordingError("espeak-ng answered audio that is not 16-bit mono.")
        rate = source.getframerate()
        samples = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    return wav_bytes(resample(samples, rate, RATE), RATE)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """16-bit samples from ``rate`` to ``target`` Hz: a windowed-sinc low-pass below the new
    Nyquist frequency (no aliasing hiss), then linear interpolation. Enough for speech."""
    if rate == target or samples.size == 0:
        return samples.astype("<i2")
    signal = samples.astype(np.float64)
    if target < rate:
        cutoff = 0.45 * target / rate  # of the source's sample rate
        taps = np.arange(-64, 65)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.blackman(taps.size)
        signal = np.convolve(signal, kernel / kernel.sum(), mode="same")
    count = int(signal.size * target / rate)
    positions = np.arange(count) * (rate / target)
    out = np.interp(positions, np.arange(signal.size), signal)
    return np.clip(np.round(out), -32768, 32767).astype("<i2")


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()
