"""Reminders outside the app, walked in Chromium (issue 16): a client's home page offers web
push (the browser's prompt only on a yes); a session scheduled 9 minutes ahead makes the
server's job send a push to a push service on loopback, which checks its VAPID token and
decrypts it with the keys the test subscribed with (headless Chromium reaches no real push
service, so the subscription is made through the API); that very payload is then delivered to
the page's service worker over the DevTools protocol, whose push handler shows the notification
with the generic text; the Notifications page lists it. axe finds nothing serious."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    fresh_database,
    login,
    login_body,
    start_server,
    stop_server,
)
from tests.notification_servers import PushService

pytestmark = pytest.mark.browser

SESSION_BODY = re.compile(r"^Starts at \d{1,2}:\d{2} [AP]M C[SD]T\. Open Companion to join\.$")


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    service = PushService()
    yield service
    service.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           push_service: PushService) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("notifications")
    live = start_server(tmp, fresh_database(tmp, "companion_notifications"), {
        "COMPANION_MEDIA_WORKER_COUNT": "0", "COMPANION_PUSH_ENDPOINT_HOSTS": "127.0.0.1"})
    yield live
    stop_server(live)


def _api(page: Any, method: str, path: str, body: Any = None) -> Any:
    """A request from the page, as the app makes it (its cookie, its CSRF token)."""
    return page.evaluate("""async ([method, path, body]) => {
        const me = await (await fetch('/api/v1/me')).json();
        const r = await fetch(path, { method,
            headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
            body: body === null ? undefined : JSON.stringify(body) });
        return { status: r.status, body: r.status === 204 ? null : await r.json() };
    }""", [method, path, body])


def _schedule_for(server: LiveServer, client_id: int, minutes: int) -> int:
    """The demo counselor schedules a 1:1 with the client, ``minutes`` from now."""
    http = requests.Session()
    login = http.post(f"{server.url}/api/v1/auth/login",
                      json=login_body("counselor@demo.test"), timeout=10)
    assert login.status_code == 200, login.text
    starts = (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()
    made = http.post(f"{server.url}/api/v1/sessions", timeout=10,
                     headers={"X-CSRF-Token": login.json()["csrf_token"]},
                     json={"client_id": client_id, "starts_at": starts, "duration_minutes": 60})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_the_service_worker_shows_a_pushed_reminder_with_the_generic_text(
        browser: Any, server: LiveServer, push_service: PushService) -> None:
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US",
                              is_mobile=True, has_touch=True)
    ctx.grant_permissions(["notifications"], origin=server.url)
    page = ctx.new_page()
    try:
        login(page, server.url, "client2@demo.test")
        # The home page offers push once on this device; "Not now" puts it away for good.
        offer = page.locator("#push-offer")
        expect(offer.get_by_role("heading", name="Reminders on this phone?")).to_be_visible()
        expect(offer.get_by_role("button", name="Turn on reminders")).to_be_visible()
        # Seen where the page starts, under its first card, not after a long list of sessions.
        assert page.evaluate("document.querySelector('#push-offer').previousElementSibling"
                             " === document.querySelector('section .card')")
        assert axe_violations(page) == []
        # Headless Chromium has no push service, as some browsers do not: a yes is answered by a
        # sentence about what happened, not the browser's "Registration failed - ...".
        offer.get_by_role("button", name="Turn on reminders").click()
        expect(offer.get_by_text(
            "This browser could not set up reminders: its push service did not answer.",
            exact=False)).to_be_visible()
        expect(offer.get_by_text("Registration failed", exact=False)).to_have_count(0)
        offer.get_by_role("button", name="Not now").click()
        expect(offer).to_have_count(0)
        page.reload()
        expect(page.get_by_role("heading", name=re.compile("^Hello"))).to_be_visible()
        expect(page.locator("#push-offer")).to_have_count(0)

        assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        key = _api(page, "GET", "/api/v1/push/vapid-public-key")["body"]["public_key"]
        push_service.server_key = key
        endpoint, keys = push_service.new_browser()
        made = _api(page, "POST", "/api/v1/push-subscriptions", keys.subscription(endpoint))
        assert made["status"] == 201, made
        me = _api(page, "GET", "/api/v1/me")["body"]
        session_id = _schedule_for(server, me["id"], minutes=9)

        deadline = time.monotonic() + 90  # the job's pass comes every 30 s
        while not push_service.pushes_to(endpoint) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert push_service.refused == []
        pushes = [p for p in push_service.pushes_to(endpoint)
                  if p.payload["url"] == f"/sessions/{session_id}"]
        assert len(pushes) == 1, server.output()[-3000:]
        payload = pushes[0].payload

        # The browser's side: that payload, delivered to this page's service worker.
        cdp = ctx.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated",
               lambda event: registrations.extend(event["registrations"]))
        cdp.send("ServiceWorker.enable")
        deadline = time.monotonic() + 10
        while not registrations and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        [registration] = [r for r in registrations if not r.get("isDeleted")]
        cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": server.url, "registrationId": registration["registrationId"],
            "data": json.dumps(payload)})
        shown: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not shown and time.monotonic() < deadline:
            shown = page.evaluate("""async () => (await (await navigator.serviceWorker.ready)
                .getNotifications()).map((n) => ({ title: n.title, body: n.body,
                                                  url: n.data && n.data.url }))""")
            page.wait_for_timeout(100)
        assert len(shown) == 1, shown
        assert shown[0]["title"] == "Companion: a reminder"
        assert SESSION_BODY.match(shown[0]["body"]), shown
        assert shown[0]["url"] == f"/sessions/{session_id}"

        # The app's own list says what was sent, when and how.
        page.get_by_role("link", name="Notifications").click()
        expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
        item = page.locator("#notification-list li").filter(
            has=page.locator(f'a[href="/sessions/{session_id}"]'))
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Session reminder")
        expect(item).to_contain_text("sent by web push")
        item.get_by_role("button", name="Mark read").click()
        expect(item.get_by_text("read", exact=True)).to_be_visible()
        assert axe_violations(page) == []
    finally:
        ctx.close()


def test_preferences_are_saved_and_a_bad_time_is_shown_at_its_field(
        browser: Any, server: LiveServer) -> None:
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    page = ctx.new_page()
    try:
        login(page, server.url, "client3@demo.test")
        expect(page.get_by_role("heading", name=re.compile("^Hello"))).to_be_visible()
        page.get_by_role("link", name="Notifications").click()
        form = page.locator("form", has=page.get_by_role("heading", name="What you get, and how"))
        form.get_by_label("Questionnaires due").uncheck()
        form.get_by_label("Daily check-in reminder at").fill("19:30")
        form.get_by_label("Quiet from").fill("22:00")
        form.get_by_role("button", name="Save").click()
        # No end to the quiet hours: refused at that field, and nothing is saved.
        expect(form.get_by_label("Quiet until")).to_have_attribute("aria-invalid", "true")
        expect(form.get_by_text(
            'Choose when quiet hours end, or clear "Quiet from".')).to_be_visible()
        stored = _api(page, "GET", "/api/v1/me/notification-preferences")["body"]
        assert stored["kinds"]["measure_due"] is True and stored["checkin_reminder_at"] is None
        form.get_by_label("Quiet until").fill("07:00")
        form.get_by_role("button", name="Save").click()
        expect(form.get_by_text("Saved.")).to_be_visible()
        saved = _api(page, "GET", "/api/v1/me/notification-preferences")["body"]
        assert saved["kinds"]["measure_due"] is False
        assert saved["checkin_reminder_at"] == "19:30"
        assert saved["quiet_hours"] == {"start": "22:00", "end": "07:00"}
        assert axe_violations(page) == []
    finally:
        ctx.close()
