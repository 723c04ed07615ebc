"""A counselor runs the live demo group in Chromium: admits two clients, a check-in round, chat."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser


def _open_group(page, base: str, email: str) -> None:
    login(page, base, email)
    page.get_by_role("link", name="Join Relapse Prevention Group").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Relapse Prevention Group")


def test_counselor_admits_two_clients_runs_a_round_and_chat_flows(live_server, browser):
    contexts = [browser.new_context(viewport={"width": 360, "height": 740}) for _ in range(3)]
    counselor, alex, sam = (c.new_page() for c in contexts)
    try:
        _open_group(counselor, live_server.url, "counselor@demo.test")
        expect(counselor.get_by_role("heading", name="Waiting room")).to_be_visible()

        _open_group(alex, live_server.url, "client2@demo.test")
        expect(alex.get_by_text("You are in the waiting room")).to_be_visible()
        _open_group(sam, live_server.url, "client3@demo.test")
        expect(sam.get_by_text("You are in the waiting room")).to_be_visible()

        # The counselor hears the knock and admits each one.
        counselor.get_by_role("button", name="Admit Sam").click()
        counselor.get_by_role("button", name="Admit Jordan").click()
        for page in (alex, sam):
            expect(page.get_by_role("heading", name="Chat")).to_be_visible()
        people = counselor.get_by_role("list", name="People in the room")
        expect(people.get_by_text("Sam", exact=True)).to_be_visible()
        expect(people.get_by_text("Jordan", exact=True)).to_be_visible()
        assert axe_violations(alex) == []
        assert axe_violations(counselor) == []

        # Check-in round: Sam shares, Jordan passes; the counselor's board shows the values.
        counselor.get_by_role("button", name="Start check-in round").click()
        expect(alex.get_by_label(re.compile("^Mood"))).to_be_visible()
        alex.get_by_label(re.compile("^Mood")).fill("6")
        alex.get_by_label(re.compile("^Craving")).fill("7")
        alex.get_by_label("One word for today").fill("tired")
        alex.get_by_role("button", name="Share").click()
        expect(alex.get_by_text("Thanks for checking in.")).to_be_visible()
        sam.get_by_role("button", name="Pass").click()
        board = counselor.get_by_role("table")
        expect(board.get_by_role("row", name=re.compile("Sam 6 7 tired"))).to_be_visible()
        expect(board.get_by_role("row", name=re.compile("Jordan passed"))).to_be_visible()
        # Another client sees that Sam checked in, not Sam's numbers.
        expect(sam.get_by_role("table").get_by_role("row", name=re.compile("^Sam"))).to_be_visible()
        assert "tired" not in sam.get_by_role("table").inner_text()

        # Chat from one client reaches the other.
        alex.get_by_label("Message to the group").fill("Day 12 and still going")
        alex.get_by_role("button", name="Send").click()
        expect(sam.get_by_role("list", name="Chat messages")
               .get_by_text("Day 12 and still going")).to_be_visible()
        expect(counselor.get_by_role("list", name="Chat messages")
               .get_by_text("Day 12 and still going")).to_be_visible()
    finally:
        for c in contexts:
            c.close()
