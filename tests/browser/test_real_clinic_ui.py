"""A real clinic from an empty database, walked in Chromium (issue 15): `companion create-admin`,
no demo. The admin sets up a program and a group with a weekly schedule, invites a counselor
and two clients, names the counselor and adds the clients; the counselor logs in with their
second factor, sees the group's next session and runs it with both clients in the room."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    CODE_LABEL,
    LiveServer,
    axe_violations,
    fresh_database,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser

ZONE = "America/Chicago"
CLINIC_LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US",
                 "timezone_id": ZONE}
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "en-US", "timezone_id": ZONE}
PASSPHRASE = "a long and private phrase"


def _companion(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "companion", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, str]]:
    import os

    tmp = tmp_path_factory.mktemp("real-clinic")
    database = fresh_database(tmp, "companion_real_clinic")
    env = {**os.environ, "DATABASE_URL": database, "COMPANION_INSTANCE_PATH": str(tmp / "instance"),
           "COMPANION_ASYNC_MODE": "threading"}
    _companion(env, "db", "upgrade")
    printed = _companion(env, "create-admin", "dana@riverside.test", "--clinic",
                         "Riverside Recovery")
    url = printed.splitlines()[0].split(": ", 1)[1]
    secret = printed.splitlines()[1].rsplit(" ", 1)[1]
    live = start_server(tmp, database, {"COMPANION_MEDIA_WORKER_COUNT": "0"})
    assert "demo.test" not in live.output()  # no demo logins printed for a real clinic
    # The link names COMPANION_PUBLIC_URL (unset here: 127.0.0.1:5000); this server's port.
    yield live, live.url + url[url.index("/invite"):], secret
    stop_server(live)


def _accept(page: Any, url: str, name: str, staff: bool) -> str | None:
    """Accept an invitation; a staff member enrols their second factor. Returns its secret."""
    page.goto(url)
    page.get_by_label(re.compile("What should people call you")).fill(name)
    page.get_by_label(re.compile("Choose a password")).fill(PASSPHRASE)
    secret = None
    if staff:
        secret = page.locator(".mfa-secret").get_attribute("data-secret") or ""
        page.get_by_label("6-digit code the app shows now").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    return secret


def _invite(admin: Any, email: str, role: str, program: str | None = None) -> str:
    form = admin.get_by_role("heading", name="Invite someone").locator("..")
    form.get_by_label("Email address").fill(email)
    form.get_by_label("Role").select_option(role)
    if program:
        form.get_by_label("Program").select_option(label=program)
    form.get_by_role("button", name="Send invitation").click()
    link = form.locator(".copy")
    expect(link).to_contain_text("/invite#token=")
    return link.inner_text()


def _log_in(page: Any, base: str, email: str, secret: str | None = None) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSPHRASE)
    page.get_by_role("button", name="Log in").click()
    if secret:
        # The code of the next 30-s step: the one of this step enrolled the account (a code
        # logs in once).
        code = page.get_by_label(CODE_LABEL)
        code.wait_for()
        code.fill(pyotp.TOTP(secret).at(datetime.now() + timedelta(seconds=30)))
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def test_a_new_clinic_runs_its_first_group_from_an_empty_database(browser: Any, clinic: Any,
                                                                  tmp_path: Path) -> None:
    live, admin_url, admin_secret = clinic
    contexts = []

    def new_page(**options: Any) -> Any:
        ctx = browser.new_context(**options)
        contexts.append(ctx)
        return ctx.new_page()

    try:
        admin = new_page(**CLINIC_LAPTOP)
        admin.goto(admin_url)
        admin.get_by_label(re.compile("What should people call you")).fill("Dana")
        admin.get_by_label(re.compile("Choose a password")).fill(PASSPHRASE)
        admin.get_by_label("6-digit code the app shows now").fill(pyotp.TOTP(admin_secret).now())
        admin.get_by_role("button", name="Create my account").click()
        expect(admin.get_by_role("heading", level=1)).to_have_text("Hello, Dana")

        # A program of the clinic's own.
        admin.get_by_role("link", name="Programs", exact=True).click()
        add = admin.locator("form", has=admin.get_by_role("heading", name="Add a program"))
        add.get_by_label("Name").fill("Evening IOP")
        add.get_by_label("Time zone").select_option(ZONE)
        add.get_by_role("button", name="Add program").click()
        expect(admin.get_by_role("heading", level=2, name="Evening IOP")).to_be_visible()
        assert axe_violations(admin) == []

        # The team: a counselor and two clients, invited into the program.
        admin.get_by_role("link", name="Home", exact=True).click()
        counselor_url = _invite(admin, "chris@riverside.test", "counselor")
        client_urls = [_invite(admin, f"{n}@riverside.test", "client", "Evening IOP")
                       for n in ("alex", "sam")]
        counselor = new_page(**CLINIC_LAPTOP)
        counselor_secret = _accept(counselor, counselor_url, "Chris", staff=True)
        clients = []
        for name, url in zip(("Alex", "Sam"), client_urls, strict=True):
            page = new_page(**PHONE)
            _accept(page, url, name, staff=False)
            clients.append(page)

        # Their counselor, named on each admission.
        admin.get_by_role("link", name="Admissions", exact=True).click()
        for name in ("Alex", "Sam"):
            row = admin.locator("li", has=admin.get_by_text(name, exact=True))
            row.get_by_role("button", name="Name a counselor").click()
            dialog = admin.get_by_role("dialog")
            dialog.get_by_label("Primary counselor").select_option(label="Chris")
            dialog.get_by_role("button", name="Save").click()
            expect(dialog.get_by_text(f"Chris now carries {name}'s case.")).to_be_visible()
            dialog.get_by_role("button", name="Close").click()
        expect(admin.locator("li", has_text="Alex")).to_contain_text("Chris")

        # A group meeting today, starting in a few minutes (its room is open already).
        admin.get_by_role("link", name="Programs", exact=True).click()
        start = (datetime.now(ZoneInfo(ZONE)) + timedelta(minutes=5)).replace(second=0)
        group = admin.locator("form", has=admin.get_by_role("heading", name="Add a group"))
        group.get_by_label("Program").select_option(label="Evening IOP")
        group.get_by_label("Name").fill("Relapse prevention")
        group.get_by_label("Kind").select_option("relapse_prevention")
        group.get_by_label("Lead counselor").select_option(label="Chris")
        group.get_by_label("First day").fill(start.date().isoformat())
        day = start.strftime("%A")
        group.get_by_label("Monday", exact=True).uncheck()
        group.get_by_label(day, exact=True).check()
        group.get_by_label(f"{day} start time").fill(start.strftime("%H:%M"))
        group.get_by_label(f"{day} length in minutes").fill("90")
        group.get_by_role("button", name="Add group").click()
        admin.get_by_role("link", name="Relapse prevention").click()
        expect(admin.get_by_role("heading", level=1, name="Relapse prevention")).to_be_visible()
        for name in ("Alex", "Sam"):
            members = admin.locator("form", has=admin.get_by_role("button", name="Add to group"))
            members.get_by_label("Add").select_option(label=f"{name} (client)")
            members.get_by_role("button", name="Add to group").click()
            expect(admin.get_by_text(f"{name} (client)", exact=True)).to_be_visible()
        expect(admin.get_by_role("heading", name="Coming sessions").locator("..")
               .get_by_role("listitem").first).to_be_visible()
        admin.screenshot(path=str(tmp_path / "group-admin.png"), full_page=True)
        assert axe_violations(admin) == []

        # The counselor's next session, and the clients', on their home pages.
        counselor.get_by_role("button", name="Log out").click()
        expect(counselor.get_by_role("heading", level=1)).to_have_text("Log in")
        _log_in(counselor, live.url, "chris@riverside.test", counselor_secret)
        counselor.get_by_role("link", name="Join Relapse prevention").first.click()
        expect(counselor.get_by_role("heading", name="Waiting room")).to_be_visible()
        for page in clients:
            page.goto(f"{live.url}/home")
            page.get_by_role("link", name="Join Relapse prevention").first.click()
        for name in ("Alex", "Sam"):
            counselor.get_by_role("button", name=f"Admit {name}").click()
        for page in clients:
            expect(page.get_by_role("heading", name="Chat")).to_be_visible()
        clients[0].screenshot(path=str(tmp_path / "room-360.png"))
        people = counselor.get_by_role("list", name="People in the room")
        for name in ("Alex", "Sam"):
            expect(people).to_contain_text(name)
    finally:
        for ctx in contexts:
            ctx.close()
