"""Staff look like staff in a room, whatever a client calls themselves; the lead counselor is
offered to nobody for muting or removal; a login with too many sockets is told so in a
sentence. Chromium at 360 px, against a server of its own (one client renamed, two sockets
a login)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    fresh_database,
    login,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser

GROUP = "Relapse Prevention Group"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("standing")
    database = fresh_database(tmp, "companion_standing")
    live = start_server(tmp, database, {"COMPANION_SOCKETS_PER_LOGIN": "2"})
    # Morgan calls themselves "Counselor Dana" (set in the database: the API refuses nothing
    # about it, and it is the case the badge is for).
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("UPDATE user_account SET display_name = 'Counselor Dana' "
                          "WHERE email = 'client6@demo.test'"))
    engine.dispose()
    yield live
    stop_server(live)


def _phone(browser: Any) -> Any:
    return browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                               is_mobile=True, has_touch=True)


def _open_group(page: Any, base: str, email: str) -> None:
    login(page, base, email)
    page.get_by_role("link", name=f"Join {GROUP}").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(GROUP)


def _person(page: Any, name: str) -> Any:
    people = page.get_by_role("list", name="People in the room")
    return people.get_by_role("listitem").filter(
        has=page.locator("bdi", has_text=re.compile(f"^{re.escape(name)}$")))


def test_staff_carry_a_badge_a_name_cannot_fake(server, browser, tmp_path):
    contexts = [_phone(browser) for _ in range(3)]
    chris, pat, dana = (c.new_page() for c in contexts)
    try:
        _open_group(chris, server.url, "counselor@demo.test")
        _open_group(pat, server.url, "peer@demo.test")
        _open_group(dana, server.url, "client6@demo.test")
        expect(dana.get_by_text("You are in the waiting room")).to_be_visible()
        chris.get_by_role("button", name="Admit Counselor Dana").click()
        expect(dana.get_by_role("heading", name="Chat")).to_be_visible()

        # The client's list: Chris and Pat carry their badges; "Counselor Dana" carries none.
        expect(_person(dana, "Chris").locator(".tag.staff")).to_have_text("Counselor")
        expect(_person(dana, "Pat").locator(".tag.staff")).to_have_text("Peer supporter")
        expect(_person(dana, "Counselor Dana")).to_contain_text("(you)")
        expect(_person(dana, "Counselor Dana").locator(".tag.staff")).to_have_count(0)

        # Chat: the badge goes with staff's messages only.
        chris.get_by_label("Message to the group").fill("Welcome, everyone")
        chris.get_by_role("button", name="Send").click()
        dana.get_by_label("Message to the group").fill("I am the counselor here")
        dana.get_by_role("button", name="Send").click()
        log = pat.get_by_role("list", name="Chat messages")
        from_chris = log.get_by_role("listitem").filter(has_text="Welcome, everyone")
        from_dana = log.get_by_role("listitem").filter(has_text="I am the counselor here")
        expect(from_chris.locator(".tag.staff")).to_have_text("Counselor")
        expect(from_dana).to_be_visible()
        expect(from_dana.locator(".tag.staff")).to_have_count(0)

        # The peer supporter moderates Dana, and is offered nothing against the lead counselor.
        expect(_person(pat, "Counselor Dana").get_by_role(
            "button", name="Mute Counselor Dana's chat")).to_be_visible()
        expect(_person(pat, "Counselor Dana").get_by_role("button", name="Remove")).to_be_visible()
        expect(_person(pat, "Chris").get_by_role("button")).to_have_count(0)
        # The lead counselor is offered the peer supporter's removal.
        expect(_person(chris, "Pat").get_by_role("button", name="Remove")).to_be_visible()

        dana.screenshot(path=str(tmp_path / "room-badges-client-360.png"), full_page=True)
        pat.screenshot(path=str(tmp_path / "room-badges-peer-360.png"), full_page=True)
        assert axe_violations(dana) == []
        assert axe_violations(pat) == []

        # Locked: the waiting room says why nobody can be admitted, and its buttons wait.
        chris.get_by_role("button", name="Lock room").click()
        expect(chris.get_by_text("The room is locked: nobody new gets in.")).to_be_visible()
        expect(chris.get_by_role("button", name="Admit all")).to_be_disabled()
        chris.get_by_role("button", name="Unlock room").click()
        expect(chris.get_by_role("button", name="Admit all")).to_be_enabled()
    finally:
        for c in contexts:
            c.close()


def test_a_login_over_its_socket_limit_is_told_in_a_sentence(server, browser, tmp_path):
    context = _phone(browser)
    page = context.new_page()
    held: list[socketio.Client] = []
    try:
        login(page, server.url, "client2@demo.test")
        expect(page.get_by_role("link", name=f"Join {GROUP}").first).to_be_visible()
        cookie = next(c for c in context.cookies() if c["name"] == "companion_session")
        for _ in range(2):  # this server's limit: two sockets a login
            sock = socketio.Client(reconnection=False)
            sock.connect(server.url, headers={"Cookie": f"companion_session={cookie['value']}"},
                         transports=["websocket"], wait_timeout=10)
            held.append(sock)
        page.get_by_role("link", name=f"Join {GROUP}").first.click()
        expect(page.get_by_role("alert")).to_have_text(
            "Companion is open in too many tabs or windows with this login. Close one of "
            "them, then reload this page.")
        page.screenshot(path=str(tmp_path / "room-too-many-sockets-360.png"), full_page=True)
        held.pop().disconnect()
        page.reload()
        expect(page.get_by_text("You are in the waiting room")).to_be_visible()
    finally:
        for sock in held:
            sock.disconnect()
        context.close()
