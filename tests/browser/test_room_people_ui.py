"""The live room as people experience it, in Chromium: clients on a 360 px phone, staff on a
laptop. Each test schedules its own session of the demo group (or a 1:1), so ending or locking
it leaves the demo's own sessions alone."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser

DEMO_GROUP_ID = 1  # the demo clinic's one group: Chris leads it, Pat supports, six clients
ACK_TIMEOUT_MS = 8000  # the room page's wait for an ack (webui/app/views/room.js)
ENDED = re.compile(r"^This session has ended at \d{1,2}:\d{2}\s?[AP]M\s[A-Z]{2,5}\.$")

# A fast loopback link as Chromium describes one it has not measured: about 1.5 Mbps, with
# random noise (the room used to call anything under 1.5 slow).
NOISY_DOWNLINK = """
Object.defineProperty(Navigator.prototype, 'connection', { configurable: true, get: () => ({
  downlink: 1.45, effectiveType: '4g', rtt: 100, saveData: false,
  addEventListener() {}, removeEventListener() {} }) });
"""


def _phone(browser: Any) -> Any:
    return browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                               has_touch=True)


def _laptop(browser: Any) -> Any:
    return browser.new_context(viewport={"width": 1280, "height": 800})


def _api(page: Any, method: str, path: str, body: Any = None) -> Any:
    """A call through the page's own API module (its session cookie and CSRF token)."""
    return page.evaluate(
        """async ([method, path, body]) => {
             const api = await import('/app/api.js');
             return api.api(method, path, body ?? undefined);
           }""", [method, path, body])


def _schedule(counselor: Any, **body: Any) -> int:
    """A session starting now, scheduled by the logged-in counselor; its id."""
    body = {"starts_at": datetime.now(UTC).isoformat(), "duration_minutes": 60, **body}
    return int(_api(counselor, "POST", "/api/v1/sessions", body)["id"])


def _client_id(counselor: Any, name: str) -> int:
    caseload = _api(counselor, "GET", "/api/v1/caseload?limit=200")["items"]
    return next(int(c["id"]) for c in caseload if c["display_name"] == name)


def _open_room(page: Any, base: str, session_id: int) -> None:
    page.goto(f"{base}/sessions/{session_id}")
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Session")


def _counselor_in(browser: Any, base: str, **session: Any) -> tuple[Any, int]:
    page = _laptop(browser).new_page()
    login(page, base, "counselor@demo.test")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    session_id = _schedule(page, **session)
    _open_room(page, base, session_id)
    expect(page.get_by_role("heading", name="Waiting room")).to_be_visible()
    return page, session_id


def _client_at_door(browser: Any, base: str, email: str, session_id: int) -> Any:
    page = _phone(browser).new_page()
    login(page, base, email)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    _open_room(page, base, session_id)
    return page


def _admitted(browser: Any, base: str, counselor: Any, email: str, name: str,
              session_id: int) -> Any:
    page = _client_at_door(browser, base, email, session_id)
    expect(page.get_by_text("You are in the waiting room")).to_be_visible()
    counselor.get_by_role("button", name=f"Admit {name}").click()
    expect(page.get_by_role("heading", name="Chat")).to_be_visible()
    return page


def _phone_checks(page: Any) -> None:
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _close(*pages: Any) -> None:
    for page in pages:
        if page is not None:
            page.context.close()


