"""A newcomer in Chromium: each demo role logs in, the crisis button, 360 px, accessibility."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser

HOME_MARKERS = {
    "client1@demo.test": ("Hello, Alex", "Your sessions"),
    "counselor@demo.test": ("Hello, Chris", "Your caseload"),
    "peer@demo.test": ("Hello, Pat", "Rooms you help run"),
    "admin@demo.test": ("Hello, Dana (admin)", "Invite someone"),
}


@pytest.mark.parametrize("email", list(HOME_MARKERS))
def test_each_demo_role_logs_in_and_sees_its_home(live_server, phone, email):
    heading, section = HOME_MARKERS[email]
    login(phone, live_server.url, email)
    expect(phone.get_by_role("heading", level=1)).to_have_text(heading)
    expect(phone.get_by_role("heading", name=section)).to_be_visible()
    assert phone.url.endswith("/home")
    # Fits a 360 px phone: nothing scrolls sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(phone) == []


def test_client_sees_the_live_demo_group(live_server, phone):
    login(phone, live_server.url, "client2@demo.test")
    sessions = phone.get_by_role("heading", name="Your sessions").locator("..")
    expect(sessions.get_by_text("Relapse Prevention Group").first).to_be_visible()
    expect(sessions.get_by_text("In progress").first).to_be_visible()


def test_wrong_password_shows_a_clear_message(live_server, phone):
    login(phone, live_server.url, "client3@demo.test", "not-the-password")
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("do not match")
    assert phone.url.endswith("/login")
    assert axe_violations(phone) == []


def test_crisis_button_shows_the_numbers_in_one_tap(live_server, phone):
    phone.goto(f"{live_server.url}/login")
    phone.get_by_role("link", name="Get help now").tap()
    panel = phone.locator("#crisis")
    expect(panel.get_by_role("heading", name="Help right now")).to_be_visible()
    expect(panel.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(panel.get_by_role("link", name="Call 1-800-662-4357")).to_be_visible()
    expect(panel.get_by_role("link", name=re.compile("Text HOME to 741741"))).to_be_visible()
    expect(panel.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")
    assert axe_violations(phone) == []
    phone.keyboard.press("Escape")
    expect(panel.get_by_role("heading", name="Help right now")).to_be_hidden()


def test_crisis_button_works_offline(live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, live_server.url, "client4@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Riley")
    # The service worker has cached the shell once it controls the page.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    page.wait_for_function("() => caches.keys().then(k => k.length > 0)", timeout=15000)
    context.set_offline(True)
    page.goto(f"{live_server.url}/home#crisis")
    expect(page.locator("#crisis").get_by_role("link", name="Call 988")).to_be_visible()
    context.close()


def test_crisis_panel_works_without_javascript(live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.get_by_role("link", name="Get help now").click()
    expect(page.locator("#crisis").get_by_role("link", name="Call 988")).to_be_visible()
    context.close()


def test_logout_returns_to_login_and_home_needs_login_again(live_server, phone):
    login(phone, live_server.url, "client5@demo.test")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hello, Casey")
    phone.get_by_role("button", name="Log out").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Log in")
    phone.goto(f"{live_server.url}/home")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Log in")


def test_admin_invites_a_counselor_who_sets_a_password_and_lands_home(live_server, browser):
    admin_ctx = browser.new_context()
    admin = admin_ctx.new_page()
    login(admin, live_server.url, "admin@demo.test")
    form = admin.get_by_role("heading", name="Invite someone").locator("..")
    form.get_by_label("Email address").fill("new.counselor@demo.test")
    form.get_by_label("Role").select_option("counselor")
    form.get_by_role("button", name="Send invitation").click()
    link = form.locator(".copy")
    expect(link).to_contain_text("/invite#token=")
    url = link.inner_text()
    assert url in live_server.output()  # printed in the server log: no mail server here
    expect(admin.get_by_role("heading", name="Invitations").locator("..")
           .get_by_text("new.counselor@demo.test")).to_be_visible()
    admin_ctx.close()

    newcomer_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    newcomer = newcomer_ctx.new_page()
    newcomer.goto(url)
    expect(newcomer.get_by_text("as a counselor")).to_be_visible()
    assert axe_violations(newcomer) == []
    newcomer.get_by_label(re.compile("What should people call you")).fill("Robin")
    newcomer.get_by_label(re.compile("Choose a password")).fill("password")
    newcomer.get_by_role("button", name="Create my account").click()
    expect(newcomer.get_by_role("alert")).to_contain_text("too common")
    newcomer.get_by_label(re.compile("Choose a password")).fill("a long and private phrase")
    # Staff enrol their second factor: a code of the key the page shows
    # (tests/accounts/test_mfa.py).
    secret = newcomer.locator(".mfa-secret").get_attribute("data-secret") or ""
    newcomer.get_by_label("6-digit code the app shows now").fill(pyotp.TOTP(secret).now())
    newcomer.get_by_role("button", name="Create my account").click()
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Hello, Robin")
    expect(newcomer.get_by_role("heading", name="Your caseload")).to_be_visible()
    newcomer_ctx.close()
