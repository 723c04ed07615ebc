"""A client's screens on a 360 px phone: the top bar takes one line, messages appear where the
person is looking (and are announced), errors are sentences that mark the field at fault, every
choice is a 44 px target, box breathing runs one pace, chart dates do not collide, and meetings
(search by type, miles, local times, Saved / Remove, "I went today", offline saved meetings).

Each test uses a demo client no other browser test writes for (Jordan: self-care; Riley:
meetings), so the shared demo server stays as other tests expect it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, login, login_body

pytestmark = pytest.mark.browser

SELF_CARE_CLIENT = "client3@demo.test"  # Jordan
MEETINGS_CLIENT = "client4@demo.test"  # Riley
CHICAGO = ZoneInfo("America/Chicago")  # the demo program's zone


def phone_in(browser: Any, locale: str = "en-US") -> Any:
    """A 360 x 740 touch phone whose language is ``locale``."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale=locale,
                                  timezone_id="America/Chicago")
    return context, context.new_page()


def in_sight(page: Any, locator: Any) -> bool:
    """Is the element on screen, below the sticky top bar (where the person can read it)?"""
    return bool(locator.evaluate("""el => {
      const r = el.getBoundingClientRect();
      const bar = document.querySelector('.topbar').getBoundingClientRect().bottom;
      return r.height > 0 && r.top >= bar - 1 && r.bottom <= window.innerHeight + 1;
    }"""))