def test_ending_the_session_says_so_in_the_room_and_the_waiting_room(live_server, browser):
    base = live_server.url
    counselor = riley = morgan = None
    try:
        counselor, sid = _counselor_in(browser, base, group_id=DEMO_GROUP_ID,
                                       title=f"Ending {uuid.uuid4().hex[:4]}")
        riley = _admitted(browser, base, counselor, "client4@demo.test", "Riley", sid)
        morgan = _client_at_door(browser, base, "client6@demo.test", sid)
        expect(morgan.get_by_text("You are in the waiting room")).to_be_visible()

        counselor.once("dialog", lambda dialog: dialog.accept())
        counselor.get_by_role("button", name="End session for everyone").click()
        for page in (counselor, riley, morgan):
            expect(page.get_by_text(ENDED)).to_be_visible()
            expect(page.get_by_role("link", name="Back to home")).to_be_visible()
            expect(page.get_by_role("heading", name="Chat")).to_be_hidden()
            assert page.get_by_text("Connection lost").count() == 0
        # Past the wait for an ack the socket could no longer bring: still the ended page.
        counselor.wait_for_timeout(ACK_TIMEOUT_MS + 1000)
        expect(counselor.get_by_text(ENDED)).to_be_visible()
        assert counselor.get_by_text("did not answer").count() == 0
        _phone_checks(riley)

        # Opening the ended session's room again: the same page, and no socket at all.
        sockets: list[Any] = []
        riley.on("websocket", lambda ws: sockets.append(ws))
        riley.reload()
        expect(riley.get_by_text(ENDED)).to_be_visible()
        riley.wait_for_timeout(500)
        assert sockets == []
        _phone_checks(riley)
    finally:
        _close(counselor, riley, morgan)


def test_a_reload_and_a_late_joiner_see_the_session_so_far(live_server, browser):
    base = live_server.url
    counselor = riley = morgan = None
    try:
        counselor, sid = _counselor_in(browser, base, group_id=DEMO_GROUP_ID,
                                       title=f"Rejoining {uuid.uuid4().hex[:4]}")
        riley = _admitted(browser, base, counselor, "client4@demo.test", "Riley", sid)
        riley.get_by_label("Message to the group").fill("Day 12 today")
        riley.get_by_role("button", name="Send").click()
        riley.get_by_role("button", name="Raise hand").click()
        counselor.get_by_role("button", name="Start check-in round").click()
        riley.get_by_label(re.compile("^Mood")).fill("6")
        riley.get_by_label(re.compile("^Craving")).fill("7")
        riley.get_by_label("One word for today").fill("tired")
        riley.get_by_role("button", name="Share").click()
        expect(riley.get_by_text("Thanks for checking in.")).to_be_visible()
        counselor.get_by_role("button", name="Mute Riley's chat").click()
        expect(riley.get_by_label("Message to the group")).to_be_disabled()

        # Riley reloads: the chat so far, the raised hand, the round and the mute come back.
        riley.reload()
        chat = riley.get_by_role("list", name="Chat messages")
        expect(chat.get_by_text("Day 12 today")).to_be_visible()
        expect(riley.get_by_role("list", name="Raised hands in order")
               .get_by_text("Riley")).to_be_visible()
        expect(riley.get_by_role("button", name="Lower hand")).to_be_visible()
        expect(riley.get_by_text("Thanks for checking in.")).to_be_visible()
        expect(riley.get_by_label("Message to the group")).to_be_disabled()
        expect(riley.get_by_text("A moderator has muted your chat.")).to_be_visible()
        _phone_checks(riley)

        # The counselor reloads: the board keeps Riley's values.
        counselor.reload()
        board = counselor.get_by_role("table")
        expect(board.get_by_role("row", name=re.compile("Riley 6 7 tired"))).to_be_visible()
        expect(counselor.get_by_role("list", name="Raised hands in order")
               .get_by_text("Riley")).to_be_visible()
        expect(counselor.get_by_role("button", name="End check-in round")).to_be_visible()

        # Morgan comes late: admitted from the waiting room into the session as it stands.
        morgan = _admitted(browser, base, counselor, "client6@demo.test", "Morgan", sid)
        expect(morgan.get_by_role("list", name="Chat messages")
               .get_by_text("Day 12 today")).to_be_visible()
        expect(morgan.get_by_role("list", name="Raised hands in order")
               .get_by_text("Riley")).to_be_visible()
        expect(morgan.get_by_label(re.compile("^Mood"))).to_be_visible()
        morgan_board = morgan.get_by_role("table")
        expect(morgan_board.get_by_role("row", name=re.compile("^Riley"))).to_be_visible()
        assert "tired" not in morgan_board.inner_text()
        _phone_checks(morgan)
    finally:
        _close(counselor, riley, morgan)


