"""Each person's time zone, walked in Chromium: a counselor whose laptop is set to Berlin
schedules a session in their profile's zone (the program's, Chicago), sees it labeled with that
zone, changes their zone on the profile page and sees the same session in the new one; a client
on a 360 px phone finds the profile page usable. axe finds nothing serious."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    fresh_database,
    login,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser

CHICAGO = ZoneInfo("America/Chicago")  # the demo program's, so every demo account's at first


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("time-zones")
    live = start_server(tmp, fresh_database(tmp, "companion_time_zones"),
                        {"COMPANION_MEDIA_WORKER_COUNT": "0"})
    yield live
    stop_server(live)


def _sessions_of(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("""async () => (await (await fetch('/api/v1/sessions?limit=100',
        { credentials: 'same-origin' })).json()).items""")


def test_a_counselor_schedules_in_their_zone_not_the_laptops(browser: Any,
                                                             server: LiveServer) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                              timezone_id="Europe/Berlin")
    page = ctx.new_page()
    try:
        login(page, server.url, "counselor@demo.test")
        form = page.locator("form", has=page.get_by_role("heading", name="Schedule a session"))
        starts = form.get_by_label("Starts (Central Time (America/Chicago))")
        expect(starts).to_be_visible()
        # Prefilled with now on the profile's clock, not Berlin's (seven hours ahead).
        now_there = datetime.now(CHICAGO)
        assert abs(datetime.fromisoformat(starts.input_value()).replace(tzinfo=CHICAGO)
                   - now_there) < timedelta(minutes=2)
        tomorrow = (now_there + timedelta(days=1)).date()
        form.get_by_label("With").select_option(label="Alex")
        form.get_by_label("Title (optional)").fill("Zone check")
        starts.fill(f"{tomorrow.isoformat()}T18:30")
        form.get_by_role("button", name="Schedule").click()
        done = form.get_by_text("Scheduled: Zone check")
        expect(done).to_contain_text("6:30 PM CST" if now_there.dst() == timedelta(0)
                                     else "6:30 PM CDT")
        made = next(s for s in _sessions_of(page) if s["title"] == "Zone check")
        assert datetime.fromisoformat(made["starts_at"]) == datetime(
            tomorrow.year, tomorrow.month, tomorrow.day, 18, 30, tzinfo=CHICAGO)

        # The profile: another zone, and the same session is shown in it.
        page.get_by_role("link", name="Profile", exact=True).click()
        expect(page.get_by_role("heading", level=1, name="Your profile")).to_be_visible()
        zone = page.get_by_label("Your time zone")
        expect(zone).to_have_value("America/Chicago")
        zone.select_option("America/Denver")
        expect(page.get_by_text("Right now that is")).to_contain_text("M")  # MST or MDT
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_text("Saved. Times are now shown in Mountain Time "
                                "(America/Denver).")).to_be_visible()
        assert axe_violations(page) == []
        page.reload()
        expect(page.get_by_label("Your time zone")).to_have_value("America/Denver")
        page.get_by_role("link", name="Home", exact=True).click()
        expect(page.get_by_label("Starts (Mountain Time (America/Denver))")).to_be_visible()
        listed = page.locator("li", has_text="Zone check")
        expect(listed.first).to_contain_text(re.compile(r"5:30\s*–\s*6:30\sPM\sM[SD]T"))
    finally:
        # Leave the demo counselor as it was for anyone else on this server.
        page.evaluate("""async () => {
            const me = await (await fetch('/api/v1/me')).json();
            await fetch('/api/v1/me', { method: 'PATCH', headers: { 'Content-Type':
              'application/json', 'X-CSRF-Token': me.csrf_token },
              body: JSON.stringify({ timezone: 'America/Chicago' }) });
        }""")
        ctx.close()


def test_a_client_changes_their_zone_on_a_phone(browser: Any, server: LiveServer,
                                                tmp_path: Any) -> None:
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                              is_mobile=True, has_touch=True, locale="en-US")
    page = ctx.new_page()
    try:
        login(page, server.url, "client1@demo.test")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        page.goto(f"{server.url}/profile")
        name = page.get_by_label("Your name in rooms")
        expect(name).to_have_value("Alex")
        # A name of nothing but spaces is refused where the person typed it; nothing changes.
        name.fill("   ")
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_text("Name cannot be empty.").first).to_be_visible()
        me = page.evaluate("async () => (await (await fetch('/api/v1/me')).json())")
        assert me["display_name"] == "Alex"
        name.fill("Alex")
        page.get_by_label("Your time zone").select_option("America/Los_Angeles")
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_text("Saved. Times are now shown in Pacific Time")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the profile page scrolls sideways ({width} px)"
        page.screenshot(path=str(tmp_path / "profile-360.png"), full_page=True)
        assert axe_violations(page) == []
    finally:
        ctx.close()
