"""The crisis panel in Chromium at 360 px: every opener (the top bar's button, the safety plan's
link, the cards after a strong craving and after "I need to talk to someone") opens it the same
way, Close and Escape close it, focus goes in and back to the opener; it lists the crisis lines
of docs/domain.md and, offline too, the client's own safety-plan contacts and counselor.

Alex (client1) has the demo's safety plan. The cards' entries are made offline and the context
is closed before it goes online again, so nothing is stored on the shared server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser

CLIENT = "client1@demo.test"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
# docs/domain.md, "Safety": the lines and how each is reached, exactly.
CRISIS_LINKS = [
    ("Call 988", "tel:988"),
    ("Text 988", "sms:988"),
    ("Open 988lifeline.org", "https://988lifeline.org"),
    ("Call 1-800-662-4357", "tel:18006624357"),
    ("Text HOME to 741741", "sms:741741?&body=HOME"),
    ("Call 911", "tel:911"),
    ("Open findtreatment.gov", "https://findtreatment.gov"),
]
FOCUS_IN_PANEL = "() => document.getElementById('crisis').contains(document.activeElement)"


def panel(page: Any) -> Any:
    return page.locator("#crisis")


def opens_and_closes(page: Any, opener: Any) -> None:
    """Open with the opener, close with Escape; open again, close with Close. Each time focus
    moves into the panel, then back to the opener."""
    opener.click()
    expect(panel(page)).to_be_visible()
    assert page.evaluate(FOCUS_IN_PANEL)
    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    expect(opener).to_be_focused()
    opener.click()
    expect(panel(page)).to_be_visible()
    panel(page).get_by_role("link", name="Close").click()
    expect(panel(page)).to_be_hidden()
    expect(opener).to_be_focused()


def nav(page: Any, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()


def test_the_crisis_panel_opens_and_closes_the_same_way_from_every_opener(live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, live_server.url, CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alex")

    top = page.get_by_role("banner").get_by_role("link", name="Get help now")
    opens_and_closes(page, top)
    nav(page, "Safety plan")
    expect(page.get_by_role("heading", level=1)).to_have_text("My safety plan")
    opens_and_closes(page, page.get_by_role("link", name="Get help now (988 and more)"))

    context.set_offline(True)
    nav(page, "Craving")
    page.get_by_label("How strong is the craving?").fill("9")
    page.get_by_role("group", name="Did you use?").get_by_label("No").check()
    page.get_by_role("button", name="Save craving").click()
    card = page.locator(".support")
    expect(card).to_contain_text("Strong cravings pass.")
    opens_and_closes(page, card.get_by_role("link", name="Get help now"))

    nav(page, "Check in")
    page.get_by_role("group", name=re.compile("Used alcohol or drugs")).get_by_label(
        "No", exact=True).check()
    page.get_by_label("I need to talk to someone").check()
    page.get_by_role("button", name="Save check-in").click()
    card = page.locator(".support")
    expect(card).to_contain_text("Your counselor will see that you want to talk")
    opens_and_closes(page, card.get_by_role("link", name="Get help now"))

    # By keyboard as well; the panel keeps Tab inside itself while open.
    top.focus()
    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    for _ in range(30):
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_IN_PANEL)
    expect(page.get_by_role("dialog", name="Help right now")).to_be_visible()
    for name, href in CRISIS_LINKS:
        expect(panel(page).get_by_role("link", name=name, exact=True)).to_have_attribute(
            "href", href)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    expect(top).to_be_focused()

    # An address ending in #crisis opens it, and it closes like any other.
    page.goto(f"{live_server.url}/home#crisis")
    expect(panel(page)).to_be_visible()
    panel(page).get_by_role("link", name="Close").click()
    expect(panel(page)).to_be_hidden()
    expect(top).to_be_focused()
    context.close()  # the offline entries go with it


def test_the_crisis_panel_lists_the_clients_own_contacts_offline_too(live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, live_server.url, CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alex")
    top = page.get_by_role("banner").get_by_role("link", name="Get help now")
    top.click()
    expect(panel(page).get_by_text("Sponsor Mike")).to_be_visible()
    page.keyboard.press("Escape")

    # Opened again with no signal: the shell from the service worker, the contacts from the
    # encrypted copy on the phone.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    page.wait_for_function("() => caches.keys().then(k => k.length > 0)", timeout=15000)
    context.set_offline(True)
    page.goto(f"{live_server.url}/home")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alex")
    top.click()
    dialog = panel(page)
    expect(dialog.get_by_role("heading", name="Your safety plan")).to_be_visible()
    expect(dialog.get_by_role("heading", name="People I can ask for help")).to_be_visible()
    for name, href in [("Call 555-0117", "tel:5550117"), ("Call 555-0188", "tel:5550188"),
                       ("Call 555-0100", "tel:5550100"), ("Call 555-0142", "tel:5550142")]:
        expect(dialog.get_by_role("link", name=name)).to_have_attribute("href", href)
    expect(dialog.get_by_text("Counselor Chris (clinic)")).to_be_visible()
    expect(dialog.get_by_text("Coffee shop on Main Street")).to_be_visible()
    expect(dialog.get_by_text("Chris is your counselor.")).to_be_visible()
    expect(dialog.get_by_role("link", name="Call 988", exact=True)).to_be_visible()
    assert axe_violations(page) == []

    # "Ask Chris to reach out": the check-in, with "I need to talk to someone" ticked.
    dialog.get_by_role("link", name="Ask Chris to reach out").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text("Daily check-in")
    expect(page.get_by_label("I need to talk to someone")).to_be_checked()
    context.close()