def test_staff_see_who_a_locked_room_keeps_out_and_unlocking_lets_them_knock(live_server,
                                                                            browser):
    base = live_server.url
    counselor = morgan = None
    try:
        counselor, sid = _counselor_in(browser, base, group_id=DEMO_GROUP_ID,
                                       title=f"Locked {uuid.uuid4().hex[:4]}")
        counselor.get_by_role("button", name="Lock room").click()
        expect(counselor.get_by_role("button", name="Unlock room")).to_be_visible()

        morgan = _client_at_door(browser, base, "client6@demo.test", sid)
        expect(morgan.get_by_text(re.compile("^The room is locked"))).to_be_visible()
        _phone_checks(morgan)
        kept_out = counselor.get_by_role("list", name="Kept out by the lock")
        expect(kept_out.get_by_text("Morgan")).to_be_visible()
        expect(counselor.get_by_text("Morgan is kept out by the lock.")).to_be_visible()
        assert axe_violations(counselor) == []

        # Unlocking: Morgan's page moves to the waiting room by itself; staff admit her.
        counselor.get_by_role("button", name="Unlock room").click()
        expect(morgan.get_by_text("You are in the waiting room")).to_be_visible()
        expect(kept_out).to_be_hidden()
        expect(counselor.get_by_text("Morgan is waiting to be admitted.")).to_be_visible()
        counselor.get_by_role("button", name="Admit Morgan").click()
        expect(morgan.get_by_role("heading", name="Chat")).to_be_visible()
    finally:
        _close(counselor, morgan)


def test_a_family_member_has_meetings_and_staff_see_whose_family_they_are(live_server,
                                                                         browser):
    base = live_server.url
    counselor = jamie = casey = None
    try:
        # Jamie's menu has Meetings; meetings for families come first.
        jamie = _phone(browser).new_page()
        login(jamie, base, "family@demo.test")
        # The home page first: a click while it is still being drawn can be drawn over.
        expect(jamie.get_by_role("heading", level=1)).to_have_text("Hello, Jamie")
        jamie.get_by_role("link", name="Meetings").click()
        expect(jamie.get_by_role("heading", level=1)).to_have_text("Meetings")
        search = jamie.get_by_role("search")
        search.get_by_role("button", name="Search").click()
        first = search.locator("li.meeting").first
        expect(first).to_contain_text("Al-Anon")
        _phone_checks(jamie)

        # In Casey's family session, staff see that Jamie is Casey's family.
        counselor = _laptop(browser).new_page()
        login(counselor, base, "counselor@demo.test")
        expect(counselor.get_by_role("button", name="Log out")).to_be_visible()
        sid = _schedule(counselor, client_id=_client_id(counselor, "Casey"), family=True,
                        title=f"Casey's family {uuid.uuid4().hex[:4]}")
        _open_room(counselor, base, sid)
        _open_room(jamie, base, sid)
        expect(jamie.get_by_text("You are in the waiting room")).to_be_visible()
        waiting = counselor.get_by_role("list", name="Waiting to be admitted")
        expect(waiting.get_by_text("family of Casey")).to_be_visible()
        expect(counselor.get_by_text("Jamie (family of Casey) is waiting to be admitted.")
               ).to_be_visible()
        assert axe_violations(counselor) == []
        assert jamie.get_by_text("family of").count() == 0

        # Casey invites someone new: "Shared with" shows them, not yet choosable, and says so.
        casey = _phone(browser).new_page()
        login(casey, base, "client5@demo.test")
        expect(casey.get_by_role("button", name="Log out")).to_be_visible()
        casey.goto(f"{base}/consents")
        invite = casey.locator("form", has=casey.get_by_role(
            "heading", name="Invite a family member"))
        invite.get_by_label("Their email").fill(f"kin-{uuid.uuid4().hex[:6]}@example.test")
        invite.get_by_label("Their name").fill("Robin")
        invite.get_by_role("button", name="Send invitation").click()
        expect(casey.get_by_text(re.compile("^(Invitation emailed|Give Robin)"))).to_be_visible()
        option = casey.get_by_label("Shared with").locator(
            "option", has_text="Robin (invited, not yet accepted)")
        expect(option.last).to_be_disabled()
        expect(casey.get_by_text("Robin: invited, not yet accepted. You can share with them "
                                 "once they accept the invitation.")).to_be_visible()
        expect(casey.get_by_role("list").get_by_text("invited, not yet accepted").first
               ).to_be_visible()
        _phone_checks(casey)
    finally:
        _close(counselor, jamie, casey)


