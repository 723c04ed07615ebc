"""Staff's second factor in the browser: a counselor logs in with password and code on a phone,
by keyboard; a new counselor enrols through the invitation page; an admin resets a counselor's
sign-in code from the home page. axe finds nothing serious."""

from __future__ import annotations

import uuid
from typing import Any

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


def _enrolled_counselor(admin_ctx: Any, ctx: Any, base: str, name: str) -> tuple[str, str, str]:
    """A counselor of this test's own, invited by the admin and enrolled through the API (the
    demo counselor's code is shared by the other browser tests); logged in in ``ctx``. Returns
    (email, password, TOTP secret)."""
    csrf = admin_ctx.request.get(f"{base}/api/v1/me").json()["csrf_token"]
    email = f"reset-{uuid.uuid4().hex[:6]}@example.org"
    invited = admin_ctx.request.post(f"{base}/api/v1/invitations", headers={"X-CSRF-Token": csrf},
                                     data={"email": email, "role": "counselor",
                                           "display_name": name})
    assert invited.status == 201, invited.text()
    token = invited.json()["url"].split("#token=", 1)[1]
    preview = ctx.request.post(f"{base}/api/v1/invitations/preview", data={"token": token})
    secret = preview.json()["mfa"]["secret"]
    password = "a counselor's long passphrase"
    accepted = ctx.request.post(f"{base}/api/v1/invitations/accept", data={
        "token": token, "password": password, "display_name": name,
        "otp": demo_code(email, secret)})
    assert accepted.status == 201, accepted.text()
    return email, password, secret


def test_admin_resets_a_counselors_sign_in_code_by_keyboard(live_server, browser):
    base = live_server.url
    admin_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    staff_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        admin = admin_ctx.new_page()
        login(admin, base, "admin@demo.test")
        expect(admin.get_by_role("heading", level=1)).to_have_text("Hello, Dana (admin)")
        name = f"Morgan {uuid.uuid4().hex[:4]}"
        email, password, old_secret = _enrolled_counselor(admin_ctx, staff_ctx, base, name)
        assert staff_ctx.request.get(f"{base}/api/v1/me").status == 200

        admin.reload()  # the list is drawn when the page opens; Morgan is new
        card = admin.locator(".card").filter(
            has=admin.get_by_role("heading", name="Staff sign-in codes"))
        expect(card.get_by_text(name)).to_be_visible()
        expect(card.get_by_text(email)).to_be_visible()
        expect(card.get_by_text("counselor@demo.test", exact=True)).to_be_visible()
        # Staff only: no client is listed, and no button resets the admin's own code.
        expect(card.get_by_text("client1@demo.test")).to_have_count(0)
        expect(card.get_by_role("button", name="Reset sign-in code for Dana (admin)")
               ).to_have_count(0)
        expect(card.get_by_text("You: another admin can reset yours")).to_be_visible()
        assert axe_violations(admin) == []

        button = card.get_by_role("button", name=f"Reset sign-in code for {name}")
        expect(button).to_have_text("Reset sign-in code")
        asked: list[str] = []
        admin.once("dialog", lambda d: (asked.append(d.message), d.accept()))
        button.focus()
        admin.keyboard.press("Enter")
        status = card.get_by_role("status")
        expect(status).to_contain_text(
            f"No mail server is set up: give {name} this link yourself.")
        assert asked and email in asked[0] and "signs them out everywhere" in asked[0]
        link = status.locator(".copy")
        expect(link).to_contain_text("/invite#token=")
        url = link.inner_text()
        expect(button).to_be_focused()  # the keyboard user is where they were
        expect(admin.get_by_role("heading", name="Invitations").locator("..")
               .get_by_text(f"{email} new sign-in code")).to_be_visible()
        assert admin.evaluate("document.documentElement.scrollWidth") <= 360
        assert axe_violations(admin) == []

        # Signed out everywhere, and the old authenticator no longer signs them in.
        assert staff_ctx.request.get(f"{base}/api/v1/me").status == 401
        old = staff_ctx.request.post(f"{base}/api/v1/auth/login", data={
            "email": email, "password": password, "otp": demo_code(email, old_secret)})
        assert old.status == 401 and old.json()["code"] == "mfa_enrolment_required"

        # The link opens the re-enrolment page, and a new code from it signs them in.
        page = staff_ctx.new_page()
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_have_text("Set up your sign-in code")
        expect(page.get_by_role("img", name="QR code of your sign-in key")).to_be_visible()
        new_secret = page.locator(".mfa-secret").get_attribute("data-secret")
        assert new_secret and new_secret != old_secret
        page.get_by_label("Your password").fill(password)
        page.get_by_label("6-digit code the app shows now").fill(demo_code(email, new_secret))
        page.get_by_role("button", name="Turn on my sign-in code").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    finally:
        admin_ctx.close()
        staff_ctx.close()
