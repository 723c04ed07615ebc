"""The phone network of the dial-in tests, on loopback in a private network namespace (the
tests run as root under ``unshare --net``): Kamailio stands in for the trunk provider
(registrar and proxy), Janus's SIP plugin is the line, baresip is the caller's phone.

Janus 1.1 gathers no ICE candidates on loopback interfaces, so the namespace's loopback range
address 127.0.1.1 is also put on a veth pair (as bench/media does); the caller binds to
127.0.0.1 because Janus's SIP plugin only takes RTP from the address the caller's SDP names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import time
import wave
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from companion.dialin import janus_config
from companion.dialin.line_process import stop_process
from companion.dialin.sip_line import LineSettings

HERE = Path(__file__).parent
RATE = 8000
CALLER_HZ, LINE_HZ = 1000, 440  # the caller's tone, the other side's
CTRL = ("127.0.0.1", 4444)


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    spectrum[:5] = 0
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


def tone(hz: int, seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")


def holds_tone(pcm: np.ndarray, freq: float) -> bool:
    """The audio (48 kHz) is no near-silence and ``freq`` stands out of it: spectrum_peaks
    compares a frequency with the median of the spectrum, which silence makes arbitrarily
    small."""
    from tests.media_helpers import spectrum_peaks

    return bool(pcm.size and pcm.std() > 100 and spectrum_peaks(pcm, [freq])[freq] > 30)


def network() -> None:
    for command in ("ip link set lo up", "ip addr add 127.0.1.1/32 dev lo",
                    "ip link add jb0 type veth peer name jb1",
                    "ip addr add 127.0.1.1/32 dev jb0", "ip link set jb0 up",
                    "ip link set jb1 up"):
        subprocess.run(command.split(), check=True)


def caller_config(folder: Path, number: str | None = None) -> Path:
    """baresip's configuration; with ``number``, the phone is registered with the trunk under
    it, so the line's calls to that number ring it."""
    conf = folder / "baresip"
    conf.mkdir(parents=True, exist_ok=True)
    with wave.open(str(folder / "caller.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(tone(CALLER_HZ, 30).tobytes())
    (folder / "heard").mkdir(exist_ok=True)
    (conf / "config").write_text(f"""poll_method epoll
sip_listen 127.0.0.1:5070
net_interface 127.0.0.1
audio_source aufile,{folder / "caller.wav"}
audio_player aubridge,nowhere
audio_alert aubridge,nowhere
ausrc_srate 8000
auplay_srate 8000
ausrc_channels 1
auplay_channels 1
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen {CTRL[0]}:{CTRL[1]}
snd_path {folder / "heard"}
""")
    account = (f"<sip:{number}@127.0.0.1>;regint=60;answermode=manual" if number
               else "<sip:caller@127.0.0.1:5070>;regint=0")
    (conf / "accounts").write_text(account + "\n")
    return conf


class Phone:
    """baresip's control socket (netstring JSON); events it sends are kept in ``events``."""

    def __init__(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.create_connection(CTRL, timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(0.2)
        self.buffer = b""
        self.events: list[dict[str, object]] = []

    def command(self, name: str, params: str = "") -> None:
        body = json.dumps({"command": name, "params": params}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")
        self.read()

    def read(self) -> None:
        try:
            self.buffer += self.sock.recv(65536)
        except TimeoutError:
            pass
        while b":" in self.buffer:
            size, rest = self.buffer.split(b":", 1)
            if len(rest) < int(size) + 1:
                break
            message = json.loads(rest[:int(size)])
            self.buffer = rest[int(size) + 1:]
            if message.get("event"):
                self.events.append(message)

    def close(self) -> None:
        self.sock.close()

    def saw(self, kind: str) -> bool:
        self.read()
        return any(event.get("type") == kind for event in self.events)


async def wait_for(check, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.1)
    return False


TRUNK = "sip:127.0.0.1:5060"
LINE_USER = "sip:companion@127.0.0.1"
JANUS = janus_config.JanusSettings(api_port=8088, ice_ip="127.0.1.1")


@contextlib.contextmanager
def trunk(folder: Path) -> Iterator[None]:
    """Kamailio, the stand-in trunk, at TRUNK."""
    with open(folder / "trunk.log", "w") as log:  # the child keeps its own copy of the file
        process = subprocess.Popen(["kamailio", "-f", str(HERE / "trunk.kamailio.cfg"), "-DD",
                                    "-E"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        yield
    finally:
        stop(process)


@contextlib.contextmanager
def trunk_and_janus(folder: Path) -> Iterator[LineSettings]:
    """Kamailio and Janus running; yields the settings the line registers with."""
    janus_config.write(folder / "janus", JANUS)
    with trunk(folder):
        janus = subprocess.Popen(["janus", "-F", str(folder / "janus"), "-N", "-o",
                                  "-L", str(folder / "janus.log")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            yield LineSettings(janus_url=f"http://127.0.0.1:{JANUS.api_port}/janus",
                               registrar=TRUNK, user=LINE_USER, secret="line", helpers=2)
        finally:
            stop(janus)


def stop(*processes: subprocess.Popen[bytes] | None) -> None:
    for process in processes:
        if process is not None:
            stop_process(process, grace=5)


def start_phone(folder: Path, number: str | None = None) -> tuple[subprocess.Popen[bytes], Phone]:
    """baresip, playing CALLER_HZ (registered under ``number`` if given); its control socket
    once it listens."""
    with open(folder / "caller.log", "w") as log:
        process = subprocess.Popen(["baresip", "-f", str(caller_config(folder, number))],
                                   stdout=log, stderr=subprocess.STDOUT)
    return process, Phone()


def heard_by_phone(folder: Path) -> np.ndarray:
    """Everything the caller heard on their last call (baresip's decoded audio, 8 kHz)."""
    files = sorted((folder / "heard").glob("*-dec.wav"))
    if not files:
        return np.zeros(0, dtype=np.int16)
    with wave.open(str(files[-1])) as heard:
        return np.frombuffer(heard.readframes(heard.getnframes()), dtype="<i2")


def run_with_the_line(app: Any, config: Any, workers: Any, folder: Path,
                      scenario: Callable[[Phone], Awaitable[None]],
                      close: Callable[[], Awaitable[None]], number: str | None = None) -> None:
    """The trunk, the line as `companion dialin-line` runs it (serve_line: its own Janus, its
    prompts), and the phone (registered under ``number`` if given); ``scenario(phone)`` once
    the line is registered; ``close()`` (the scenario's own peers) and everything stopped
    after, however it went."""
    from companion.dialin.line_process import serve_line

    async def with_the_line() -> None:
        ready, done = asyncio.Event(), asyncio.Event()
        line = asyncio.ensure_future(serve_line(app, config, workers, done, ready))
        phone_process = phone = None
        try:
            await asyncio.wait_for(ready.wait(), 60)
            phone_process, phone = await asyncio.to_thread(start_phone, folder, number)
            if number is not None:
                await asyncio.sleep(1.5)  # its registration with the trunk
            await scenario(phone)
        finally:
            done.set()
            await line
            if phone is not None:
                phone.close()
            stop(phone_process)
            await close()

    with trunk(folder):
        asyncio.run(asyncio.wait_for(with_the_line(), 180))