def test_in_the_room_the_controls_say_what_is_so(live_server, browser):
    base = live_server.url
    counselor = peer = riley = None
    try:
        counselor, sid = _counselor_in(browser, base, group_id=DEMO_GROUP_ID,
                                       title=f"Details {uuid.uuid4().hex[:4]}")
        peer = _laptop(browser).new_page()
        login(peer, base, "peer@demo.test")
        expect(peer.get_by_role("button", name="Log out")).to_be_visible()
        _open_room(peer, base, sid)
        expect(peer.get_by_role("heading", name="Waiting room")).to_be_visible()

        # Riley knocks; Pat admits her: the counselor's banner goes too.
        phone = _phone(browser)
        phone.add_init_script(NOISY_DOWNLINK)
        riley = phone.new_page()
        login(riley, base, "client4@demo.test")
        expect(riley.get_by_role("button", name="Log out")).to_be_visible()
        _open_room(riley, base, sid)
        banner = "Riley is waiting to be admitted."
        expect(counselor.get_by_text(banner)).to_be_visible()
        expect(peer.get_by_text(banner)).to_be_visible()
        peer.get_by_role("button", name="Admit Riley").click()
        expect(riley.get_by_role("heading", name="Chat")).to_be_visible()
        expect(counselor.get_by_text(banner)).to_be_hidden()
        expect(peer.get_by_text(banner)).to_be_hidden()

        # Before joining audio and video there is nothing to mute or leave.
        mic = riley.get_by_role("button", name=re.compile("my microphone|Muted by staff"))
        leave = riley.get_by_role("button", name="Leave audio and video")
        expect(riley.get_by_role("button", name="Check camera and microphone")).to_be_visible()
        expect(mic).to_be_hidden()
        expect(leave).to_be_hidden()
        riley.get_by_role("button", name="Check camera and microphone").click()
        # A fast link is suggested as fast, whatever the browser's rough guess.
        expect(riley.get_by_text("Suggested profile: Standard (your connection looks good)."
                                 )).to_be_visible(timeout=15000)
        expect(leave).to_be_hidden()
        riley.get_by_role("button", name="Join audio only").click()
        expect(riley.get_by_role("button", name="Mute my microphone")).to_be_visible()
        expect(leave).to_be_visible()

        # Staff mute Riley's microphone: her own button says so, until they unmute it.
        people = counselor.get_by_role("list", name="People in the room")
        people.get_by_role("button", name="Mute Riley's audio").click()
        muted = riley.get_by_role("button", name="Muted by staff")
        expect(muted).to_be_visible()
        expect(muted).to_be_disabled()
        _phone_checks(riley)
        people.get_by_role("button", name="Unmute Riley's audio").click()
        expect(riley.get_by_role("button", name="Mute my microphone")).to_be_enabled()

        # The round opens: a prompt at the top, and Riley's focus goes to the round's form.
        riley.evaluate("window.scrollTo(0, 0)")
        counselor.get_by_role("button", name="Start check-in round").click()
        prompt = riley.get_by_text("The check-in round is open")
        expect(prompt).to_be_visible()
        expect(riley.locator("#checkin-round h2")).to_be_focused()
        expect(riley.get_by_label(re.compile("^Mood"))).to_be_in_viewport()
        riley.evaluate("window.scrollTo(0, 0)")
        expect(prompt).to_be_in_viewport()
        riley.get_by_role("button", name="Go to the check-in round").click()
        expect(riley.get_by_label(re.compile("^Mood"))).to_be_in_viewport()
        expect(riley.locator("#checkin-round h2")).to_be_focused()
        _phone_checks(riley)
        riley.get_by_role("button", name="Pass").click()
        expect(riley.get_by_text("You passed this round.")).to_be_visible()
        expect(prompt).to_be_hidden()
    finally:
        _close(counselor, peer, riley)