def topbar_height(page: Any) -> float:
    return float(page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height"))


# Messages where the person is ------------------------------------------------------------------


def test_the_top_bar_is_one_line_and_messages_appear_where_the_person_is(live_server, browser):
    context, page = phone_in(browser)
    login(page, live_server.url, SELF_CARE_CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Jordan")
    # One line: every item of the bar on the same row, the bar at most a 44 px target high.
    assert topbar_height(page) <= 60
    tops = page.evaluate("""[...document.querySelectorAll('.topbar > *')]
      .map(e => e.getBoundingClientRect()).filter(r => r.height > 0)
      .map(r => Math.round(r.top + r.height / 2))""")
    assert max(tops) - min(tops) <= 4, tops
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Check in")).to_be_visible()
    nav.get_by_role("link", name="Check in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Daily check-in")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # Pressed at the bottom with a question unanswered: the page shows the question, and says
    # what is missing under it; the radio buttons point to that message.
    save = page.get_by_role("button", name="Save check-in")
    save.scroll_into_view_if_needed()
    save.click()
    used = page.get_by_role("group", name=re.compile("Used alcohol or drugs"))
    missing = used.get_by_text("Choose one answer.")
    expect(missing).to_be_visible()
    assert in_sight(page, missing)
    first_radio = used.get_by_label("No", exact=True)
    expect(first_radio).to_be_focused()
    expect(first_radio).to_have_attribute("aria-invalid", "true")
    expect(first_radio).to_have_accessible_description(re.compile("Choose one answer."))
    assert axe_violations(page) == []

    # Saved: the confirmation is right under the button, in a live region.
    first_radio.check()
    save.scroll_into_view_if_needed()
    save.click()
    saved = page.get_by_role("status").filter(has_text="Check-in saved.")
    expect(saved).to_be_visible()
    assert in_sight(page, saved)
    expect(save).to_have_accessible_description(re.compile("Check-in saved."))
    assert axe_violations(page) == []

    nav.get_by_role("link", name="Craving").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a craving")
    page.get_by_role("group", name="Did you use?").get_by_label("No").check()
    save = page.get_by_role("button", name="Save craving")
    save.scroll_into_view_if_needed()
    save.click()
    saved = page.get_by_role("status").filter(has_text="Craving saved.")
    expect(saved).to_be_visible()
    assert in_sight(page, saved)

    # The breathing square is not hidden under the bar when the exercise is under way.
    page.goto(f"{live_server.url}/coping/box_breathing")
    start = page.get_by_role("button", name="Start breathing")
    start.scroll_into_view_if_needed()
    start.click()
    box = page.locator(".breath-box")
    box.scroll_into_view_if_needed()
    assert in_sight(page, box)
    assert topbar_height(page) <= 60
    context.close()


# Errors in words, at the field ------------------------------------------------------------------


def test_errors_are_sentences_marked_on_the_field_at_fault(live_server, browser):
    context, page = phone_in(browser)
    login(page, live_server.url, SELF_CARE_CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Jordan")
    page.goto(f"{live_server.url}/checkin")
    sleep = page.get_by_label("Hours of sleep last night")
    sleep.fill("25")
    page.get_by_role("group", name=re.compile("Used alcohol or drugs")).get_by_label(
        "No", exact=True).check()
    page.get_by_role("button", name="Save check-in").click()
    expect(sleep).to_have_attribute("aria-invalid", "true")
    expect(sleep).to_have_accessible_description("Sleep hours must be 24 or less.")
    expect(sleep).to_be_focused()
    expect(page.get_by_role("alert")).to_have_text("Sleep hours must be 24 or less.")
    expect(page.get_by_text(re.compile("should be|less than or equal"))).to_have_count(0)
    assert axe_violations(page) == []

    # The safety plan marks the very phone number at fault, in step 4's second row.
    page.goto(f"{live_server.url}/safety-plan")
    page.get_by_role("button", name=re.compile("(Write|Edit) the plan")).click()
    step4 = page.get_by_role("group", name=re.compile("^Step 4"))
    step4.get_by_label("Name or place 1").fill("Sponsor Ana")
    step4.get_by_label("Phone 1").fill("555-0199")
    step4.get_by_role("button", name="Add another to step 4").click()
    step4.get_by_label("Name or place 2").fill("Sam")
    step4.get_by_label("Phone 2").fill("call me after 6")
    save = page.get_by_role("button", name="Save safety plan")
    save.scroll_into_view_if_needed()
    save.click()
    phone = step4.get_by_label("Phone 2")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_accessible_description(
        "Phone number may only have digits, spaces and + - ( ) . # *.")
    expect(phone).to_be_focused()
    assert in_sight(page, phone)
    expect(step4.get_by_label("Phone 1")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Some fields are not valid")).to_have_count(0)
    assert axe_violations(page) == []
    context.close()


# Tap targets ------------------------------------------------------------------------------------


def test_every_choice_is_a_44_px_target_and_its_label_is_the_target(live_server, browser):
    context, page = phone_in(browser)
    login(page, live_server.url, SELF_CARE_CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Jordan")
    for path in ("/checkin", "/craving"):
        page.goto(f"{live_server.url}{path}")
        page.locator("form input[type=radio]").first.wait_for()
        sizes = page.evaluate("""[...document.querySelectorAll(
            'form input[type=radio], form input[type=checkbox]')].map(i => {
          const label = i.closest('label').getBoundingClientRect();
          const box = i.getBoundingClientRect();
          return [i.name + ':' + i.value, label.width, label.height, box.width];
        })""")
        assert len(sizes) >= 3, path
        small = [s for s in sizes if s[1] < 44 or s[2] < 44 or s[3] < 20]
        assert small == [], (path, small)
    # Tapping the words, well right of the box, ticks it.
    page.goto(f"{live_server.url}/checkin")
    row = page.locator("label", has_text="I need to talk to someone")
    row.scroll_into_view_if_needed()
    box = row.bounding_box()
    assert box["height"] >= 44
    page.touchscreen.tap(box["x"] + box["width"] - 10, box["y"] + box["height"] - 4)
    expect(page.get_by_label("I need to talk to someone")).to_be_checked()
    assert axe_violations(page) == []
    context.close()


# Breathing and charts ---------------------------------------------------------------------------


def test_box_breathing_runs_one_pace_however_often_start_is_pressed(live_server, browser):
    context, page = phone_in(browser)
    page.clock.install()
    login(page, live_server.url, SELF_CARE_CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Jordan")
    page.goto(f"{live_server.url}/coping/box_breathing")
    start = page.get_by_role("button", name="Start breathing")
    # Three quick taps reach the button before the page has redrawn it.
    start.evaluate("b => { b.click(); b.click(); b.click(); }")
    count = page.locator(".breath-count")
    expect(page.locator("#breath-phase")).to_have_text("Breathe in")
    expect(count).to_have_text("4")
    page.clock.run_for(1000)
    expect(count).to_have_text("3")  # one second gone, not three
    page.clock.run_for(3000)
    expect(page.locator("#breath-phase")).to_have_text("Hold")
    # Stopped is stopped: no second pace carries on behind it.
    stop = page.locator(".pacer").get_by_role("button", name=re.compile("^Stop"))
    expect(stop).to_have_count(1)
    stop.click()
    expect(page.locator("#breath-phase")).to_have_text("Stopped. You can start again any time.")
    page.clock.run_for(8000)
    expect(page.locator("#breath-phase")).to_have_text("Stopped. You can start again any time.")
    expect(count).to_have_text("")
    expect(page.get_by_role("button", name="Start breathing")).to_be_visible()
    assert axe_violations(page) == []
    context.close()


def test_chart_dates_do_not_collide_and_are_readable_on_a_phone(live_server, browser):
    context, page = phone_in(browser)
    login(page, live_server.url, "client1@demo.test")  # Alex has four weeks of demo entries
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alex")
    for days in (14, 28, 90):
        page.goto(f"{live_server.url}/trends?days={days}")
        expect(page.get_by_role("heading", name="Craving and mood by day")).to_be_visible()
        charts = page.evaluate("""[...document.querySelectorAll('svg.chart')].map(svg => {
          const texts = [...svg.querySelectorAll('text')];
          const bottom = Math.max(...texts.map(t => Number(t.getAttribute('y'))));
          const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
          return texts.filter(t => Number(t.getAttribute('y')) === bottom).map(t => {
            const r = t.getBoundingClientRect();
            return [t.textContent, r.left, r.right,
                    parseFloat(getComputedStyle(t).fontSize) * scale];
          });
        }).filter(labels => labels.some(l => l[0].includes('/')))""")
        assert len(charts) == 2, days
        for labels in charts:
            assert len(labels) >= 2
            for text, _, _, size in labels:
                assert size >= 12, (days, text, size)
            for (a, _, a_right, _), (b, b_left, _, _) in zip(labels, labels[1:], strict=False):
                assert a_right + 4 <= b_left, (days, a, b, a_right, b_left)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page) == []
    context.close()


# Meetings ---------------------------------------------------------------------------------------


def _admin_session(base: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    response = http.post(f"{base}/api/v1/auth/login", json=login_body("admin@demo.test"),
                         timeout=10)
    assert response.status_code == 200
    return http, response.json()["csrf_token"]


def _add_meeting(base: str, name: str, start: datetime, **extra: Any) -> None:
    http, csrf = _admin_session(base)
    local = start.astimezone(CHICAGO)
    response = http.post(f"{base}/api/v1/meetings", headers={"X-CSRF-Token": csrf}, timeout=10,
                         json={"name": name, "fellowship": "NA", "day": (local.weekday() + 1) % 7,
                               "time": f"{local:%H:%M}", "timezone": "America/Chicago", **extra})
    assert response.status_code == 201, response.text


def _search(page: Any, words: str = "", near: str = "") -> Any:
    form = page.get_by_role("search")
    form.get_by_label(re.compile("^Search words")).fill(words)
    form.get_by_label(re.compile("^Near")).fill(near)
    form.get_by_role("button", name="Search").click()
    expect(form.get_by_role("heading", name=re.compile("found$"))).to_be_visible()
    return form


def test_meeting_search_finds_type_names_in_miles_and_local_times(live_server, browser):
    context, page = phone_in(browser, "en-US")
    login(page, live_server.url, MEETINGS_CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Riley")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Meetings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meetings")
    # Tagged S (Spanish) in the demo feed, with "Spanish" nowhere in its name or notes.
    form = _search(page, "Spanish")
    found = form.locator("li.meeting")
    expect(found).to_have_count(2)  # Tuesdays and Thursdays
    expect(found.first).to_contain_text("Grupo Nueva Vida")
    # Times in the person's locale: 12-hour in the US.
    expect(found.first.get_by_text(re.compile(r"^(Tuesday|Thursday) 8:00\sPM–9:30\sPM\s[CE][SD]T$"))
           ).to_be_visible()
    # Near a Springfield, Missouri ZIP code: miles for a US English phone.
    form = _search(page, "Nueva Vida", near="65806")
    expect(form.locator("li.meeting").first.get_by_text(re.compile(r"\d(\.\d)? miles? away")
                                                        )).to_be_visible()
    expect(form.get_by_text(re.compile("km away"))).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page) == []
    context.close()

    # The same meeting on a German phone: 24-hour times and kilometres.
    context, page = phone_in(browser, "de-DE")
    login(page, live_server.url, MEETINGS_CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Riley")
    page.goto(f"{live_server.url}/meetings")
    form = _search(page, "Nueva Vida", near="65806")
    item = form.locator("li.meeting").first
    when = re.compile(r"^(Dienstag|Donnerstag), 20:00–21:30\s\S+$")
    expect(item.get_by_text(when)).to_be_visible()
    expect(item.get_by_text(re.compile(r"Kilometer away"))).to_be_visible()
    context.close()


def test_saving_shows_saved_and_went_today_only_when_held_today(live_server, browser):
    now = datetime.now(UTC)
    local = now.astimezone(CHICAGO)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    began = max(midnight, local - timedelta(minutes=5))  # today, already begun
    _add_meeting(live_server.url, "Phone Test Tonight", began,
                 conference_phone="+13125550142,,778899#")
    _add_meeting(live_server.url, "Phone Test Tomorrow", local + timedelta(days=1),
                 conference_url="https://meet.example.org/tomorrow")

    context, page = phone_in(browser)
    login(page, live_server.url, MEETINGS_CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Riley")
    page.goto(f"{live_server.url}/meetings")
    form = _search(page, "Phone Test")
    tonight = form.locator("li.meeting", has_text="Phone Test Tonight")
    tomorrow = form.locator("li.meeting", has_text="Phone Test Tomorrow")
    expect(tonight).to_have_count(1)
    # Not held today: nothing to say about going.
    expect(tomorrow.get_by_role("button", name=re.compile("I went today"))).to_have_count(0)

    tonight.get_by_role("button", name=re.compile("^Save")).click()
    expect(tonight.get_by_role("status")).to_have_text("Saved to your meetings.")
    expect(tonight.get_by_text("Saved", exact=True)).to_be_visible()
    remove = tonight.get_by_role("button", name="Remove Phone Test Tonight from your meetings")
    expect(remove).to_be_focused()
    # It is in "Your meetings" too, with its dial-in number and the same state.
    mine = page.locator("#my-meetings li.meeting", has_text="Phone Test Tonight")
    expect(mine.get_by_role("link", name="Call +13125550142")).to_be_visible()
    expect(mine.get_by_text("Saved", exact=True)).to_be_visible()
    assert axe_violations(page) == []

    tonight.get_by_role("button", name=re.compile("I went today")).click()
    expect(tonight.get_by_role("status")).to_have_text(
        "Noted: you went today. Your counselor will see it.")
    expect(tonight.get_by_text("You went today", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("I went today to Phone Test Tonight"))
           ).to_have_count(0)

    # Remove, and Save again from the same place.
    remove.click()
    expect(tonight.get_by_role("status")).to_have_text("Removed from your meetings.")
    expect(tonight.get_by_role("button", name=re.compile("^Save"))).to_be_focused()
    tonight.get_by_role("button", name=re.compile("^Save")).click()
    expect(tonight.get_by_text("Saved", exact=True)).to_be_visible()
    assert axe_violations(page) == []
    context.close()


def test_saved_meetings_and_next_sessions_open_with_no_signal(live_server, browser):
    _add_meeting(live_server.url, "Offline Test Meeting", datetime.now(UTC) + timedelta(days=2),
                 conference_phone="+13125550177,,445566#")
    context, page = phone_in(browser)
    login(page, live_server.url, MEETINGS_CLIENT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Riley")
    expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
    page.goto(f"{live_server.url}/meetings")
    form = _search(page, "Offline Test")
    form.locator("li.meeting").first.get_by_role("button", name=re.compile("^Save")).click()
    mine = page.locator("#my-meetings li.meeting", has_text="Offline Test Meeting")
    expect(mine).to_be_visible()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    page.wait_for_function("() => caches.keys().then(k => k.length > 0)", timeout=15000)
    page.goto(f"{live_server.url}/home")  # the sessions' copy is made as the home page loads
    expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
    expect(page.get_by_text("Relapse Prevention Group").first).to_be_visible()

    context.set_offline(True)
    page.goto(f"{live_server.url}/meetings")
    expect(page.get_by_text("You are offline: these are your saved meetings as kept on this "
                            "phone.")).to_be_visible()
    mine = page.locator("#my-meetings li.meeting", has_text="Offline Test Meeting")
    call = mine.get_by_role("link", name="Call +13125550177")
    expect(call).to_have_attribute("href", "tel:+13125550177,,445566%23")
    expect(mine.get_by_text("Access code: 445566#")).to_be_visible()
    expect(mine.get_by_role("button")).to_have_count(0)  # nothing that needs the server
    assert axe_violations(page) == []

    page.goto(f"{live_server.url}/home")
    expect(page.get_by_text("You are offline: these are your sessions as kept on this phone."
                            )).to_be_visible()
    expect(page.get_by_text("Relapse Prevention Group").first).to_be_visible()
    context.set_offline(False)
    context.close()
