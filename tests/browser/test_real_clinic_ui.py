"""A real clinic from an empty database, walked in Chromium (issue 15): `companion create-admin`,
no demo. The admin sets up a program and a group with a weekly schedule, invites a counselor
and two clients, names the counselor, records a date of birth and adds the clients; the
counselor logs in with their second factor, sees the group's next session, runs it with both
clients in the room and ends it; from the room they open the session's note, write it (DAP) for
both clients and sign it; the admin's billing export for that day lists both clients, and the
billing table reads on a 360 px phone. axe finds nothing serious on the note and billing pages.

COMPANION_SCREENSHOTS=<folder> keeps screenshots to look at by eye."""

from __future__ import annotations

import csv
import io
import os
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
def clinic(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[LiveServer, str, str, str, Path]]:
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
    yield live, live.url + url[url.index("/invite"):], secret, database, tmp / "instance"
    stop_server(live)


def _shot(page: Any, name: str) -> None:
    """A screenshot when COMPANION_SCREENSHOTS names a folder (to look at by eye)."""
    folder = os.environ.get("COMPANION_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _as_if_it_ran_three_hours(database: str, instance: Path, title: str) -> datetime:
    """The walk runs its three-hour group for a minute: the ended session and the clients'
    presence in it are moved back so that it ran its three hours, ending when the counselor
    ended it (the note's minutes and the billing day follow from these rows, as they would).
    Returns the session's new start."""
    from sqlalchemy import select

    from companion import create_app
    from companion.clinic.models import Session
    from companion.core.extensions import db
    from companion.rooms.models import AttendanceInterval

    app = create_app({"DATABASE_URL": database, "INSTANCE_PATH": str(instance),
                      "SECRET_KEY": "real-clinic-walk", "ASYNC_MODE": "threading",
                      "REDIS_URL": None})
    with app.app_context():
        session = db.session.scalar(select(Session).where(
            Session.title == title, Session.ended_at.is_not(None)))
        assert session is not None and session.ended_at is not None
        end = session.ended_at
        start = end - timedelta(hours=3)
        session.starts_at, session.ends_at = start, end
        for interval in db.session.scalars(select(AttendanceInterval).where(
                AttendanceInterval.session_id == session.id)):
            interval.started_at, interval.ended_at = start, end
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return start


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
    live, admin_url, admin_secret, database, instance = clinic
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
        # Alex's date of birth, for the claims.
        row = admin.locator("li", has=admin.get_by_text("Alex", exact=True))
        row.get_by_role("button", name="Date of birth").click()
        dialog = admin.get_by_role("dialog")
        dialog.get_by_label("Date of birth").fill("1988-07-14")
        dialog.get_by_role("button", name="Save date of birth").click()
        expect(dialog.get_by_text("Alex's date of birth is recorded: 1988-07-14.")).to_be_visible()
        dialog.get_by_role("button", name="Close").click()
        expect(admin.locator("li", has_text="Alex")).to_contain_text("born 1988-07-14")

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
        group.get_by_label(f"{day} length in minutes").fill("180")
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

        # The counselor ends it; the room offers them its note, and nobody else.
        counselor.once("dialog", lambda d: d.accept())
        counselor.get_by_role("button", name="End session for everyone").click()
        expect(counselor.get_by_text(re.compile("^This session has ended"))).to_be_visible()
        on_day = f"{start.strftime('%A, %B')} {start.day}"
        write = counselor.get_by_role(
            "link", name=f"Write the note of Relapse prevention on {on_day}")
        expect(write).to_be_visible()
        _shot(counselor, "room-ended")
        assert axe_violations(counselor) == []
        for page in clients:
            expect(page.get_by_text(re.compile("^This session has ended"))).to_be_visible()
            expect(page.get_by_role("link", name=re.compile("note"))).to_have_count(0)
        served = _as_if_it_ran_three_hours(database, instance, "Relapse prevention")
        service_day = served.astimezone(ZoneInfo(ZONE)).date().isoformat()

        # The note, from the session's page: DAP, both clients, signed.
        write.click()
        expect(counselor).to_have_url(re.compile(r"/session-notes/\d+$"))
        expect(counselor.get_by_role("heading", level=1)).to_have_text("Note: Relapse prevention")
        expect(counselor.get_by_text(re.compile("DAP note$"))).to_be_visible()
        counselor.get_by_label("Data (shared)").fill(
            "Check-in round on cravings; relapse warning signs reviewed.")
        counselor.get_by_label("Assessment (shared)").fill("The group engaged with the skill.")
        counselor.get_by_label("Plan (shared)").fill("Next session: refusal skills.")
        for name in ("Alex", "Sam"):
            box = counselor.get_by_role("group", name=name, exact=True)
            expect(box.get_by_label("Attendance")).to_have_value("present")
            expect(box.get_by_label("Minutes of direct service")).to_have_value("180")
            # The room had no audio or video here (no media worker): the counselor says how.
            box.get_by_label("How they took part").select_option("video")
            box.get_by_label("Where the client was").select_option("home")
            box.get_by_label("How identity was confirmed").fill("Name and date of birth confirmed")
            box.get_by_label(f"Data ({name})").fill(f"{name} named a warning sign of their own.")
            box.get_by_label(f"Assessment ({name})").fill("Engaged; motivated.")
            box.get_by_label(f"Plan ({name})").fill("Practise the skill daily.")
        assert axe_violations(counselor) == []
        _shot(counselor, "note-form")
        counselor.once("dialog", lambda d: d.accept())
        counselor.get_by_role("button", name="Sign the note…").click()
        expect(counselor.locator("#note-signature")).to_have_text(
            re.compile(r"^Signed by Chris, .*: final\.$"))
        assert axe_violations(counselor) == []

        # The admin's billing for that day: both clients, one row each.
        admin.get_by_role("navigation").get_by_role("link", name="Billing").click()
        # create-admin made a first program ("IOP") beside the one the admin added.
        admin.get_by_label("Program").select_option(label="Evening IOP")
        admin.get_by_label("First day of service").fill(service_day)
        admin.get_by_label("Last day of service").fill(service_day)
        admin.get_by_role("button", name="Show days").click()
        table = admin.get_by_role("table", name=re.compile("^Billable days"))
        for name in ("Alex", "Sam"):
            expect(table.get_by_role("row", name=re.compile(name))).to_contain_text(
                "10 telehealth at home")
        assert axe_violations(admin) == []
        download = admin.get_by_role("link", name=re.compile("^Download the billing CSV"))
        text = admin.evaluate(
            "async (href) => { const r = await fetch(href, {credentials: 'same-origin'}); "
            "return `${r.status}\\n${await r.text()}`; }", download.get_attribute("href"))
        status, body = text.split("\n", 1)
        assert status == "200"
        rows = list(csv.reader(io.StringIO(body)))
        assert rows[0] == ["date", "client_id", "client_name", "birth_date", "service_code",
                           "minutes", "modality", "place_of_service", "modifier", "signed_by",
                           "note_id"]
        by_name = {r[2]: r for r in rows[1:]}
        assert set(by_name) == {"Alex", "Sam"}
        for name, born in (("Alex", "1988-07-14"), ("Sam", "")):
            row = by_name[name]
            assert [row[0], row[3], *row[4:10]] == [service_day, born, "H0015", "180", "video",
                                                    "10", "95", "Chris"]
        assert by_name["Alex"][10] == by_name["Sam"][10]  # one note

        # On a phone: the table scrolls in its box, the page does not, and a hint says so.
        admin.set_viewport_size({"width": 360, "height": 740})
        expect(admin.locator("#billable-scroll-hint")).to_be_visible()
        assert admin.evaluate("document.documentElement.scrollWidth") <= 360
        region = admin.get_by_role("region", name="Billable days")
        assert region.evaluate("(el) => el.scrollWidth > el.clientWidth")
        _shot(admin, "billing-360")
        # Scrolled to its last column, the client's name stays at the box's left edge.
        assert region.evaluate("""(el) => {
            el.scrollLeft = el.scrollWidth;
            const name = el.querySelector('tbody th[scope=row]').getBoundingClientRect();
            return el.scrollLeft > 0
              && Math.abs(name.left - el.getBoundingClientRect().left) < 2; }""")
        _shot(admin, "billing-360-scrolled")
        assert axe_violations(admin) == []
    finally:
        for ctx in contexts:
            ctx.close()
