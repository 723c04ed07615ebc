"""Audio and video through the product's own room page: two headless Chromium pages with fake
camera and microphone join client1's 1:1 session, see and hear each other, one switches to
audio only; the media worker is killed and both are connected again within 10 seconds; the
counselor mutes the client's audio; a network change makes the client offer again."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser

# Test instrumentation only: keep every RTCPeerConnection the page makes, to read its stats.
RECORD_PCS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""

# Bytes received per kind on the page's newest connection.
INBOUND = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  if (!pc) return null;
  const out = { audio: 0, video: 0, state: pc.connectionState, count: window.__pcs.length };
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp') out[r.kind] += r.bytesReceived || 0;
  });
  return out;
}
"""

# Loudest moment (RMS) of the received mix over `ms`, through a WebAudio AnalyserNode.
HEAR = """
async (ms) => {
  const audio = document.querySelector('audio[data-media="mix"]');
  if (!audio || !audio.srcObject) return -1;
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(audio.srcObject).connect(analyser);
  const data = new Float32Array(analyser.fftSize);
  let loudest = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += v * v;
    loudest = Math.max(loudest, Math.sqrt(sum / data.length));
    await new Promise((r) => setTimeout(r, 40));
  }
  await ctx.close();
  return loudest;
}
"""

# A shown remote video: its size and how far it has played.
SHOWN_VIDEO = """
() => {
  const v = [...document.querySelectorAll('figure.media-tile:not([hidden]) video[data-mid]')][0];
  if (!v) return null;
  return { w: v.videoWidth, t: v.currentTime,
           frames: v.getVideoPlaybackQuality().totalVideoFrames };
}
"""


def _poll(page: Any, script: str, ok: Any, timeout: float, arg: Any = None) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = page.evaluate(script, arg) if arg is not None else page.evaluate(script)
        if ok(value):
            return value
        time.sleep(0.25)
    raise AssertionError(f"not reached in {timeout:g} s: last value {value!r}")


def _video_playing(page: Any) -> None:
    first = _poll(page, SHOWN_VIDEO, lambda v: v is not None and v["w"] > 0, 30)
    later = _poll(page, SHOWN_VIDEO,
                  lambda v: v is not None and v["t"] > first["t"] + 0.5
                  and v["frames"] > first["frames"], 10)
    assert later["w"] > 0


def _hears(page: Any) -> float:
    # Chromium's fake microphone beeps periodically: listen long enough for a few beeps.
    return float(page.evaluate(HEAR, 2500))


def _media_worker_pids(server_pid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server_pid and b"companion.media.worker" in cmdline:
            pids.append(int(entry.name))
    return pids


def _open_individual(page: Any, base: str, email: str) -> None:
    login(page, base, email)
    page.get_by_role("link", name="Join Individual session").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Individual session")


def test_two_people_see_and_hear_each_other_switch_to_audio_only_and_survive_a_worker_kill(
        live_server: Any, browser: Any) -> None:
    contexts = [browser.new_context(viewport={"width": 1280, "height": 800}),
                browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                    has_touch=True)]
    for c in contexts:
        c.add_init_script(RECORD_PCS)
    counselor, alex = (c.new_page() for c in contexts)
    try:
        _open_individual(counselor, live_server.url, "counselor@demo.test")
        _open_individual(alex, live_server.url, "client1@demo.test")
        expect(alex.get_by_text("You are in the waiting room")).to_be_visible()
        counselor.get_by_role("button", name="Admit Alex").click()

        # The device and connection check, then join with video.
        for page in (counselor, alex):
            page.get_by_role("button", name="Check camera and microphone").click()
            expect(page.get_by_label("Microphone level")).to_be_visible()
            expect(page.get_by_text(re.compile("^Suggested profile: "))).to_be_visible()
            join = page.get_by_role("button", name="Join with video")
            expect(join).to_be_enabled(timeout=15000)
            page.get_by_label("Standard").check()  # whatever a loaded test machine suggests
            join.click()
        assert alex.evaluate("document.documentElement.scrollWidth") <= 360

        # Each one shows the other's video playing and hears the other.
        for page in (counselor, alex):
            _video_playing(page)
        for page in (counselor, alex):
            assert _hears(page) > 0.01
        # Attendance sees video; the counselor sees Alex's profile and quality.
        people = counselor.get_by_role("list", name="People in the room")
        expect(people.get_by_role("listitem").filter(has_text="Alex")
               .get_by_text("video", exact=True)).to_be_visible(timeout=15000)
        expect(people.get_by_text(re.compile(r"^Standard"))).to_be_visible(timeout=15000)
        expect(people.get_by_role("button", name="Mute Alex's audio")).to_be_visible()
        assert axe_violations(alex) == []
        assert axe_violations(counselor) == []

        # Alex switches to audio only: no video either way, audio goes on.
        alex.get_by_label("Audio only").check()
        expect(alex.locator("figure.media-tile:not([hidden]) video[data-mid]")).to_have_count(
            0, timeout=10000)
        expect(counselor.locator("figure.media-tile:not([hidden]) video[data-mid]")).to_have_count(
            0, timeout=10000)
        time.sleep(1.5)  # what was in flight arrives
        before = alex.evaluate(INBOUND)
        time.sleep(2.0)
        after = alex.evaluate(INBOUND)
        assert after["video"] - before["video"] < 3000, (before, after)
        assert after["audio"] - before["audio"] > 2000, (before, after)
        assert _hears(alex) > 0.01
        expect(people.get_by_role("listitem").filter(has_text="Alex")
               .get_by_text("audio only", exact=True)).to_be_visible(timeout=15000)

        # The media workers die (one per core by default): both are connected again within 10
        # seconds, by themselves.
        pids = _media_worker_pids(live_server.process.pid)
        assert len(pids) >= 1, pids
        pcs_before = [p.evaluate(INBOUND)["count"] for p in (counselor, alex)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        for page, before in zip((counselor, alex), pcs_before, strict=True):
            def again(s: Any, before: int = before) -> bool:  # a new connection, media flowing
                return s["count"] > before and s["state"] == "connected" and s["audio"] > 2000

            _poll(page, INBOUND, again, max(0.5, 10 - (time.monotonic() - killed)))
        assert time.monotonic() - killed < 10
        for page in (counselor, alex):
            assert _hears(page) > 0.01

        # The counselor mutes Alex's audio from the people list: the server stops mixing it.
        people.get_by_role("button", name="Mute Alex's audio").click()
        expect(alex.get_by_text("A moderator turned off your microphone")).to_be_visible()
        time.sleep(0.5)
        assert _hears(counselor) < 0.005
        assert _hears(alex) > 0.01
        people.get_by_role("button", name="Unmute Alex's audio").click()
        time.sleep(0.5)
        assert _hears(counselor) > 0.01

        # A network change (the phone moved to another network): Alex offers again by itself.
        before = alex.evaluate(INBOUND)["count"]
        alex.evaluate("window.dispatchEvent(new Event('online'))")
        _poll(alex, INBOUND, lambda s: s["count"] > before and s["state"] == "connected", 10)
    finally:
        for c in contexts:
            c.close()
