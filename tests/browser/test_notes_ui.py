"""The session note walked in Chromium (docs/notes.md): the demo counselor, on a 360 px phone,
opens an ended session's note from the attendance page, is warned when the shared part names a
client, fills it in (minutes and modality came from what the server saw), signs it with a
confirmation (the attendance is attested), adds an addendum and finds the note in the client's
record; the admin downloads the billing CSV with that day. axe finds nothing serious."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
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

PROGRAM_ZONE = ZoneInfo("America/Chicago")  # the demo program's
TITLE = "Evening notes group"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "timezone_id": "America/Chicago", "locale": "en-US"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "timezone_id": "America/Chicago",
           "locale": "en-US", "accept_downloads": True}


def _seed_an_ended_session(database_url: str, instance: Path) -> dict[str, Any]:
    """The demo group met for three hours and ended ten minutes ago: Alex on video throughout,
    Sam audio-only throughout, the others not at all. Alex's date of birth is on record."""
    from sqlalchemy import select

    from companion import create_app
    from companion.accounts.models import User
    from companion.clinic.models import Group, Session, SessionKind
    from companion.core.extensions import db
    from companion.rooms.models import AttendanceInterval, Modality

    end = datetime.now(PROGRAM_ZONE).replace(second=0, microsecond=0) - timedelta(minutes=10)
    start = end - timedelta(hours=3)
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance),
                      "SECRET_KEY": "notes-ui", "ASYNC_MODE": "threading", "REDIS_URL": None})
    with app.app_context():
        group = db.session.scalar(select(Group))
        assert group is not None
        session = Session(program_id=group.program_id, kind=SessionKind.GROUP, group_id=group.id,
                          counselor_id=group.counselor_id, title=TITLE, starts_at=start,
                          ends_at=end, ended_at=end)
        db.session.add(session)
        db.session.flush()
        people = {u.display_name: u for u in db.session.scalars(
            select(User).where(User.display_name.in_(["Alex", "Sam"])))}
        people["Alex"].birth_date = date(1988, 7, 14)
        for name, modality in (("Alex", Modality.VIDEO), ("Sam", Modality.AUDIO)):
            db.session.add(AttendanceInterval(
                session_id=session.id, user_id=people[name].id, started_at=start, ended_at=end,
                modality=modality, connection_id=f"seed-{name}"))
        db.session.commit()
        seeded = {"session_id": session.id, "day": start.date().isoformat(),
                  "alex_id": people["Alex"].id, "sam_id": people["Sam"].id}
        db.session.remove()
        db.engine.dispose()
    return seeded


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict]]:
    tmp = tmp_path_factory.mktemp("notes-ui")
    database = fresh_database(tmp, "companion_notes_ui")
    live = start_server(tmp, database, {"COMPANION_MEDIA_WORKER_COUNT": "0"})
    try:
        yield live, _seed_an_ended_session(database, tmp / "instance")
    finally:
        stop_server(live)


