"""The line alone (no room): a phone call into Janus's SIP plugin that Companion's line answers,
run by test_sip_line.py as root in a private network namespace (``unshare --net python -m
tests.dialin.sip_scenario OUT_DIR``; phone_network.py has the parts).

The caller plays 1000 Hz and keys ``1 2 3 #`` by RFC 2833 telephone events; the line speaks
440 Hz, collects the keys, listens to the caller, and hangs up. A second caller keys ``5 #`` by
SIP INFO (a handle of Janus's own SIP plugin, as baresip 1.0 cannot send INFO). It prints
one JSON object of what each side observed; the test asserts on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection

from companion.dialin.janus import JanusError, JanusSession
from companion.dialin.phone_leg import decode
from companion.dialin.sip_line import SIP_PLUGIN, Call, NotRegistered, SipLine
from companion.media import compat
from tests.dialin.phone_network import (
    CALLER_HZ,
    LINE_HZ,
    RATE,
    TRUNK,
    heard_by_phone,
    network,
    peak_hz,
    start_phone,
    stop,
    tone,
    trunk_and_janus,
    wait_for,
)
from tests.media_helpers import ToneTrack


async def info_caller(janus_url: str, observed: dict[str, object]) -> None:
    """A caller whose phone sends its keys by SIP INFO: a handle of Janus's own SIP plugin
    calling the line through the trunk, keying ``5 #`` with ``dtmf_info``."""
    async with JanusSession(janus_url, lambda handle, event: None) as janus:
        handle = await janus.attach(SIP_PLUGIN)
        await janus.request(handle, {"request": "register", "username": "sip:info@127.0.0.1",
                                     "secret": "x", "proxy": TRUNK})
        await asyncio.sleep(1)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver(ToneTrack(CALLER_HZ), direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        await janus.request(handle, {"request": "call", "uri": "sip:companion@127.0.0.1:5060"},
                            jsep={"type": "offer", "sdp": pc.localDescription.sdp})
        deadline = time.monotonic() + 15
        while "info_keys" not in observed and time.monotonic() < deadline:
            for digit in "5#":
                try:
                    await janus.request(handle, {"request": "dtmf_info", "digit": digit})
                except JanusError:
                    pass  # not in a call yet: key again
                await asyncio.sleep(0.5)
        await pc.close()


async def scenario(folder: Path) -> dict[str, object]:
    observed: dict[str, object] = {}
    answered = asyncio.Event()

    async def on_call(call: Call) -> None:
        if "keys" in observed:  # the second call: the SIP INFO caller's
            keys = ""  # keyed again until the call is up: the first may precede it
            while not keys.endswith("5#"):
                keys += await asyncio.wait_for(call.keys.get(), 20)
            observed["info_keys"] = keys[-2:]
            return
        answered.set()
        call.leg.hears.say(tone(LINE_HZ, 6))
        keys = ""
        while not keys.endswith("#"):
            keys += await asyncio.wait_for(call.keys.get(), 20)
        observed["keys"] = keys
        voice: list[bytes] = []  # the caller's packets, as the line relays them to a room
        call.leg.on_voice = voice.append
        for _ in range(100):
            if len(voice) >= 50:
                break
            await asyncio.sleep(0.05)
        assert len(voice) >= 50 and call.leg.law is not None, "the caller's audio never arrived"
        heard = np.concatenate([decode(packet, call.leg.law) for packet in voice[:50]])
        observed["line_heard_hz"] = peak_hz(heard, RATE)
        observed["caller_known"] = bool(call.caller)

    phone_process = phone = None
    try:
        with trunk_and_janus(folder) as line_settings:
            stranger = dataclasses.replace(line_settings, user="sip:stranger@127.0.0.1")
            try:
                async with SipLine(stranger, on_call):
                    observed["stranger_registered"] = True
            except NotRegistered as refused:
                observed["stranger_refused"] = str(refused)
            async with SipLine(line_settings, on_call):
                observed["registered"] = True
                phone_process, phone = await asyncio.to_thread(start_phone, folder)
                phone.command("dial", "sip:companion@127.0.0.1:5060")
                observed["established"] = await wait_for(
                    lambda: phone.saw("CALL_ESTABLISHED"), 15)
                await asyncio.wait_for(answered.wait(), 5)
                await asyncio.sleep(2)  # let the caller hear some of the line's tone
                for key in "123#":
                    phone.command("sndcode", key)
                    await asyncio.sleep(0.3)
                observed["hung_up_by_line"] = await wait_for(lambda: phone.saw("CALL_CLOSED"), 20)
                await info_caller(line_settings.janus_url, observed)
    finally:
        if phone is not None:
            phone.close()
        stop(phone_process)
    heard = heard_by_phone(folder)
    if heard.size:
        observed["caller_heard_hz"] = peak_hz(heard[RATE // 2:RATE * 2], RATE)
    return observed


if __name__ == "__main__":
    network()
    compat.install_host_addresses(["127.0.0.1"])
    print(json.dumps(asyncio.run(scenario(Path(sys.argv[1])))))
