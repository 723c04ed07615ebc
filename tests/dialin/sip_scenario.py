"""The line alone (no room): a phone call into Janus's SIP plugin that Companion's line answers,
run by test_sip_line.py as root in a private network namespace (``unshare --net python -m
tests.dialin.sip_scenario OUT_DIR``; phone_network.py has the parts).

The caller plays 1000 Hz and keys ``1 2 3 #`` by RFC 2833 telephone events; the line speaks
440 Hz, collects the keys, listens to the caller, and hangs up. It prints one JSON object of
what each side observed; the test asserts on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from companion.dialin.sip_line import Call, NotRegistered, SipLine
from companion.media import compat
from tests.dialin.phone_network import (
    LINE_HZ,
    RATE,
    heard_by_phone,
    network,
    peak_hz,
    start_phone,
    stop,
    tone,
    trunk_and_janus,
    wait_for,
)


async def scenario(folder: Path) -> dict[str, object]:
    observed: dict[str, object] = {}
    answered = asyncio.Event()

    async def on_call(call: Call) -> None:
        answered.set()
        call.leg.hears.say(tone(LINE_HZ, 6))
        keys = ""
        while not keys.endswith("#"):
            keys += await asyncio.wait_for(call.keys.get(), 20)
        observed["keys"] = keys
        assert call.leg.speaks is not None, "the caller's audio never arrived"
        heard = [(await call.leg.speaks.recv()).to_ndarray().reshape(-1) for _ in range(50)]
        observed["line_heard_hz"] = peak_hz(np.concatenate(heard), RATE)
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
