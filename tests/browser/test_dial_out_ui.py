"""Calling a client's phone into a session, in the browser (docs/dial-in.md, "In the web
client"): on a 360 px phone a counselor writes Sam's number on Sam's record page (a number that
is not one is refused under the field, nothing saved), opens the live group, presses "Call
Sam's phone" and follows the call as the line's steps arrive, then cancels it. A peer supporter
in the same room has no such section and hears nothing of the call. Axe finds nothing serious;
nothing is wider than the screen.

The line is another process: it writes each step to the database and publishes it through the
message queue (Redis), as `companion dialin-line` does. Here the test is that process: it takes
the call with ``dial_out.claim_next()`` and rings it with ``set_state``, in an app of its own on
the server's database and Redis (a redis-server of the test's own, so that no other server on
a shared Redis hears of this demo session). COMPANION_SCREENSHOTS=<folder> keeps screenshots.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    free_port,
    fresh_database,
    login,
    login_body,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser

SECRET = "dial-out-ui"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "en-US", "timezone_id": "America/Chicago"}
GROUP = "Relapse Prevention Group"  # the demo's session, open now; Sam is one of its clients


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip("the line's steps reach the room through Redis: install redis-server")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([program, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           redis_url: str) -> Iterator[tuple[LiveServer, Any, Any]]:
    """The demo with dial-in configured (a number, and a line: COMPANION_SIP_REGISTRAR; media
    off, so no line process starts), its program allowing outbound calls; and the line's app."""
    tmp = tmp_path_factory.mktemp("dial-out")
    database = fresh_database(tmp, "companion_dial_out")
    live = start_server(tmp, database, {
        "COMPANION_MEDIA_WORKER_COUNT": "0", "COMPANION_SIP_NUMBER": "+1 555 0100",
        "COMPANION_SIP_REGISTRAR": "sip:sip.trunk.example",
        "COMPANION_SIP_USER": "sip:15550100@sip.trunk.example", "SECRET_KEY": SECRET,
        "REDIS_URL": redis_url})
    http = requests.Session()
    answer = http.post(f"{live.url}/api/v1/auth/login", json=login_body("admin@demo.test"),
                       timeout=10)
    assert answer.status_code == 200, answer.text
    program = http.get(f"{live.url}/api/v1/programs", timeout=10).json()["items"][0]
    http.headers["X-CSRF-Token"] = answer.json()["csrf_token"]

    def allow_calls(allowed: bool) -> None:  # as the program's settings do
        changed = http.patch(f"{live.url}/api/v1/programs/{program['id']}", timeout=10,
                             json={"dial_in_enabled": True, "outbound_calls_allowed": allowed})
        assert changed.status_code == 200, changed.text

    allow_calls(True)

    from companion import create_app

    line = create_app({"DATABASE_URL": database, "INSTANCE_PATH": str(tmp / "instance"),
                       "SECRET_KEY": SECRET, "ASYNC_MODE": "threading", "REDIS_URL": redis_url})
    yield live, line, allow_calls
    from companion.core.extensions import db

    with line.app_context():  # the line's connections to the server's database, closed
        db.session.remove()
        db.engine.dispose()
    stop_server(live)


