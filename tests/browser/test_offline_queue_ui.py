"""The offline queue in Chromium at 360 px (docs/selfcare.md, "The offline queue"): entries made
after opening the app with no signal reach the server once, and the counselor's alert with
them, whatever happens meanwhile: the login times out, the server restarts, the server answers
403 or 500, another person logs in on the same phone.

A server of its own (its database is read here, and logins are timed out in it) with a fixed
SECRET_KEY, so the phone's cookie survives a restart as it would in production."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
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

SERVER_ENV = {"SECRET_KEY": "offline-queue-tests", "COMPANION_MEDIA_WORKER_COUNT": "0"}
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}

COUNT_QUEUE = """async () => {
  const db = await new Promise((ok, err) => {
    const r = indexedDB.open('companion-offline'); r.onsuccess = () => ok(r.result);
    r.onerror = () => err(r.error);
  });
  const rows = await new Promise((ok) => {
    const r = db.transaction('queue').objectStore('queue').getAll();
    r.onsuccess = () => ok(r.result);
  });
  db.close();
  return rows.length;
}"""
# Wait for the outbox to finish a round of sending (and start one if none runs).
FLUSH = "async () => { await (await import('/app/offline.js')).flush(); }"


class Phone:
    """The test's own server and its database, restartable on the same port and database."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.database = fresh_database(tmp, "companion_offline_queue")
        self.server: LiveServer = start_server(tmp, self.database, SERVER_ENV)
        self.url = self.server.url
        self.engine = sa.create_engine(
            self.database.replace("postgresql://", "postgresql+psycopg://", 1))

    def restart(self) -> None:
        stop_server(self.server)
        self.server = start_server(self.tmp, self.database, SERVER_ENV,
                                   port=urlsplit(self.url).port)

    def rows(self, table: str, column: str, marker: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.execute(sa.text(f"SELECT * FROM {table} WHERE {column} = :m"),
                                  {"m": marker})
            return [dict(r._mapping) for r in result]

    def alerts(self, source_type: str, source_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(sa.text(
                "SELECT kind FROM alert WHERE source_type = :t AND source_id = :i"),
                {"t": source_type, "i": source_id}))

    def user_id(self, email: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.text("SELECT id FROM user_account WHERE email = :e"),
                                   {"e": email}))

    def idle_out(self, email: str) -> None:
        """The person's login sat idle past the timeout (the server ends it at its next
        request, through the same code as a real 30-minute wait)."""
        from companion.accounts.models import LoginSession

        long_ago = datetime.now(UTC) - timedelta(hours=3)
        with self.engine.begin() as conn:
            conn.execute(sa.update(LoginSession)
                         .where(LoginSession.user_id == self.user_id(email),
                                LoginSession.ended_at.is_(None))
                         .values(last_seen_at=long_ago))


@pytest.fixture(scope="module")
def phone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phone]:
    phone = Phone(tmp_path_factory.mktemp("offline-queue"))
    yield phone
    stop_server(phone.server)
    phone.engine.dispose()


def eventually(check: Callable[[], Any], timeout: float = 15) -> Any:
    """check()'s first truthy answer, polled for up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def ready_for_offline(page: Any) -> None:
    """The service worker controls the page and has the app shell in its cache."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    page.wait_for_function("() => caches.keys().then(k => k.length > 0)", timeout=15000)


