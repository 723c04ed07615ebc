"""The care team's pages in the browser: a new client's family invitation, consent signed and
revoked (the family member's page follows at once), the client's record, education, rewards;
the counselor's care page and the admin's rewards settings. axe finds nothing serious."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def _csrf(ctx: Any, base: str) -> str:
    return str(ctx.request.get(f"{base}/api/v1/me").json()["csrf_token"])


def _accept(ctx: Any, base: str, url: str) -> None:
    token = url.split("#token=")[1]
    response = ctx.request.post(f"{base}/api/v1/invitations/accept",
                                data={"token": token, "password": PASSWORD})
    assert response.status == 201, response.text()


def test_family_consent_record_and_education_pages(live_server, browser):
    base = live_server.url
    admin_ctx = browser.new_context()
    client_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    family_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    admin, client, family = admin_ctx.new_page(), client_ctx.new_page(), family_ctx.new_page()
    try:
        # The admin's rewards settings page (looked at, not saved: the demo is shared).
        login(admin, base, "admin@demo.test")
        expect(admin.get_by_role("heading", level=1)).to_contain_text("Hello")
        admin.goto(f"{base}/program-rewards")
        expect(admin.get_by_role("heading", level=1)).to_have_text(
            "Rewards (contingency management)")
        assert axe_violations(admin) == []
        # A fresh client of our own, through an invitation.
        programs = admin_ctx.request.get(f"{base}/api/v1/programs").json()["items"]
        email = f"care-{uuid.uuid4().hex[:6]}@example.org"
        invited = admin_ctx.request.post(
            f"{base}/api/v1/invitations", headers={"X-CSRF-Token": _csrf(admin_ctx, base)},
            data={"email": email, "role": "client", "program_id": programs[0]["id"],
                  "display_name": "Robin"})
        assert invited.status == 201, invited.text()
        _accept(client_ctx, base, invited.json()["url"])

        client.goto(f"{base}/home")
        client.get_by_role("link", name="Family and sharing (consents)").click()
        expect(client.get_by_role("heading", level=1)).to_have_text("Family and sharing")
        client.get_by_label("Their email").fill(f"fam-{uuid.uuid4().hex[:6]}@example.org")
        client.get_by_label("Their name", exact=True).fill("Pat")
        client.get_by_label("Who they are to you (optional)").fill("partner")
        client.get_by_role("button", name="Send invitation").click()
        link = client.locator("p.copy")
        expect(link).to_contain_text("#token=")
        _accept(family_ctx, base, link.inner_text())

        family.goto(f"{base}/home")
        expect(family.get_by_text("Nothing is shared with you at the moment.")).to_be_visible()

        # The client signs a consent for Pat (who has accepted now): enrollment only.
        client.reload()
        expect(client.get_by_text("accepted", exact=True)).to_be_visible()
        client.get_by_label("Shared with").select_option(label="Pat")
        client.get_by_label("That I am enrolled in the program, and since when").check()
        client.get_by_label("Signature: type your full name").fill("Robin Client")
        assert axe_violations(client) == []
        client.get_by_role("button", name="Sign and save").click()
        revoke = client.get_by_role("button", name="Revoke consent for Pat")
        expect(revoke).to_be_visible()

        family.reload()
        expect(family.get_by_role("heading", name="Shared by Robin")).to_be_visible()
        expect(family.locator("li").filter(has_text="since").first).to_contain_text(
            programs[0]["name"])
        expect(family.get_by_text("42 CFR part 2", exact=False)).to_be_visible()
        assert axe_violations(family) == []

        revoke.click()
        expect(client.get_by_text("revoked", exact=True)).to_be_visible()
        family.reload()
        expect(family.get_by_text("Nothing is shared with you at the moment.")).to_be_visible()

        # Education, for the family member and the client.
        family.get_by_role("link", name="For families: supporting without enabling").click()
        expect(family.get_by_role("heading", level=1)).to_have_text(
            "For families: supporting without enabling")
        assert axe_violations(family) == []
        client.goto(f"{base}/learn")
        expect(client.get_by_role("heading", name="From your counselor")).to_be_visible()
        assert axe_violations(client) == []

        # The client's record: downloads and who looked at it (the family member did).
        client.goto(f"{base}/my-record")
        expect(client.get_by_role("link", name="Download (JSON)")).to_have_attribute(
            "href", "/api/v1/me/export")
        expect(client.get_by_text("Pat").first).to_be_visible()
        assert axe_violations(client) == []
        client.goto(f"{base}/rewards")
        expect(client.get_by_role("heading", level=1)).to_have_text("Your rewards")
        assert axe_violations(client) == []
    finally:
        admin_ctx.close()
        client_ctx.close()
        family_ctx.close()


def test_counselor_care_page(live_server, desktop):
    base = live_server.url
    login(desktop, base, "counselor@demo.test")
    expect(desktop.get_by_role("heading", level=1)).to_contain_text("Hello")
    caseload = desktop.context.request.get(f"{base}/api/v1/caseload?limit=200").json()["items"]
    client6 = next(c for c in caseload if c["display_name"] == "Morgan")
    desktop.goto(f"{base}/clients/{client6['id']}")
    desktop.get_by_role("link", name="Education modules, drug tests, rewards, consents").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Care: modules, tests, rewards")
    expect(desktop.get_by_role("button", name="Assign")).to_be_visible()
    expect(desktop.get_by_role("button", name="Enter result")).to_be_visible()
    assert axe_violations(desktop) == []