def _shot(page: Any, name: str, near: Any) -> None:
    """The screen as the person sees it with ``near`` scrolled into sight, when
    COMPANION_SCREENSHOTS names a folder (to look at by eye)."""
    folder = os.environ.get("COMPANION_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        near.scroll_into_view_if_needed()
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _sam(line: Any) -> tuple[int, list[Any]]:
    """Sam's id, and the calls to Sam on record (read as the line reads them)."""
    from sqlalchemy import select

    from companion.accounts.models import User
    from companion.core.extensions import db
    from companion.dialin.models import PhoneCall

    with line.app_context():
        sam = db.session.scalar(select(User).where(User.email == "client2@demo.test"))
        assert sam is not None
        calls = list(db.session.scalars(select(PhoneCall).where(PhoneCall.user_id == sam.id)))
        db.session.remove()
        return sam.id, calls


def _open_room(page: Any, base: str, email: str) -> None:
    login(page, base, email)
    page.get_by_role("link", name=f"Join {GROUP}").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(GROUP)
    expect(page.get_by_role("heading", name="Waiting room")).to_be_visible()


def test_a_counselor_writes_sams_number_calls_sam_from_the_room_and_cancels(
        server: tuple[LiveServer, Any, Any], browser: Any) -> None:
    live, line, allow_calls = server
    sam_id, calls = _sam(line)
    assert calls == []
    counselor_phone = browser.new_context(**PHONE)
    peer_phone = browser.new_context(**PHONE)
    try:
        page = counselor_phone.new_page()
        login(page, live.url, "counselor@demo.test")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")

        # Sam's record page: no number yet.
        page.goto(f"{live.url}/clients/{sam_id}")
        card = page.locator(".card", has=page.get_by_role("heading", name="Phone number"))
        expect(card).to_contain_text("No phone number on file.")
        number = card.get_by_label("Sam's phone number")
        save = card.get_by_role("button", name="Save number")
        expect(card.get_by_role("button", name="Erase number")).to_be_hidden()

        # A number without its area code: the sentence under the field, which is marked and
        # keeps the focus; nothing is saved.
        number.fill("555-0123")
        number.press("Enter")
        expect(number).to_have_attribute("aria-invalid", "true")
        expect(number).to_have_accessible_description(re.compile(
            r"^“555-0123” is not a phone number we can call\. Write the phone number with its "
            r"area code, such as \(555\) 555-0123, or with \+ and the country code for a "
            r"number outside the US\.$"))
        expect(card.locator(".field-error")).to_be_visible()
        expect(card.locator("#client-phone-hint")).to_be_hidden()  # (said by the error)
        expect(number).to_be_focused()
        expect(card).to_contain_text("No phone number on file.")
        _fits(page)
        _shot(page, "record-page-wrong-number", card)
        assert axe_violations(page) == []
        assert _number_on_file(line, sam_id) is None

        # As people write it: saved, said in a sentence by the button, the field's mark gone.
        number.fill("(555) 555-0123")
        save.focus()
        page.keyboard.press("Enter")
        saved = card.get_by_role("status")
        expect(saved).to_have_text("Saved: Companion can call Sam at +1 (555) 555-0123 when "
                                   "their counselor calls them into a session.")
        expect(card).to_contain_text("On file: +1 (555) 555-0123")
        expect(number).not_to_have_attribute("aria-invalid", "true")
        expect(card.locator("#client-phone-hint")).to_be_visible()
        expect(number).to_have_value("+1 (555) 555-0123")
        expect(card.get_by_role("button", name="Erase number")).to_be_visible()
        assert _number_on_file(line, sam_id) == "+15555550123"
        _fits(page)
        _shot(page, "record-page-saved", card)
        assert axe_violations(page) == []

        # The peer supporter of the group, in the room first: staff tools, and no calling.
        peer = peer_phone.new_page()
        _open_room(peer, live.url, "peer@demo.test")

        # The counselor in the live room: Sam (not in the room, a number on file) can be called.
        frames: list[str] = []
        _listen_for_phone_calls(page, frames)
        page.goto(f"{live.url}/home")
        page.get_by_role("link", name=f"Join {GROUP}").first.click()
        section = page.locator("section.phone-calls")
        expect(section.get_by_role("heading", name="Call a client's phone")).to_be_visible()
        call_sam = section.get_by_role("button", name="Call Sam's phone")
        expect(call_sam).to_be_visible()

        # Pressed twice from the keyboard: one call, and the button keeps the focus.
        call_sam.focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        calls_list = section.get_by_role("list", name="Phone calls")
        row = calls_list.get_by_role("listitem")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Calling Sam's phone…")
        expect(call_sam).to_have_attribute("aria-disabled", "true")
        expect(call_sam).to_be_focused()
        call_sam.click(force=True)  # busy: nothing happens
        page.wait_for_timeout(500)
        _, calls = _sam(line)
        assert [c.state.value for c in calls] == ["requested"]
        _fits(page)
        _shot(page, "room-calling", section)
        assert axe_violations(page) == []

        # The line takes the call and it rings: the room hears it at once, by the socket.
        from companion.dialin import dial_out
        from companion.dialin.models import CallState

        with line.app_context():
            claimed = dial_out.claim_next()
            assert claimed is not None and claimed.number == "+15555550123"
            dial_out.set_state(claimed.call_id, CallState.RINGING)
        expect(row).to_contain_text("Sam's phone is ringing.", timeout=4000)
        # (The page may read it first, when it asks for the list after the "dialing" event.)
        for _ in range(40):
            if any('"ringing"' in frame for frame in frames):
                break
            page.wait_for_timeout(100)
        assert any('"ringing"' in frame for frame in frames), frames
        _shot(page, "room-ringing", section)

        # Cancelled from the keyboard: said so, no Cancel left, Sam can be called again (the
        # focus goes back to Sam's button).
        cancel = row.get_by_role("button", name="Cancel call")
        expect(cancel).to_have_accessible_name("Cancel call to Sam's phone")
        cancel.focus()
        page.keyboard.press("Enter")
        expect(row).to_have_text("The call to Sam's phone was cancelled.")
        expect(row.get_by_role("button")).to_have_count(0)
        expect(call_sam).not_to_have_attribute("aria-disabled", "true")
        expect(call_sam).to_be_focused()
        _, calls = _sam(line)
        assert [c.state.value for c in calls] == ["cancelled"]
        _fits(page)
        _shot(page, "room-cancelled", section)
        assert axe_violations(page) == []

        # The peer supporter: the room's staff tools, no calling, no word of the call.
        expect(peer.get_by_role("heading", name="Moderation")).to_be_visible()
        expect(peer.get_by_role("heading", name="Call a client's phone")).to_have_count(0)
        expect(peer.get_by_role("button", name="Call Sam's phone")).to_have_count(0)
        assert "Sam's phone" not in peer.locator("main").inner_text()
        _fits(peer)
        _shot(peer, "room-peer-supporter", peer.get_by_role("heading", name="Moderation"))

        # Erased from the record page (after a confirmation): said so, and nothing on file.
        page.goto(f"{live.url}/clients/{sam_id}")
        asked: list[str] = []

        def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept()

        page.on("dialog", answer)
        card.get_by_role("button", name="Erase number").click()
        expect(card.get_by_role("status")).to_have_text(
            "Erased: Sam's phone number is no longer on file, so Companion cannot call Sam into "
            "a session.")
        assert asked == ["Erase Sam's phone number? Companion can then no longer call Sam into "
                         "a session."]
        expect(card).to_contain_text("No phone number on file.")
        expect(number).to_have_value("")
        expect(card.get_by_role("button", name="Erase number")).to_be_hidden()
        assert _number_on_file(line, sam_id) is None

        # Once the program no longer allows calls: no card on the record page, no section in
        # the room (the list answers 404).
        allow_calls(False)
        page.reload()
        expect(page.get_by_role("heading", name="Joining by phone")).to_be_visible()
        expect(page.get_by_role("heading", name="Phone number")).to_have_count(0)
        with page.expect_response(lambda r: r.url.endswith("/phone-calls")) as listed:
            page.goto(f"{live.url}/home")
            page.get_by_role("link", name=f"Join {GROUP}").first.click()
        assert listed.value.status == 404
        expect(page.get_by_role("heading", name="Waiting room")).to_be_visible()
        expect(page.get_by_role("heading", name="Call a client's phone")).to_be_hidden()
    finally:
        counselor_phone.close()
        peer_phone.close()


def _number_on_file(line: Any, client_id: int) -> str | None:
    from companion.core.extensions import db
    from companion.dialin import phones

    with line.app_context():
        number = phones.number_of(client_id)
        db.session.remove()
        return number


def _listen_for_phone_calls(page: Any, frames: list[str]) -> None:
    """Keep every `phone_call` frame the page's sockets receive from now on."""
    def watch(socket: Any) -> None:
        socket.on("framereceived",
                  lambda frame: frames.append(frame) if "phone_call" in str(frame) else None)

    page.on("websocket", watch)