def nav(page: Any, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()


def waiting(n: int) -> re.Pattern[str]:
    return re.compile(rf"^Waiting to send\W*{n}\W*$")


def log_craving(page: Any, intensity: int, marker: str) -> None:
    nav(page, "Craving")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a craving")
    page.get_by_label("How strong is the craving?").fill(str(intensity))
    page.get_by_role("group", name="Did you use?").get_by_label("No").check()
    page.get_by_label("Notes (optional)").fill(marker)
    page.get_by_role("button", name="Save craving").click()


def check_in(page: Any, marker: str, need_to_talk: bool = False) -> None:
    nav(page, "Check in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Daily check-in")
    page.get_by_label("Mood right now").fill("4")
    page.get_by_label("Craving right now").fill("3")
    page.get_by_role("group", name=re.compile("Used alcohol or drugs")).get_by_label(
        "No", exact=True).check()
    page.get_by_label("Anything else?").fill(marker)
    if need_to_talk:
        page.get_by_label("I need to talk to someone").check()
    page.get_by_role("button", name="Save check-in").click()


def queue_offline_after_reload(context: Any, page: Any, base: str, craving: str,
                               checkin: str, need_to_talk: bool = False) -> None:
    """Offline, the app opened again (as from the home screen with no signal), then a craving
    of 8 and a check-in, both kept on the phone."""
    ready_for_offline(page)
    context.set_offline(True)
    page.goto(f"{base}/home")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Hello, "))
    log_craving(page, 8, craving)
    expect(page.get_by_text(
        "Craving saved on this phone. It will be sent when you are back online.")).to_be_visible()
    expect(page.get_by_role("heading", name=waiting(1))).to_be_visible()
    check_in(page, checkin, need_to_talk)
    expect(page.get_by_text("Check-in saved on this phone")).to_be_visible()
    expect(page.get_by_role("heading", name=waiting(2))).to_be_visible()
    assert page.evaluate(COUNT_QUEUE) == 2


def assert_stored_once(phone: Phone, craving: str, checkin: str, email: str) -> None:
    """Each entry exactly once, as that person's, and the counselor's alert for the craving."""
    cravings = eventually(lambda: phone.rows("craving", "notes", craving))
    checkins = eventually(lambda: phone.rows("checkin", "note", checkin))
    assert len(cravings) == 1 and cravings[0]["intensity"] == 8, cravings
    assert len(checkins) == 1, checkins
    owner = phone.user_id(email)
    assert cravings[0]["client_id"] == owner and checkins[0]["client_id"] == owner
    assert phone.alerts("craving", cravings[0]["id"]) == ["craving_high"]


def marker(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex[:8]}"


def test_entries_made_after_an_offline_reload_are_sent_when_back_online(phone_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, phone_server.url, "client2@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Sam")
    craving, checkin = marker("reload-craving"), marker("reload-checkin")
    queue_offline_after_reload(context, page, phone_server.url, craving, checkin)
    # What waits, what kind and when, and a delete for each.
    card = page.locator(".waiting")
    expect(card.get_by_role("listitem")).to_have_count(2)
    expect(card.get_by_role("listitem").first).to_contain_text("Craving log")
    expect(card.get_by_role("listitem").last).to_contain_text("Check-in")
    expect(card.get_by_text("Waiting for a connection")).to_have_count(2)
    expect(card.get_by_role("button", name=re.compile("^Delete "))).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page) == []
    assert phone_server.rows("craving", "notes", craving) == []

    context.set_offline(False)
    expect(page.get_by_role("heading", name=re.compile("^Waiting to send"))).to_be_hidden(
        timeout=15000)
    expect(page.get_by_text("Check-in sent.")).to_be_visible()
    assert page.evaluate(COUNT_QUEUE) == 0
    assert_stored_once(phone_server, craving, checkin, "client2@demo.test")
    context.close()


def test_offline_entries_wait_through_an_idle_timeout_and_are_sent_after_login(
        phone_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, phone_server.url, "client3@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Jordan")
    craving, checkin = marker("idle-craving"), marker("idle-checkin")
    queue_offline_after_reload(context, page, phone_server.url, craving, checkin)
    phone_server.idle_out("client3@demo.test")

    # Back online: the login has ended; the phone says so, and that the entries wait for it.
    context.set_offline(False)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in", timeout=15000)
    expect(page.get_by_text("2 entries saved on this phone will be sent after you log in.")
           ).to_be_visible()
    assert page.evaluate(COUNT_QUEUE) == 2
    assert phone_server.rows("craving", "notes", craving) == []
    assert axe_violations(page) == []

    login(page, phone_server.url, "client3@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Jordan")
    assert_stored_once(phone_server, craving, checkin, "client3@demo.test")
    eventually(lambda: page.evaluate(COUNT_QUEUE) == 0)
    assert page.evaluate(COUNT_QUEUE) == 0
    expect(page.get_by_role("heading", name=re.compile("^Waiting to send"))).to_be_hidden()
    context.close()


def test_offline_entries_are_sent_once_after_the_server_restarted(phone_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, phone_server.url, "client4@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Riley")
    craving, checkin = marker("restart-craving"), marker("restart-checkin")
    queue_offline_after_reload(context, page, phone_server.url, craving, checkin,
                               need_to_talk=True)
    phone_server.restart()

    context.set_offline(False)
    expect(page.get_by_role("heading", name=re.compile("^Waiting to send"))).to_be_hidden(
        timeout=15000)
    assert_stored_once(phone_server, craving, checkin, "client4@demo.test")
    stored = phone_server.rows("checkin", "note", checkin)[0]
    assert phone_server.alerts("checkin", stored["id"]) == ["need_to_talk"]
    # Sending again (the app opened once more) stores nothing twice.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Daily check-in")
    page.evaluate(FLUSH)
    assert len(phone_server.rows("craving", "notes", craving)) == 1
    context.close()


PROBLEMS = {
    500: {"type": "about:blank", "title": "Internal Server Error", "status": 500,
          "detail": "Something went wrong on our side."},
    # What the server answers a write without the CSRF token of the login.
    403: {"type": "about:blank", "title": "CSRF token missing or wrong", "status": 403,
          "detail": "Send the X-CSRF-Token header you got at login.",
          "errors": [{"field": "X-CSRF-Token", "message": "missing or wrong"}]},
}


