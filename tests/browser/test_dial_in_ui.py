"""Joining by phone in the browser (docs/dial-in.md): a client's home screen shows the number
and their PIN on a 360 px phone; their counselor resets the PIN from the client's record page
with the keyboard; the client's card then shows the new one. Axe finds nothing serious."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    fresh_database,
    login,
    login_body,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser

NUMBER = "+1 555 0100"
CLIENT = "client2@demo.test"  # Sam


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("dial-in")
    live = start_server(tmp, fresh_database(tmp, "companion_dial_in"), {
        "COMPANION_MEDIA_WORKER_COUNT": "0", "COMPANION_SIP_NUMBER": NUMBER})
    # The demo program's admin turns dial-in on, as in the program's settings.
    http = requests.Session()
    login_answer = http.post(f"{live.url}/api/v1/auth/login",
                             json=login_body("admin@demo.test"), timeout=10)
    assert login_answer.status_code == 200, login_answer.text
    headers = {"X-CSRF-Token": login_answer.json()["csrf_token"]}
    program = http.get(f"{live.url}/api/v1/programs", timeout=10).json()["items"][0]
    on = http.patch(f"{live.url}/api/v1/programs/{program['id']}", json={"dial_in_enabled": True},
                    headers=headers, timeout=10)
    assert on.status_code == 200, on.text
    yield live
    stop_server(live)


def _client_id(server: LiveServer) -> int:
    http = requests.Session()
    assert http.post(f"{server.url}/api/v1/auth/login", json=login_body(CLIENT),
                     timeout=10).status_code == 200
    return int(http.get(f"{server.url}/api/v1/me", timeout=10).json()["id"])


def _shown_pin(page: Any) -> str:
    card = page.locator(".card", has=page.get_by_role("heading", name="Join by phone"))
    expect(card).to_be_visible()
    text = card.inner_text()
    found = re.search(r"Call \+1 555 0100, then key (\d{4} \d{4}) and #\.", text)
    assert found, text
    return found.group(1).replace(" ", "")


def test_a_client_sees_how_to_join_by_phone_and_their_counselor_resets_the_pin(
        server: LiveServer, browser: Any) -> None:
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                is_mobile=True, has_touch=True, locale="en-US")
    page = phone.new_page()
    login(page, server.url, CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Sam")
    old = _shown_pin(page)
    assert not old.startswith("2")
    call = page.get_by_role("link", name=NUMBER)
    expect(call).to_have_attribute("href", "tel:+15550100")
    # On a 360 px phone: nothing wider than the screen, the PIN on one line.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    pin_box = page.locator(".dial-in .pin").bounding_box()
    assert pin_box is not None and pin_box["height"] < 40 and pin_box["x"] + pin_box["width"] <= 360
    # The number is reached from the keyboard like any link.
    call.focus()
    assert page.evaluate("document.activeElement.getAttribute('href')") == "tel:+15550100"
    assert axe_violations(page) == []

    staff = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    counselor = staff.new_page()
    login(counselor, server.url, "counselor@demo.test")
    expect(counselor.get_by_role("heading", level=1)).to_contain_text("Hello")
    counselor.goto(f"{server.url}/clients/{_client_id(server)}")
    expect(counselor.get_by_role("heading", name="Joining by phone")).to_be_visible()
    reset = counselor.get_by_role("button", name="Reset phone PIN")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    counselor.on("dialog", answer)
    reset.focus()
    counselor.keyboard.press("Enter")
    said = counselor.get_by_role("status").filter(has_text="new phone PIN")
    expect(said).to_contain_text("Sam's new phone PIN is ")
    assert asked == ["Give Sam a new phone PIN? Their current PIN stops working at once."]
    new = re.search(r"PIN is (\d{4} \d{4})\.", said.inner_text()).group(1).replace(" ", "")
    assert new != old
    assert counselor.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(counselor) == []
    staff.close()

    page.reload()
    assert _shown_pin(page) == new
    phone.close()
