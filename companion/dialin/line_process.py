"""The dial-in line as a process of its own (`companion dialin-line`; `companion serve` starts it
when ``COMPANION_SIP_REGISTRAR`` is set): Janus with Companion's configuration, the line
registered with the trunk, each call run by the engine against the media workers, and the calls
counselors ask for placed (dialer.py).

It is asyncio (aiortc) and so never runs inside the web process, which gevent patches. It
reaches the media workers as the web side does (their addresses in ``COMPANION_MEDIA_WORKERS``,
the channel secret from the instance folder), and the database through the app.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess  # nosec B404
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from flask import Flask

from companion.dialin import janus_config, prompts
from companion.dialin.dialer import Dialer
from companion.dialin.engine import CallRunner, Workers
from companion.dialin.janus import JanusError
from companion.dialin.sip_line import Call, LineSettings, NotRegistered, SipLine

log = logging.getLogger("companion.dialin.line")

JANUS_START_SECONDS = 20
RETRY_SECONDS = 30  # a line the trunk did not take is registered again this often


class LineConfigError(ValueError):
    """The line's settings are incomplete or wrong: the sentence says which."""


@dataclass(frozen=True)
class LineConfig:
    line: LineSettings
    janus: janus_config.JanusSettings
    own_janus: bool  # Companion starts Janus (no COMPANION_SIP_JANUS_URL)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LineConfig | None:
        """The line from ``COMPANION_SIP_*``, or None when no registrar is set (no line)."""
        env = os.environ if env is None else env
        registrar = env.get("COMPANION_SIP_REGISTRAR", "").strip()
        if not registrar:
            return None
        user = env.get("COMPANION_SIP_USER", "").strip()
        if not registrar.startswith("sip:") or not user.startswith("sip:"):
            raise LineConfigError("COMPANION_SIP_REGISTRAR and COMPANION_SIP_USER are SIP "
                                  "addresses such as sip:sip.provider.example and "
                                  "sip:15550100@sip.provider.example")
        janus = janus_config.JanusSettings(
            api_port=int(env.get("COMPANION_SIP_JANUS_PORT", "8088")),
            sip_ip=env.get("COMPANION_SIP_LOCAL_IP", "127.0.0.1"),
            sip_rtp_ports=env.get("COMPANION_SIP_RTP_PORTS", "41000-42000"))
        url = env.get("COMPANION_SIP_JANUS_URL", "").strip()
        return cls(LineSettings(janus_url=url or f"http://127.0.0.1:{janus.api_port}/janus",
                                registrar=registrar, user=user,
                                secret=env.get("COMPANION_SIP_PASSWORD", ""),
                                helpers=int(env.get("COMPANION_SIP_CALLS", "8"))),
                   janus, own_janus=not url)


NEEDS_REDIS = ("Dial-in needs Redis: set REDIS_URL. The phone line runs in a process of its own, "
               "and staff hear of its callers (a knock, a call's progress) through Redis.")


def require_redis(env: Mapping[str, str] | None = None) -> None:
    """The line's events (a knock, a call's steps) reach the web process's sockets, and both
    agree which media worker holds a room, only through Redis: LineConfigError without it."""
    if not (os.environ if env is None else env).get("REDIS_URL"):
        raise LineConfigError(NEEDS_REDIS)


def start_janus(folder: Path, settings: janus_config.JanusSettings) -> subprocess.Popen[bytes]:
    """Janus with Companion's configuration (written into ``folder``); raises when Debian's
    janus is not installed."""
    program = shutil.which("janus")
    if program is None:
        raise LineConfigError("the dial-in line needs Janus: apt-get install janus")
    janus_config.write(folder, settings)
    return subprocess.Popen([program, "-F", str(folder), "-N", "-o"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _janus_answers(url: str) -> None:
    deadline = time.monotonic() + JANUS_START_SECONDS
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{url}/info") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise LineConfigError(f"Janus did not answer at {url} within "
                                      f"{JANUS_START_SECONDS} s")
            await asyncio.sleep(0.3)


def ensure_prompts(folder: Path) -> None:
    """Record the prompts once, at the line's first start (espeak-ng, never fetched)."""
    if not all(prompts.prompt_file(folder, p, lang).exists()
               for p in prompts.Prompt for lang in prompts.LANGS):
        prompts.render_all(folder)


async def serve_line(app: Flask, config: LineConfig, workers: Workers,
                     stop: asyncio.Event | None = None,
                     ready: asyncio.Event | None = None) -> None:
    """Run the line until ``stop`` is set (or forever); ``ready`` is set once it is
    registered with the trunk."""
    instance = Path(app.config["INSTANCE_PATH"])
    folder = instance / prompts.FOLDER
    await asyncio.to_thread(ensure_prompts, folder)
    janus = start_janus(instance / "janus", config.janus) if config.own_janus else None
    try:
        await _janus_answers(config.line.janus_url)

        async def on_call(call: Call) -> None:
            await CallRunner(app, workers, folder, call).run()

        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                async with SipLine(config.line, on_call) as line:
                    log.info("the dial-in line is registered")
                    if ready is not None:
                        ready.set()
                    # Counselors' calls to clients go out on the same line.
                    await Dialer(app, line, workers, folder).run(stop)
            except (NotRegistered, JanusError, aiohttp.ClientError) as exc:
                log.warning("The dial-in line is not taking calls: %s. Trying again in %d s.",
                            exc, RETRY_SECONDS)
                try:
                    await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
                except TimeoutError:
                    pass
    finally:
        if janus is not None:
            stop_process(janus)


def stop_process(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; reaped either way (no zombie)."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def spawn(worker_addresses: list[str]) -> subprocess.Popen[bytes]:
    """`companion dialin-line` as a child of `companion serve`, told where the media workers
    are (the embedded ones listen on ports the OS chose)."""
    import sys

    env = {**os.environ, "COMPANION_MEDIA_WORKERS": ",".join(worker_addresses)}
    return subprocess.Popen([sys.executable, "-m", "companion", "dialin-line"],  # nosec B603
                            env=env)
