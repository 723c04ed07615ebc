"""The counselor's and admin's screens, walked in Chromium as they would use them: scheduling a
client's questionnaires, the sessions one ran and their notes, the admin's week in a browser west of
UTC, urgent alerts staying on top when a newer one arrives live, the client's record in words,
and invitations that say who invited whom as what. axe finds nothing serious.

One server for the module, with the demo clinic and one session the counselor ran this week
(written to the database beside the server, as the room would have recorded it)."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    DEMO_PASSWORD,
    LiveServer,
    axe_violations,
    fresh_database,
    login,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser

PROGRAM_ZONE = ZoneInfo("America/Chicago")  # the demo program's
# The admin's laptop west of UTC: a local midnight there is the next day in UTC.
WEST = {"timezone_id": "America/Chicago", "locale": "en-US"}
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, **WEST}


def _seed_a_session_ran_this_week(database_url: str, instance: Path) -> dict[str, Any]:
    """The demo group met this week (in the program's zone) and has ended: Alex stayed
    throughout on video, Sam half of it on audio."""
    from sqlalchemy import select

    from companion import create_app
    from companion.accounts.models import User
    from companion.clinic.models import Group, Session, SessionKind
    from companion.core.extensions import db
    from companion.rooms.models import AttendanceInterval, Modality

    now = datetime.now(PROGRAM_ZONE)
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)
    while datetime.now(PROGRAM_ZONE) - monday < timedelta(minutes=3):  # the week's first minutes
        time.sleep(5)
    now = datetime.now(PROGRAM_ZONE).replace(second=0, microsecond=0)
    start = max(monday, now - timedelta(minutes=80))
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance),
                      "SECRET_KEY": "staff-screens", "ASYNC_MODE": "threading",
                      "REDIS_URL": None})
    with app.app_context():
        group = db.session.scalar(select(Group))
        assert group is not None
        session = Session(program_id=group.program_id, kind=SessionKind.GROUP, group_id=group.id,
                          counselor_id=group.counselor_id, title="Evening check-in group",
                          starts_at=start, ends_at=now, ended_at=now)
        db.session.add(session)
        db.session.flush()
        people = {u.display_name: u for u in db.session.scalars(
            select(User).where(User.display_name.in_(["Alex", "Sam"])))}
        half = start + (now - start) / 2
        for name, until, modality in (("Alex", now, Modality.VIDEO),
                                      ("Sam", half, Modality.AUDIO)):
            db.session.add(AttendanceInterval(
                session_id=session.id, user_id=people[name].id, started_at=start,
                ended_at=until, modality=modality, connection_id=f"seed-{name}"))
        db.session.commit()
        minutes = round((now - start).total_seconds() / 60)
        seeded = {"session_id": session.id, "alex_minutes": minutes, "monday": monday.date(),
                  "day": start.date()}
        db.session.remove()
        db.engine.dispose()
    return seeded


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict]]:
    tmp = tmp_path_factory.mktemp("staff-screens")
    database = fresh_database(tmp, "companion_staff_screens")
    live = start_server(tmp, database, {"COMPANION_MEDIA_WORKER_COUNT": "0"})
    try:
        yield live, _seed_a_session_ran_this_week(database, tmp / "instance")
    finally:
        stop_server(live)


def _logged_in(browser: Any, base: str, email: str, **context: Any) -> Iterator[Any]:
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    login(page, base, email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    yield page
    ctx.close()


# Staff sign in with a one-time code each: one login per module, pages shared by the tests.
@pytest.fixture(scope="module")
def counselor(browser: Any, server: tuple[LiveServer, dict]) -> Iterator[Any]:
    yield from _logged_in(browser, server[0].url, "counselor@demo.test",
                          viewport={"width": 1280, "height": 900}, **WEST)


@pytest.fixture(scope="module")
def admin(browser: Any, server: tuple[LiveServer, dict]) -> Iterator[Any]:
    yield from _logged_in(browser, server[0].url, "admin@demo.test",
                          viewport={"width": 1280, "height": 900}, **WEST)


class Api:
    """A client's login through the API in its own browser context (cookie and CSRF)."""

    def __init__(self, ctx: Any, base: str, email: str) -> None:
        self.ctx, self.base = ctx, base
        response = ctx.request.post(f"{base}/api/v1/auth/login",
                                    data={"email": email, "password": DEMO_PASSWORD})
        assert response.status == 200, response.text()
        self.csrf = response.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.ctx.request.post(f"{self.base}{path}", data=body,
                                         headers={"X-CSRF-Token": self.csrf})
        assert response.status in (200, 201), response.text()
        return response.json()


def _shot(page: Any, name: str) -> None:
    """A full-page screenshot when COMPANION_SCREENSHOTS names a folder (to look at by eye)."""
    folder = os.environ.get("COMPANION_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _client_id(page: Any, base: str, name: str) -> int:
    items = page.context.request.get(f"{base}/api/v1/caseload?limit=200").json()["items"]
    return int(next(c["id"] for c in items if c["display_name"] == name))


def _ago(minutes: int = 1) -> str:
    return (datetime.now(PROGRAM_ZONE) - timedelta(minutes=minutes)).isoformat()


# --- questionnaires on the client's page ----------------------------------------------------


def test_counselor_schedules_a_questionnaire_the_client_fills_in(server, browser, counselor):
    live, _ = server
    base = live.url
    riley = _client_id(counselor, base, "Riley")
    counselor.goto(f"{base}/clients/{riley}")
    card = counselor.locator("#client-measures")
    expect(card.get_by_role("heading", name="Questionnaires")).to_be_visible()
    expect(card.get_by_text("None scheduled.")).to_be_visible()

    # By keyboard: the questionnaire, Tab to the day (today), Tab to the cadence, Tab, Enter.
    kind = counselor.get_by_label("Questionnaire", exact=True)
    kind.focus()
    kind.select_option("phq9")
    counselor.keyboard.press("Tab")
    assert counselor.evaluate("document.activeElement.name") == "first_due"
    for _ in range(5):  # the date's parts (month, day, year) and its picker, then on
        counselor.keyboard.press("Tab")
        if counselor.evaluate("document.activeElement.name") != "first_due":
            break
    assert counselor.evaluate("document.activeElement.name") == "every_weeks"
    counselor.get_by_label("Then again every").select_option("2")
    counselor.keyboard.press("Tab")
    assert counselor.evaluate("document.activeElement.textContent") == "Schedule"
    assert axe_violations(counselor) == []
    counselor.keyboard.press("Enter")
    expect(card.get_by_role("status")).to_have_text(
        "Scheduled: PHQ-9, due now, then every 2 weeks.")
    scheduled = card.get_by_role("list", name="Scheduled questionnaires")
    expect(scheduled.get_by_role("listitem")).to_have_count(1)
    expect(scheduled.get_by_role("listitem")).to_contain_text("PHQ-9 every 2 weeks")
    expect(scheduled.get_by_role("listitem")).to_contain_text("due now")

    # The client, on a phone: due on the home page; filled in.
    phone = browser.new_context(**PHONE)
    try:
        client = phone.new_page()
        login(client, base, "client4@demo.test")
        expect(client.get_by_role("heading", name="Questionnaires due")).to_be_visible()
        client.get_by_role("link", name="Fill in the PHQ-9").click()
        questions = client.locator("fieldset.question")
        expect(questions).to_have_count(9)
        for i in range(9):
            questions.nth(i).get_by_label("Not at all").check()
        client.get_by_role("button", name="Submit").click()
        expect(client.get_by_text(re.compile(r"PHQ-9: 0 \(minimal\)"))).to_be_visible()
    finally:
        phone.close()

    # Back on the client's page: completed, and next due in two weeks.
    counselor.reload()
    done = card.get_by_role("list", name="Completed questionnaires")
    expect(done.get_by_role("listitem")).to_contain_text("0 (minimal)")
    expect(scheduled.get_by_role("listitem")).not_to_contain_text("due now")
    in_two_weeks = datetime.now(PROGRAM_ZONE) + timedelta(weeks=2)
    expect(scheduled.get_by_role("listitem")).to_contain_text(
        f"next due {in_two_weeks:%a}, {in_two_weeks:%b} {in_two_weeks.day}")
    assert axe_violations(counselor) == []
    _shot(counselor, "client-questionnaires")


# --- attendance -------------------------------------------------------------------------------


def test_counselor_reports_page_shows_their_attendance_and_offers_the_note(server, counselor):
    live, seeded = server
    base = live.url
    counselor.goto(f"{base}/reports")
    # It was "Loading…" for good: the program report is the admin's; a counselor's is this.
    expect(counselor.get_by_role("heading", level=1)).to_have_text("Attendance")
    counselor.get_by_role("navigation").get_by_role("link", name="Attendance").click()
    expect(counselor).to_have_url(f"{base}/attendance")
    item = counselor.locator(f'li[data-session="{seeded["session_id"]}"]')
    expect(item.get_by_role("heading")).to_contain_text("Evening check-in group")
    table = item.get_by_role("table", name="Who attended Evening check-in group")
    expect(table.get_by_role("row", name=re.compile("^Alex"))).to_contain_text(
        str(seeded["alex_minutes"]))
    expect(table.get_by_role("row", name=re.compile("^Alex"))).to_contain_text("video")
    expect(table.get_by_role("row", name=re.compile("^Sam"))).to_contain_text("audio only")
    hours = counselor.get_by_role("table", name=re.compile("^Week of"))
    expect(hours.get_by_role("row", name=re.compile("^Alex")).locator("td").first) \
        .not_to_have_text("0")
    assert axe_violations(counselor) == []

    # The attestation is the signature of the session's note (tests/browser/test_notes_ui.py):
    # the ended session offers its note, not a separate button.
    expect(item.get_by_role("status")).to_have_text(re.compile("^No note yet"))
    expect(item.get_by_role("button")).to_have_count(0)
    note = item.get_by_role("link", name=re.compile("^Write the note of Evening check-in group"))
    expect(note).to_have_attribute("href", f"/session-notes/{seeded['session_id']}")
    sheet = counselor.context.request.get(
        f"{base}/api/v1/sessions/{seeded['session_id']}/attendance").json()
    assert sheet["attested_by"] is None
    _shot(counselor, "attendance-unsigned")


def test_admin_report_shows_this_week_from_monday_in_a_browser_west_of_utc(server, admin):
    live, seeded = server
    base = live.url
    monday = seeded["monday"]
    sunday = monday + timedelta(days=6)
    admin.goto(f"{base}/reports")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Program reports")
    week = admin.get_by_label(re.compile("^Week starting"))
    expect(week).to_have_value(monday.isoformat())
    caption = (f"Week of {monday:%A}, {monday:%B} {monday.day} to "
               f"{sunday:%A}, {sunday:%B} {sunday.day}, {sunday.year}")
    hours = admin.get_by_role("table", name=caption)
    expect(hours).to_be_visible()
    # This week's hours are there: Alex attended the seeded session.
    alex = hours.get_by_role("row", name=re.compile("^Alex"))
    expect(alex.locator("td").first).not_to_have_text("0")
    csv_link = admin.get_by_role("link", name=re.compile("Download the week as CSV"))
    expect(csv_link).to_have_attribute("href", re.compile(f"week={monday.isoformat()}$"))
    download = admin.context.request.get(f"{base}{csv_link.get_attribute('href')}")
    assert f"-{monday.isoformat()}.csv" in download.headers["content-disposition"]
    assert f",Alex,{seeded['day'].isoformat()}," in download.text()
    assert axe_violations(admin) == []
    _shot(admin, "admin-reports")

    # Any day of the week picked shows that same week, from its Monday.
    week.fill((monday + timedelta(days=3)).isoformat())
    admin.get_by_role("button", name="Show report").click()
    expect(week).to_have_value(monday.isoformat())
    expect(admin.get_by_role("table", name=caption)).to_be_visible()


# --- alerts -----------------------------------------------------------------------------------


def test_an_urgent_alert_stays_first_when_a_newer_high_one_arrives_live(server, browser,
                                                                       counselor):
    live, _ = server
    base = live.url
    counselor.goto(f"{base}/home")
    alerts = counselor.locator("#alerts")
    expect(alerts.get_by_role("heading", name="Open alerts")).to_be_visible()
    high = alerts.locator("li").filter(has_text="High craving")
    before = high.count()

    phone = browser.new_context(**PHONE)
    try:
        casey = Api(phone, base, "client5@demo.test")
        answers = [1] * 8 + [2]  # item 9: more than half the days
        casey.post("/api/v1/measures", {"id": str(uuid.uuid4()), "kind": "phq9",
                                        "answers": answers, "completed_at": _ago()})
        first = alerts.locator("li").first
        expect(first).to_contain_text("PHQ-9 item 9")
        # A newer "high" alert, arriving over the socket while the page is open.
        casey.post("/api/v1/cravings", {"id": str(uuid.uuid4()), "occurred_at": _ago(0),
                                        "intensity": 9, "triggers": ["lonely"]})
        expect(counselor.get_by_role("alert").filter(has_text="New high alert: Casey")) \
            .to_be_visible()
        expect(high).to_have_count(before + 1)
        expect(first).to_contain_text("PHQ-9 item 9")
        expect(first.locator(".tag")).to_have_text("urgent")
    finally:
        phone.close()
    # After a reload too.
    counselor.reload()
    expect(alerts.locator("li").first).to_contain_text("PHQ-9 item 9")
    _shot(counselor, "alerts")


# --- the client's record in words -------------------------------------------------------------


def test_triggers_and_the_access_log_read_as_words(server, browser, counselor):
    live, _ = server
    base = live.url
    phone = browser.new_context(**PHONE)
    try:
        morgan = Api(phone, base, "client6@demo.test")
        morgan.post("/api/v1/cravings", {"id": str(uuid.uuid4()), "occurred_at": _ago(5),
                                         "intensity": 5, "triggers": ["time_of_day", "money"]})
        client = phone.new_page()
        # The client's own visits (these pages) are not "who looked".
        client.goto(f"{base}/trends")
        expect(client.get_by_role("heading", level=1)).to_have_text("My trends")

        counselor.goto(f"{base}/clients/{_client_id(counselor, base, 'Morgan')}")
        cravings = counselor.locator(".card").filter(
            has=counselor.get_by_role("heading", name="Recent craving logs"))
        expect(cravings.get_by_text("Money, Time of day")).to_be_visible()
        assert "time_of_day" not in counselor.locator("#app").inner_text()

        client.goto(f"{base}/my-record")
        log = client.locator(".card").filter(
            has=client.get_by_role("heading", name="Who looked at or changed your record"))
        expect(log.get_by_text("Chris (counselor) looked at your craving logs").first) \
            .to_be_visible()
        expect(log.get_by_text("Chris (counselor) looked at your check-ins").first) \
            .to_be_visible()
        text = log.inner_text()
        assert "Morgan" not in text and "login" not in text and "_" not in text
        assert axe_violations(client) == []
        _shot(client, "my-record-360")

        readable = phone.request.get(f"{base}/api/v1/me/export?format=html").text()
        assert "Money, Time of day" in readable and "time_of_day" not in readable
    finally:
        phone.close()


# --- invitations ------------------------------------------------------------------------------


def test_invitations_say_who_invited_whom_as_what(server, browser, admin):
    live, _ = server
    base = live.url
    admin.goto(f"{base}/home")
    adolescent = admin.get_by_label("Adolescent client (6-hour weekly target)")
    role = admin.get_by_label("Role")
    expect(adolescent).to_be_visible()
    role.select_option(label="Counselor")
    expect(adolescent).to_be_hidden()
    _shot(admin, "admin-invite-counselor")
    role.select_option(label="Client")
    expect(adolescent).to_be_visible()
    assert axe_violations(admin) == []

    admin.goto(f"{base}/program-rewards")
    enabled = admin.get_by_label("Use rewards in this program")
    program = admin.context.request.get(f"{base}/api/v1/programs").json()["items"][0]
    settings = admin.context.request.get(f"{base}/api/v1/programs/{program['id']}/rewards")
    assert enabled.is_checked() == settings.json()["enabled"]
    expect(admin.get_by_text("Rewards are on")).to_have_count(0)

    csrf = admin.context.request.get(f"{base}/api/v1/me").json()["csrf_token"]
    staff = admin.context.request.post(
        f"{base}/api/v1/invitations", headers={"X-CSRF-Token": csrf},
        data={"email": f"new-{uuid.uuid4().hex[:6]}@example.org", "role": "counselor",
              "program_id": program["id"]}).json()["url"]
    phone = browser.new_context(**PHONE)
    try:
        family = Api(phone, base, "client1@demo.test").post(
            "/api/v1/family", {"email": f"fam-{uuid.uuid4().hex[:6]}@example.org",
                               "display_name": "Sky", "relationship": "sister"})
        invitee = browser.new_context(**PHONE)
        try:
            page = invitee.new_page()
            page.goto(family["url"])
            expect(page.get_by_text(re.compile(
                r"^Alex invited you to Demo Recovery Clinic as a family member, with the "
                r"address fam-"))).to_be_visible()
            assert "undefined" not in page.locator("#app").inner_text()
            assert axe_violations(page) == []
            _shot(page, "family-invitation-360")
            page.goto("about:blank")
            page.goto(staff)
            expect(page.get_by_text(re.compile(
                r"^Dana \(admin\) invited you to Demo Recovery Clinic as a counselor, with"))) \
                .to_be_visible()
        finally:
            invitee.close()
    finally:
        phone.close()