def _page(browser: Any, base: str, email: str, context: dict[str, Any]) -> Any:
    page = browser.new_context(**context).new_page()
    login(page, base, email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    return page


def _shot(page: Any, name: str) -> None:
    """A full-page screenshot when COMPANION_SCREENSHOTS names a folder (to look at by eye)."""
    folder = os.environ.get("COMPANION_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _fits(page: Any) -> None:
    """Nothing wider than the phone's screen (no sideways scrolling of the page)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_counselor_writes_and_signs_the_note_and_the_admin_bills_the_day(server, browser,
                                                                         tmp_path):
    live, seeded = server
    base = live.url
    counselor = _page(browser, base, "counselor@demo.test", PHONE)

    # From the attendance page: the session has ended, its note is to be written.
    counselor.get_by_role("navigation").get_by_role("link", name="Attendance").click()
    counselor.get_by_label(re.compile("^Week starting on Monday")).fill(seeded["day"])
    counselor.get_by_role("button", name="Show week").click()
    item = counselor.locator(f'li[data-session="{seeded["session_id"]}"]')
    expect(item.get_by_role("status")).to_have_text(re.compile("^No note yet"))
    expect(item.get_by_role("button", name=re.compile("^Attest"))).to_have_count(0)
    item.get_by_role("link", name=re.compile(f"^Write the note of {TITLE}")).click()
    expect(counselor).to_have_url(f"{base}/session-notes/{seeded['session_id']}")
    expect(counselor.get_by_role("heading", level=1)).to_have_text(f"Note: {TITLE}")
    expect(counselor.get_by_text(re.compile("DAP note$"))).to_be_visible()

    # Prefilled from what the server saw.
    alex = counselor.get_by_role("group", name="Alex", exact=True)
    sam = counselor.get_by_role("group", name="Sam", exact=True)
    jordan = counselor.get_by_role("group", name="Jordan", exact=True)
    expect(alex.get_by_label("Minutes of direct service")).to_have_value("180")
    expect(alex.get_by_label("How they took part")).to_have_value("video")
    expect(sam.get_by_label("How they took part")).to_have_value("audio_only")
    expect(sam.get_by_label("Why audio only")).to_be_visible()
    expect(alex.get_by_label("Why audio only")).to_be_hidden()
    expect(jordan.get_by_label("Attendance")).to_have_value("absent")
    expect(jordan.get_by_label("Where the client was")).to_be_hidden()
    _fits(counselor)
    assert axe_violations(counselor) == []
    _shot(counselor, "note-form")

    # The shared part names a client: saved, and warned about.
    counselor.get_by_label("Data (shared)").fill("Alex opened with a check-in on cravings.")
    counselor.get_by_label("Assessment (shared)").fill("The group engaged with the skill.")
    counselor.get_by_label("Plan (shared)").fill("Next session: refusal skills.")
    counselor.get_by_role("button", name="Save draft").click()
    warnings = counselor.locator("#note-warnings")
    expect(warnings).to_contain_text("Names Alex: the shared part goes into every")
    expect(counselor.get_by_text("Draft saved. It names other clients")).to_be_visible()
    _shot(counselor, "note-warning")
    counselor.get_by_label("Data (shared)").fill(
        "Check-in on cravings; urge surfing taught and practised.")

    alex.get_by_label("Where the client was").select_option("home")
    alex.get_by_label("How identity was confirmed").fill("Known to me, seen on video")
    sam.get_by_label("Where the client was").select_option("home")
    sam.get_by_label("How identity was confirmed").fill("Name and date of birth confirmed")
    sam.get_by_label("Why audio only").select_option("no_video_capability")
    for who, box in (("Alex", alex), ("Sam", sam)):
        box.get_by_label(f"Data ({who})").fill(f"{who} described a craving at work.")
        box.get_by_label(f"Assessment ({who})").fill("Using the skill; motivated.")
        box.get_by_label(f"Plan ({who})").fill("Practise urge surfing daily.")

    # Sign by keyboard, with a confirmation.
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    counselor.once("dialog", accept)
    sign = counselor.get_by_role("button", name="Sign the note…")
    sign.focus()
    counselor.keyboard.press("Enter")
    signature = counselor.locator("#note-signature")
    expect(signature).to_have_text(re.compile(r"^Signed by Chris, .*: final\.$"))
    assert dialogs and dialogs[0].startswith("Sign this note? A signed note is final")
    assert counselor.evaluate("document.activeElement.id") == "note-signature"
    expect(counselor.locator("#note-warnings")).to_have_count(0)
    expect(counselor.get_by_role("button", name="Save draft")).to_have_count(0)
    expect(counselor.get_by_text("Check-in on cravings; urge surfing")).to_be_visible()

    # An addendum, dated, by its author.
    counselor.get_by_label(re.compile("^Addendum")).fill("Sam phoned after group: safe at home.")
    counselor.get_by_role("button", name="Add addendum").click()
    addenda = counselor.get_by_role("list", name="Addenda")
    expect(addenda).to_contain_text(re.compile(r"Addendum by Chris, .*\(late entry\)"))
    expect(addenda).to_contain_text("Sam phoned after group: safe at home.")
    _fits(counselor)
    assert axe_violations(counselor) == []
    _shot(counselor, "note-signed")

    # Back on the attendance page: attested by the signature; the note opens again.
    counselor.goto(f"{base}/attendance")
    counselor.get_by_label(re.compile("^Week starting on Monday")).fill(seeded["day"])
    counselor.get_by_role("button", name="Show week").click()
    expect(item.get_by_role("status")).to_have_text(re.compile(r"^Attested by Chris, "))
    expect(item.get_by_role("link", name=re.compile(f"^Open the note of {TITLE}"))).to_be_visible()

    # In Alex's record: the shared part and Alex's own, not Sam's.
    counselor.goto(f"{base}/clients/{seeded['alex_id']}")
    notes = counselor.locator("#client-notes")
    expect(notes.get_by_role("heading", name="Session notes")).to_be_visible()
    expect(notes).to_contain_text("Alex described a craving at work.")
    expect(notes).not_to_contain_text("Sam described")
    expect(notes.get_by_role("link", name=f"Open the note of {TITLE}")).to_be_visible()
    counselor.context.close()

    # The admin bills the day: Alex on video from home, Sam audio-only from home.
    admin = _page(browser, base, "admin@demo.test", DESKTOP)
    admin.get_by_role("navigation").get_by_role("link", name="Billing").click()
    admin.get_by_label("First day of service").fill(seeded["day"])
    admin.get_by_label("Last day of service").fill(seeded["day"])
    admin.get_by_role("button", name="Show days").click()
    table = admin.get_by_role("table", name=re.compile("^Billable days"))
    expect(table.get_by_role("row", name=re.compile("Alex"))).to_contain_text(
        "10 telehealth at home")
    expect(table.get_by_role("row", name=re.compile("Sam"))).to_contain_text("audio only")
    assert axe_violations(admin) == []
    _shot(admin, "billing")
    with admin.expect_download() as download:
        admin.get_by_role("link", name=re.compile("^Download the billing CSV")).click()
    path = tmp_path / "billing.csv"
    download.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0] == ["date", "client_id", "client_name", "birth_date", "service_code",
                       "minutes", "modality", "place_of_service", "modifier", "signed_by",
                       "note_id"]
    by_name = {r[2]: r for r in rows[1:]}
    assert set(by_name) == {"Alex", "Sam"}
    assert by_name["Alex"][:10] == [seeded["day"], str(seeded["alex_id"]), "Alex", "1988-07-14",
                                    "H0015", "180", "video", "10", "95", "Chris"]
    assert by_name["Sam"][:10] == [seeded["day"], str(seeded["sam_id"]), "Sam", "", "H0015",
                                   "180", "audio_only", "10", "93", "Chris"]
    assert by_name["Alex"][10] == by_name["Sam"][10]  # one note
    admin.context.close()
