"""The counselor's dashboard and the admin's reports in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser


def test_counselor_dashboard_lists_the_caseload_with_trends(live_server, phone):
    login(phone, live_server.url, "counselor@demo.test")
    caseload = phone.get_by_role("list", name="Clients, who needs attention first")
    expect(caseload.locator("li.dash-row")).to_have_count(6)
    first = caseload.locator("li.dash-row").first
    expect(first.get_by_role("img", name="Craving").or_(
        first.locator("svg.spark").first)).to_be_visible()
    expect(first.get_by_text("this week")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(phone) == []


def test_admin_sees_the_program_report_and_the_csv_link(live_server, desktop):
    login(desktop, live_server.url, "admin@demo.test")
    desktop.get_by_role("link", name="Reports").click()
    expect(desktop.get_by_role("heading", name="Census")).to_be_visible()
    expect(desktop.get_by_role("link", name="Download the week as CSV")).to_be_visible()
    expect(desktop.get_by_role("heading", name="On call for escalated alerts")).to_be_visible()
    assert axe_violations(desktop) == []
