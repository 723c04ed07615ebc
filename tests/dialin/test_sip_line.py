"""The dial-in line end to end on loopback: a real phone (baresip) calls through a stand-in
trunk (Kamailio) into Janus's SIP plugin, and Companion's line answers (sip_scenario.py).
Needs root for the private network namespace, and Debian's janus, kamailio and baresip, which
`make test-setup` installs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from companion.dialin.dtmf import TelephoneEvents, key_of_info

ROOT = Path(__file__).resolve().parents[2]


def _phone_network_ready() -> None:
    missing = [tool for tool in ("janus", "kamailio", "baresip", "espeak-ng", "unshare")
               if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        pytest.fail(f"the dial-in tests need root and {', '.join(missing) or 'nothing else'}: "
                    "run `make test-setup` as root")


@pytest.mark.phone_network
def test_a_caller_is_heard_hears_the_line_and_keys_arrive_by_telephone_events(tmp_path: Path):
    _phone_network_ready()
    run = subprocess.run(["unshare", "--net", sys.executable, "-m", "tests.dialin.sip_scenario",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    observed = json.loads(run.stdout.strip().splitlines()[-1])
    assert observed["registered"] and observed["established"]
    # An account the trunk refuses: the line says so in a sentence, it does not hang.
    assert "stranger_registered" not in observed
    assert observed["stranger_refused"].startswith("the trunk refused the line's registration (403")
    assert observed["keys"] == "123#"  # RFC 2833, read by Companion's leg (Janus 1.1 does not)
    assert observed["line_heard_hz"] == pytest.approx(1000, abs=20)  # the caller's tone
    assert observed["caller_heard_hz"] == pytest.approx(440, abs=20)  # the line's tone
    assert observed["caller_known"] and observed["hung_up_by_line"]
    assert observed["info_keys"] == "5#"  # SIP INFO, from Janus's "info" events


def _run_in_a_namespace(scenario: str) -> None:
    """A scenario file as pytest in a private network namespace, on SQLite (PostgreSQL and
    Redis are outside it)."""
    _phone_network_ready()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    run = subprocess.run(["unshare", "--net", sys.executable, "-m", "pytest", "-q", "-x",
                          "-p", "no:xdist", "-p", "no:cacheprovider", f"tests/dialin/{scenario}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout


@pytest.mark.phone_network
def test_a_client_joins_a_group_by_phone_end_to_end():
    """room_call_scenario.py, on SQLite in its own namespace (PostgreSQL and Redis are outside
    it): PIN by RFC 2833, admitted by the counselor's socket, each hears the other through the
    media worker, *6, removal hangs up, three wrong PINs hang up, the minutes are phone."""
    _run_in_a_namespace("room_call_scenario.py")


@pytest.mark.phone_network
def test_a_counselor_calls_a_client_into_the_room_end_to_end():
    """called_scenario.py, as the scenario above: the line calls the client's phone for the
    counselor; busy, cancelled while ringing, answered with the client's PIN and in the room
    (heard through the media worker) without an Admit; each step on the counselor's socket."""
    _run_in_a_namespace("called_scenario.py")


def _event(key: int, end: bool) -> bytes:
    return bytes([key, 0x80 if end else 0x0A, 0x03, 0x20])


def test_a_telephone_event_is_one_key_however_often_its_end_is_repeated():
    keys: list[str] = []
    events = TelephoneEvents(keys.append)
    for timestamp, key in ((1000, 5), (2600, 11), (4200, 10)):
        events.packet(_event(key, end=False), timestamp)  # the tone goes on: no key yet
        for _ in range(3):  # the end packet, sent three times for loss
            events.packet(_event(key, end=True), timestamp)
    events.packet(b"\x01", 5000)  # too short: ignored
    events.packet(_event(16, end=True), 6000)  # not a key (flash): ignored
    assert keys == ["5", "#", "*"]


@pytest.mark.parametrize(("content_type", "body", "key"), [
    ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", "5"),
    ("application/dtmf-relay", "signal= #\nDuration=100", "#"),
    ("application/dtmf", "*", "*"),
    ("application/dtmf-relay", "Signal=X\r\n", None),
    ("application/dtmf-relay", "Duration=160", None),
    ("text/plain", "Signal=5", None),
])
def test_a_sip_info_body_says_its_key_or_none(content_type: str, body: str, key: str | None):
    assert key_of_info(content_type, body) == key
