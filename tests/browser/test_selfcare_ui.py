"""Self-care in Chromium: offline entries reach the server once, box breathing and a thought
record end to end, the safety plan offline, the offline store wiped at logout, the counselor's
alerts and client view. Uses client6 (Morgan), whom the demo leaves without entries."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login

pytestmark = pytest.mark.browser

CLIENT = "client6@demo.test"

READ_QUEUE = """async () => {
  const db = await new Promise((ok, err) => {
    const r = indexedDB.open('companion-offline'); r.onsuccess = () => ok(r.result);
    r.onerror = () => err(r.error);
  });
  const all = (name) => new Promise((ok) => {
    const r = db.transaction(name).objectStore(name).getAll(); r.onsuccess = () => ok(r.result);
  });
  const [queue, keys] = [await all('queue'), await all('keys')];
  db.close();
  return {
    count: queue.length,
    ids: queue.map((q) => q.id),
    clear: queue.map((q) => Object.keys(q).sort().join(',')),
    sealed: queue.every((q) => q.box.ct instanceof ArrayBuffer && q.box.iv.length === 12),
    plaintext: JSON.stringify(queue),
    key: keys.map((k) => [k.constructor.name, k.algorithm.name, k.extractable]),
  };
}"""


def api_get(page: Any, path: str) -> Any:
    return page.evaluate(
        "async (p) => (await fetch(p, {credentials: 'same-origin'})).json()", path
    )


def api_post(page: Any, path: str, body: dict[str, Any]) -> Any:
    return page.evaluate(
        """async ([p, b]) => {
          const me = await (await fetch('/api/v1/me')).json();
          const r = await fetch(p, {method: 'POST', body: JSON.stringify(b), headers: {
            'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token}});
          return {status: r.status, body: await r.json()};
        }""",
        [path, body],
    )


def nav(page: Any, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()


def test_offline_craving_and_checkin_are_sent_once_when_back_online(live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, live_server.url, CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Morgan")
    # The reminder shows until today's check-in is done.
    expect(page.get_by_text("You have not checked in today")).to_be_visible()
    nav(page, "Craving")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a craving")
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    context.set_offline(True)
    page.get_by_label("How strong is the craving?").fill("8")
    page.get_by_label("Lonely").check()
    page.get_by_label("Boredom").check()
    page.get_by_label("Urge surfing").check()
    page.get_by_role("group", name="Did you use?").get_by_label("No").check()
    page.get_by_label("Notes (optional)").fill("offline-marker-craving")
    page.get_by_role("button", name="Save craving").click()
    expect(page.get_by_text("Craving saved on this phone")).to_be_visible()
    expect(page.get_by_role("heading", name="Waiting to send: 1")).to_be_visible()

    nav(page, "Check in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Daily check-in")
    page.get_by_label("Mood right now").fill("6")
    page.get_by_label("Craving right now").fill("3")
    page.get_by_role("group", name=re.compile("Used alcohol or drugs")).get_by_label(
        "No", exact=True).check()
    page.get_by_label("Anything else?").fill("offline-marker-checkin")
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("Check-in saved on this phone")).to_be_visible()
    expect(page.get_by_role("heading", name="Waiting to send: 2")).to_be_visible()

    # On the device: two entries, sealed with AES-GCM under a non-extractable key.
    stored = page.evaluate(READ_QUEUE)
    assert stored["count"] == 2 and stored["sealed"]
    assert set(stored["clear"]) == {"box,id,queued_at"}
    assert "offline-marker" not in stored["plaintext"]
    # The device's key (the profile the app opens with offline) and Morgan's own.
    assert stored["key"] == [["CryptoKey", "AES-GCM", False]] * 2

    context.set_offline(False)
    expect(page.get_by_role("heading", name=re.compile("Waiting to send"))).to_be_hidden(
        timeout=15000)
    cravings = api_get(page, "/api/v1/cravings")["items"]
    checkins = api_get(page, "/api/v1/checkins")["items"]
    assert [c["notes"] for c in cravings] == ["offline-marker-craving"]
    assert cravings[0]["triggers"] == ["boredom", "lonely"] and cravings[0]["intensity"] == 8
    assert [c["note"] for c in checkins] == ["offline-marker-checkin"]
    assert {cravings[0]["id"], checkins[0]["id"]} == set(stored["ids"])
    assert page.evaluate(READ_QUEUE)["count"] == 0
    # A retry of an acknowledged entry changes nothing.
    nav(page, "Home")
    expect(page.get_by_role("heading", name="Checked in today")).to_be_visible()
    assert len(api_get(page, "/api/v1/checkins")["items"]) == 1
    context.close()


def test_box_breathing_and_a_thought_record_end_to_end(live_server, phone):
    phone.clock.install()
    login(phone, live_server.url, CLIENT)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hello, Morgan")
    nav(phone, "Coping")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Coping exercises")
    assert axe_violations(phone) == []
    phone.get_by_role("link", name=re.compile("^Box breathing")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Box breathing")
    phone.get_by_label("How strong is your craving right now?").fill("7")
    phone.get_by_role("button", name="Start breathing").click()
    phase = phone.locator("#breath-phase")
    expect(phase).to_have_text("Breathe in")
    expect(phone.locator("#breath-round")).to_have_text("Round 1 of 4")
    for expected in ["Hold", "Breathe out", "Hold", "Breathe in"]:
        phone.clock.run_for(4000)  # paced 4-4-4-4
        expect(phase).to_have_text(expected)
    expect(phone.locator("#breath-round")).to_have_text("Round 2 of 4")
    phone.clock.run_for(3 * 16000)
    expect(phase).to_have_text("Well done: 4 rounds finished.")
    assert axe_violations(phone) == []
    phone.get_by_label("How strong is your craving now?").fill("3")
    phone.get_by_role("button", name="Finish and save").click()
    expect(phone.get_by_role("heading", name="Saved", exact=True)).to_be_visible()
    expect(phone.get_by_text("Craving before: 7. After: 3.")).to_be_visible()

    phone.get_by_role("link", name="Another exercise").click()
    phone.get_by_role("link", name=re.compile("^Thought record")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thought record")
    phone.get_by_label("How strong is your craving right now?").fill("6")
    phone.get_by_role("button", name="Finish and save").click()
    expect(phone.get_by_role("alert")).to_contain_text("Fill in every part")
    answers = {
        "1. Situation": "Payday, walking past the bar",
        "2. Emotion": "anxious",
        "How strong (0-100)": "80",
        "3. Automatic thought": "I deserve one drink",
        "4. Evidence for the thought": "It was a hard week",
        "5. Evidence against the thought": "60 days sober and I want more",
        "6. Balanced thought": "I can reward myself another way",
        "7. Emotion re-rated (0-100)": "40",
    }
    for label, value in answers.items():
        phone.get_by_label(label, exact=True).fill(value)
    assert axe_violations(phone) == []
    phone.get_by_label("How strong is your craving now?").fill("2")
    phone.get_by_role("button", name="Finish and save").click()
    expect(phone.get_by_role("heading", name="Saved", exact=True)).to_be_visible()

    done = api_get(phone, "/api/v1/coping/completions")["items"]
    by_code = {d["exercise"]: d for d in done}
    assert (by_code["box_breathing"]["craving_before"],
            by_code["box_breathing"]["craving_after"]) == (7, 3)
    record = by_code["thought_record"]
    assert (record["craving_before"], record["craving_after"]) == (6, 2)
    assert record["responses"] == {
        "situation": "Payday, walking past the bar", "emotion": "anxious",
        "emotion_rating": 80, "automatic_thought": "I deserve one drink",
        "evidence_for": "It was a hard week", "evidence_against": "60 days sober and I want more",
        "balanced_thought": "I can reward myself another way", "emotion_rerated": 40,
    }
    # Trends now show which skill helped.
    nav(phone, "Home")
    phone.get_by_role("link", name="My trends").click()
    expect(phone.get_by_role("heading", name="What lowered the craving most")).to_be_visible()
    assert axe_violations(phone) == []


def test_safety_plan_opens_offline_and_storage_is_empty_after_logout(live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, live_server.url, CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Morgan")
    nav(page, "Safety plan")
    expect(page.get_by_role("heading", level=1)).to_have_text("My safety plan")
    page.get_by_role("button", name=re.compile("(Write|Edit) the plan")).click()
    page.locator("#f-warning_signs").fill("Staying in my room\nNot answering the phone")
    page.get_by_label("Name or place 1").nth(1).fill("Sponsor Ana")  # step 4
    page.get_by_label("Phone 1").nth(1).fill("555-0199")
    page.get_by_role("button", name="Save safety plan").click()
    expect(page.get_by_role("link", name="Call 555-0199")).to_be_visible()
    assert axe_violations(page) == []

    # Opened again with no connection at all: the shell from the service worker, the plan
    # from the encrypted copy on the phone.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    page.wait_for_function("() => caches.keys().then(k => k.length > 0)", timeout=15000)
    context.set_offline(True)
    page.goto(f"{live_server.url}/safety-plan")
    offline_note = "You are offline: this is the copy kept on this phone."
    expect(page.get_by_text(offline_note)).to_be_visible()
    expect(page.get_by_text("Staying in my room")).to_be_visible()
    expect(page.get_by_role("link", name="Call 555-0199")).to_be_visible()
    context.set_offline(False)

    page.goto(f"{live_server.url}/home")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Morgan")
    names = page.evaluate("indexedDB.databases().then(d => d.map(x => x.name))")
    assert "companion-offline" in names
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    assert page.evaluate("indexedDB.databases().then(d => d.map(x => x.name))") == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    context.close()


def test_counselor_sees_alerts_and_a_clients_trends(live_server, browser):
    client_ctx = browser.new_context()
    client_page = client_ctx.new_page()
    login(client_page, live_server.url, CLIENT)
    expect(client_page.get_by_role("heading", level=1)).to_have_text("Hello, Morgan")
    made = api_post(client_page, "/api/v1/checkins", {
        "id": "5b0c1f55-6d39-4c8e-9a55-6f1d2f0c0a11",
        "occurred_at": client_page.evaluate("new Date().toISOString()"),
        "mood": 3, "craving": 2, "used": "no", "need_to_talk": True,
    })
    assert made["status"] in (200, 201), json.dumps(made)
    client_ctx.close()

    counselor_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = counselor_ctx.new_page()
    login(page, live_server.url, "counselor@demo.test")
    alerts = page.locator("#alerts")
    expect(alerts.get_by_role("heading", name="Open alerts")).to_be_visible()
    morgan = alerts.locator("li", has_text="Morgan").filter(has_text="Needs to talk").first
    expect(morgan).to_be_visible()
    assert axe_violations(page) == []
    morgan.get_by_role("textbox").fill("Called Morgan, safe, session tomorrow")
    morgan.get_by_role("button", name="Acknowledge").click()
    still_open = alerts.locator("li", has_text="Morgan").filter(has_text="Needs to talk")
    expect(still_open).to_have_count(0)

    page.get_by_role("link", name="Alex").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alex")
    expect(page.get_by_role("heading", name="Craving and mood by day")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Craving and mood by day"))).to_be_visible()
    expect(page.get_by_role("heading", name="Triggers, most frequent first")).to_be_visible()
    expect(page.get_by_text("Sponsor Mike")).to_be_visible()  # client 1's safety plan
    assert axe_violations(page) == []
    counselor_ctx.close()
