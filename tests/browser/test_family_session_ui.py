"""A family session in Chromium at 360 px: the counselor schedules it (the family-session box,
ticked from the keyboard), Jamie (the demo family member Casey invited, with Casey's consent)
joins from home, waits, is admitted, sees no check-in round, and chats to the counselor."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser


def test_counselor_admits_a_family_member_whose_chat_reaches_them(live_server, browser):
    base = live_server.url
    title = f"Casey's family session {uuid.uuid4().hex[:4]}"
    contexts = [browser.new_context(viewport={"width": 360, "height": 740}) for _ in range(2)]
    counselor, family = (c.new_page() for c in contexts)
    try:
        login(counselor, base, "counselor@demo.test")
        form = counselor.locator("form", has=counselor.get_by_role(
            "heading", name="Schedule a session"))
        expect(form).to_be_visible()
        form.get_by_label("With").select_option(label="Casey")
        form.get_by_label("Title (optional)").fill(title)
        box = form.get_by_label("Family session")
        box.focus()
        counselor.keyboard.press("Space")
        expect(box).to_be_checked()
        assert axe_violations(counselor) == []
        assert counselor.evaluate("document.documentElement.scrollWidth") <= 360
        form.get_by_role("button", name="Schedule").click()
        expect(form.get_by_text(re.compile(r"Scheduled: .*\(family session\)"))).to_be_visible()
        counselor.get_by_role("link", name=f"Join {title}").click()
        expect(counselor.get_by_role("heading", level=1)).to_have_text(title)
        expect(counselor.get_by_role("heading", name="Waiting room")).to_be_visible()

        # Jamie's home lists the family session; Join opens the room clients use.
        login(family, base, "family@demo.test")
        sessions = family.locator(".card", has=family.get_by_role(
            "heading", name="Your family sessions"))
        expect(sessions.get_by_role("link", name=f"Join {title}")).to_be_visible()
        assert axe_violations(family) == []
        assert family.evaluate("document.documentElement.scrollWidth") <= 360
        sessions.get_by_role("link", name=f"Join {title}").click()
        expect(family.get_by_text("You are in the waiting room")).to_be_visible()

        counselor.get_by_role("button", name="Admit Jamie").click()
        expect(family.get_by_role("heading", name="Chat")).to_be_visible()
        people = counselor.get_by_role("list", name="People in the room")
        expect(people.get_by_text("Jamie", exact=True)).to_be_visible()
        # A check-in round is the clients': the family member's page never shows it.
        counselor.get_by_role("button", name="Start check-in round").click()
        expect(counselor.get_by_role("button", name="End check-in round")).to_be_visible()

        family.get_by_label("Message to the group").fill("Proud of you, Casey")
        family.keyboard.press("Enter")
        expect(counselor.get_by_role("list", name="Chat messages")
               .get_by_text("Proud of you, Casey")).to_be_visible()
        expect(family.get_by_role("list", name="Chat messages")
               .get_by_text("Proud of you, Casey")).to_be_visible()
        assert family.get_by_label(re.compile("^Mood")).count() == 0
        assert family.get_by_role("table").is_hidden()
        # No moderation tools for a guest.
        assert family.get_by_role("heading", name="Waiting room").count() == 0
        assert axe_violations(family) == []
        assert family.evaluate("document.documentElement.scrollWidth") <= 360
        counselor.get_by_role("button", name="End check-in round").click()
    finally:
        for c in contexts:
            c.close()
