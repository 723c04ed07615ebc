"""A client on a phone finds an online meeting starting soon, with its join link and dial-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login, login_body

pytestmark = pytest.mark.browser


def _admin_adds_meeting_starting_soon(base: str) -> str:
    """Through the API as the demo admin: an online meeting 20 minutes from now (Chicago)."""
    http = requests.Session()
    response = http.post(f"{base}/api/v1/auth/login", json=login_body("admin@demo.test"),
                         timeout=10)
    assert response.status_code == 200
    csrf = response.json()["csrf_token"]
    local = datetime.now(UTC).astimezone(ZoneInfo("America/Chicago")) + timedelta(minutes=20)
    name = f"Lunchtime Online {local:%H%M}"
    response = http.post(f"{base}/api/v1/meetings", headers={"X-CSRF-Token": csrf}, timeout=10,
                         json={
                             "name": name, "fellowship": "AA", "day": (local.weekday() + 1) % 7,
                             "time": f"{local:%H:%M}", "timezone": "America/Chicago",
                             "types": ["O", "BE"],
                             "conference_url": "https://us06web.zoom.us/j/84713004993?pwd=x",
                             "conference_phone": "+16465588656,,84713004993#",
                         })
    assert response.status_code == 201, response.text
    return name


def test_client_finds_an_online_meeting_starting_soon(live_server, phone):
    name = _admin_adds_meeting_starting_soon(live_server.url)
    login(phone, live_server.url, "client1@demo.test")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hello, Alex")
    phone.get_by_role("link", name="Meetings", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Meetings")
    soon = phone.locator("#starting-soon")
    meeting = soon.locator("li.meeting", has_text=name)
    expect(meeting).to_be_visible()
    expect(meeting.get_by_text("Starts in")).to_be_visible()
    join = meeting.get_by_role("link", name="Join online at us06web.zoom.us")
    expect(join).to_have_attribute("href", "https://us06web.zoom.us/j/84713004993?pwd=x")
    dial = meeting.get_by_role("link", name="Call +16465588656")
    expect(dial).to_have_attribute("href", "tel:+16465588656,,84713004993%23")
    expect(meeting.get_by_text("Access code: 84713004993#")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(phone) == []

    # Save it: it shows under "Your meetings".
    meeting.get_by_role("button", name="Save").click()
    expect(meeting.get_by_text("Saved to your meetings.")).to_be_visible()
    expect(phone.locator("#my-meetings").get_by_role("button", name=f"Remove {name}")
           ).to_be_visible()


def test_client_searches_the_demo_directory(live_server, phone):
    login(phone, live_server.url, "client2@demo.test")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hello, Sam")
    phone.goto(f"{live_server.url}/meetings")
    form = phone.get_by_role("search")
    form.get_by_label("How").select_option("online")
    form.get_by_label("Fellowship").select_option("Recovery Dharma")
    form.get_by_role("button", name="Search").click()
    result = form.locator("li.meeting", has_text="Recovery Dharma by Phone")
    expect(result).to_be_visible()
    expect(result.get_by_role("link", name="Call +17205550163")).to_be_visible()
    # Sunday 17:00 in Denver is 18:00 for a client in Chicago, shown as a US phone shows times.
    expect(result.get_by_text(re.compile(r"^Sunday 6:00\sPM–7:00\sPM\sCS?T$"))).to_be_visible()
    assert axe_violations(phone) == []


def test_admin_sees_the_sources_page(live_server, phone):
    login(phone, live_server.url, "admin@demo.test")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hello, Dana (admin)")
    phone.goto(f"{live_server.url}/meeting-sources")
    expect(phone.get_by_role("heading", name="Meeting sources")).to_be_visible()
    expect(phone.get_by_text("Demo meeting feed")).to_be_visible()
    expect(phone.get_by_text("added 9, updated 0, removed 0, skipped 0")).to_be_visible()
    assert axe_violations(phone) == []
