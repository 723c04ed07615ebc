"""A client's PHQ-9 with item 9 above 0 shows crisis help and makes an urgent alert appear live
on the counselor's home page (no reload)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser


def test_phq9_item9_alerts_the_counselor_live(live_server, browser):
    counselor_ctx = browser.new_context()
    client_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    counselor, client = counselor_ctx.new_page(), client_ctx.new_page()
    try:
        login(counselor, live_server.url, "counselor@demo.test")
        alerts = counselor.locator("#alerts")
        expect(alerts.get_by_role("heading", name="Open alerts")).to_be_visible()
        before = alerts.get_by_text("PHQ-9 item 9").count()

        login(client, live_server.url, "client5@demo.test")
        expect(client.get_by_role("heading", level=1)).to_have_text("Hello, Casey")
        client.goto(f"{live_server.url}/measures/phq9")
        expect(client.get_by_role("heading", level=1)).to_contain_text("PHQ-9")
        questions = client.locator("fieldset.question")
        assert questions.count() == 9
        for i in range(8):
            questions.nth(i).get_by_label("Several days").check()
        questions.nth(8).get_by_label("More than half the days").check()
        assert axe_violations(client) == []
        client.get_by_role("button", name="Submit").click()
        expect(client.get_by_text(re.compile(r"PHQ-9: 10 \(moderate\)"))).to_be_visible()
        # Crisis resources open for the client at once.
        expect(client.locator("#crisis").get_by_role("link", name="Call 988")).to_be_visible()

        # The counselor's page was never reloaded: the alert arrived over the socket.
        expect(counselor.get_by_role("alert").filter(has_text="New urgent alert: Casey")) \
            .to_be_visible()
        expect(alerts.get_by_text("PHQ-9 item 9")).to_have_count(before + 1)
    finally:
        counselor_ctx.close()
        client_ctx.close()
