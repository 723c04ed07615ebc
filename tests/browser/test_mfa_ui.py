"""Staff's second factor in the browser: a counselor logs in with password and code on a phone,
by keyboard; a new counselor enrols through the invitation page. axe finds nothing serious."""

from __future__ import annotations

import uuid

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    CODE_LABEL,
    DEMO_PASSWORD,
    axe_violations,
    demo_code,
    login,
)

pytestmark = pytest.mark.browser


def test_counselor_logs_in_with_password_and_code(live_server, phone):
    page = phone
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("counselor@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Password").press("Enter")
    code = page.get_by_label(CODE_LABEL)
    expect(code).to_be_focused()
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(page.get_by_role("status")).to_contain_text("6-digit code")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")  # nobody logged in yet
    assert axe_violations(page) == []
    # Fits a 360 px phone: nothing wider than the window.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    right = demo_code("counselor@demo.test")
    code.fill(f"{(int(right) + 1) % 1_000_000:06d}")
    code.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("did not work")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_be_focused()
    code.fill(right)
    code.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Chris")


def test_new_counselor_enrols_on_the_invitation_page(live_server, browser):
    base = live_server.url
    admin_ctx = browser.new_context()
    invitee_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        admin = admin_ctx.new_page()
        login(admin, base, "admin@demo.test")
        expect(admin.get_by_role("heading", level=1)).to_contain_text("Hello")
        csrf = admin_ctx.request.get(f"{base}/api/v1/me").json()["csrf_token"]
        email = f"mfa-{uuid.uuid4().hex[:6]}@example.org"
        invited = admin_ctx.request.post(f"{base}/api/v1/invitations",
                                          headers={"X-CSRF-Token": csrf},
                                          data={"email": email, "role": "counselor"})
        assert invited.status == 201, invited.text()

        page = invitee_ctx.new_page()
        page.goto(invited.json()["url"])
        expect(page.get_by_role("img", name="QR code of your sign-in key")).to_be_visible()
        secret = page.locator(".mfa-secret").get_attribute("data-secret")
        assert secret and len(secret) == 32
        page.get_by_label("What should people call you?").fill("Robin")
        page.get_by_label("Choose a password").fill("robin's long passphrase")
        page.get_by_label("6-digit code the app shows now").fill("000000"
                                                                 if pyotp.TOTP(secret).now()
                                                                 != "000000" else "111111")
        page.get_by_role("button", name="Create my account").click()
        expect(page.get_by_role("alert")).to_contain_text("does not match")
        assert axe_violations(page) == []
        page.get_by_label("6-digit code the app shows now").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Create my account").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Robin")
    finally:
        admin_ctx.close()
        invitee_ctx.close()