def test_an_entry_answered_403_or_500_stays_on_the_phone_until_stored(phone_server, browser):
    # No service worker: Playwright's routes see the page's requests only without one.
    context = browser.new_context(**PHONE, service_workers="block")
    page = context.new_page()
    login(page, phone_server.url, "client6@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Morgan")
    answered: list[int] = []

    def answer_with(status: int) -> Callable[[Any], None]:
        def handle(route: Any) -> None:
            answered.append(status)
            route.fulfill(status=status, content_type="application/problem+json",
                          json=PROBLEMS[status])
        return handle

    page.route("**/api/v1/cravings", answer_with(500))
    craving = marker("refused-craving")
    log_craving(page, 8, craving)
    expect(page.get_by_text("Craving saved on this phone. The server did not take it yet."
                            )).to_be_visible()
    item = page.locator(".waiting").get_by_role("listitem")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Not sent yet")
    assert answered == [500] and page.evaluate(COUNT_QUEUE) == 1

    page.unroute("**/api/v1/cravings")
    page.route("**/api/v1/cravings", answer_with(403))
    page.evaluate(FLUSH)
    assert 403 in answered
    assert page.evaluate(COUNT_QUEUE) == 1
    expect(item).to_have_count(1)
    assert phone_server.rows("craving", "notes", craving) == []
    assert axe_violations(page) == []

    page.unroute("**/api/v1/cravings")
    page.locator(".waiting").get_by_role("button", name="Send now").click()
    expect(page.get_by_role("heading", name=re.compile("^Waiting to send"))).to_be_hidden()
    expect(page.get_by_text("Craving sent.")).to_be_visible()
    assert page.evaluate(COUNT_QUEUE) == 0
    cravings = phone_server.rows("craving", "notes", craving)
    assert len(cravings) == 1
    assert phone_server.alerts("craving", cravings[0]["id"]) == ["craving_high"]
    context.close()


def test_a_deleted_entry_is_never_sent(phone_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, phone_server.url, "client6@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Morgan")
    context.set_offline(True)
    craving = marker("deleted-craving")
    log_craving(page, 3, craving)
    expect(page.get_by_role("heading", name=waiting(1))).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".waiting").get_by_role("button", name=re.compile("^Delete craving log")).click()
    expect(page.get_by_role("heading", name=re.compile("^Waiting to send"))).to_be_hidden()
    expect(page.get_by_text("Craving deleted from this phone. It was not sent.")).to_be_visible()
    context.set_offline(False)
    page.evaluate(FLUSH)
    assert page.evaluate(COUNT_QUEUE) == 0
    assert phone_server.rows("craving", "notes", craving) == []
    context.close()


PUT_PLAN = """async (plan) => {
  const me = await (await fetch('/api/v1/me')).json();
  const r = await fetch('/api/v1/safety-plan', {method: 'PUT', body: JSON.stringify(plan),
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token}});
  return r.status;
}"""


def test_another_person_on_the_same_phone_never_sends_or_sees_the_first_ones_entries(
        phone_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, phone_server.url, "client5@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Casey")
    sponsor = marker("Casey's sponsor")
    assert page.evaluate(PUT_PLAN, {"help_contacts": [{"name": sponsor, "phone": "555-0161"}]}
                         ) == 200
    nav(page, "Safety plan")  # read online: a copy is kept on the phone
    expect(page.get_by_text(sponsor)).to_be_visible()
    ready_for_offline(page)
    context.set_offline(True)
    page.goto(f"{phone_server.url}/home")
    craving = marker("casey-craving")
    log_craving(page, 8, craving)
    expect(page.get_by_role("heading", name=waiting(1))).to_be_visible()
    phone_server.idle_out("client5@demo.test")
    context.set_offline(False)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in", timeout=15000)
    expect(page.get_by_text("1 entry saved on this phone will be sent after you log in.")
           ).to_be_visible()

    # Alex logs in on the same phone: Casey's entry is neither shown nor sent as Alex's, and
    # Casey's safety plan is not what Alex's phone shows offline.
    login(page, phone_server.url, "client1@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alex")
    nav(page, "Craving")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a craving")
    page.evaluate(FLUSH)
    expect(page.get_by_role("heading", name=re.compile("^Waiting to send"))).to_be_hidden()
    assert page.evaluate("async () => (await (await import('/app/offline.js')).pending()).length"
                         ) == 0
    assert page.evaluate(COUNT_QUEUE) == 1  # still on the phone, sealed under Casey's key
    assert phone_server.rows("craving", "notes", craving) == []
    context.set_offline(True)
    page.goto(f"{phone_server.url}/safety-plan")
    expect(page.get_by_role("heading", level=1)).to_have_text("My safety plan")
    page.get_by_role("banner").get_by_role("link", name="Get help now").click()
    expect(page.locator("#crisis")).to_be_visible()
    expect(page.get_by_text(sponsor)).to_have_count(0)
    context.set_offline(False)

    # Casey's next login sends it, as Casey's.
    phone_server.idle_out("client1@demo.test")
    page.goto(f"{phone_server.url}/home")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    login(page, phone_server.url, "client5@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Casey")
    cravings = eventually(lambda: phone_server.rows("craving", "notes", craving))
    assert len(cravings) == 1
    assert cravings[0]["client_id"] == phone_server.user_id("client5@demo.test")
    context.close()
