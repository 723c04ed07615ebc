"""Meeting feeds (import rules, re-import, broken feeds, fetch limits), the directory in the
viewer's time zone across DST, "starting soon" on a frozen clock, and a client's meetings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from companion.accounts.models import Clinic, Role
from companion.core import clock
from companion.core.models import AuditEvent
from companion.meetings import sources
from companion.meetings.models import (
    Meeting,
    MeetingAttendance,
    MeetingFavourite,
    MeetingRecommendation,
    MeetingSource,
)
from tests.feed_servers import FeedServer

DAYS_ALL = [0, 1, 2, 3, 4, 5, 6]


def realistic_feed() -> list[Any]:
    """Several fellowships, arrays of days, phone-only meetings, and bad rows of each kind."""
    return [
        {"name": "Monday Night Big Book", "slug": "mnbb", "fellowship": "AA", "day": 1,
         "time": "19:00", "end_time": "20:30", "timezone": "America/Denver",
         "types": ["O", "B", "X"], "location": "St. Mark's Hall",
         "formatted_address": "1160 Lincoln St, Denver, CO 80203, USA",
         "latitude": 39.7343, "longitude": -104.9857, "region": "Capitol Hill"},
        {"name": "Daily Online", "slug": "daily-online", "fellowship": "NA", "day": DAYS_ALL,
         "time": "07:00", "timezone": "America/Chicago", "types": ["O", "D"],
         "conference_url": "https://zoom.example.com/j/123",
         "conference_phone": "+13125550100,,123#"},
        {"name": "SMART by Phone", "slug": "smart-phone", "fellowship": "SMART Recovery",
         "day": "3", "time": "12:00", "timezone": "America/New_York",
         "conference_phone": "+16465550100,,445566#",
         "conference_phone_notes": "Access code 445566#"},
        {"name": "Family Group", "slug": "family-group", "fellowship": "Al-Anon",
         "day": [2, 4], "time": "18:30", "types": ["O", "XYZ"],
         "address": "12 Main St", "city": "Flagstaff", "state": "AZ"},
        {"name": "Bad Zone", "slug": "bad-zone", "day": 5, "time": "20:00",
         "timezone": "Mars/Olympus", "location": "Hall"},
        {"name": "Bad Link", "slug": "bad-link", "day": 6, "time": "09:00",
         "timezone": "America/Chicago", "conference_url": "javascript:alert(1)",
         "conference_phone": "call us", "location": "Room 2"},
        {"name": "Half Days", "slug": "half-days", "day": [1, 9, "x"], "time": "10:00",
         "timezone": "America/Chicago", "location": "Room 3"},
        {"name": "Bad End", "slug": "bad-end", "day": 2, "time": "21:00", "end_time": "late",
         "timezone": "America/Chicago", "location": "Room 4"},
        {"name": "Late Night", "slug": "late-night", "day": 5, "time": "23:30",
         "end_time": "00:30", "timezone": "America/Chicago",
         "conference_url": "http://late.example.org/room"},
        {"name": "Dharma (closed for now)", "slug": "tc-meeting", "fellowship": "Recovery Dharma",
         "day": 0, "time": "17:00", "timezone": "America/Chicago", "types": ["TC", "MED"],
         "location": "Yoga Studio", "formatted_address": "5 Elm St, Springfield, MO 65806",
         "conference_url": "https://meet.example.org/dharma"},
        # bad rows
        "just a string",
        {"slug": "no-name", "day": 1, "time": "10:00"},
        {"name": "No slug", "day": 1, "time": "10:00"},
        {"name": "Second mnbb", "slug": "mnbb", "day": 2, "time": "10:00"},
        {"name": "No day", "slug": "no-day", "time": "10:00"},
        {"name": "Day seven", "slug": "bad-day", "day": 7, "time": "10:00"},
        {"name": "Day name", "slug": "day-name", "day": "Monday", "time": "10:00"},
        {"name": "No time", "slug": "no-time", "day": 1},
        {"name": "Bad time", "slug": "bad-time", "day": 1, "time": "7pm"},
        {"name": "Empty days", "slug": "empty-days", "day": [], "time": "10:00"},
    ]


EXPECTED_SKIPS = [
    (11, None, "not a JSON object"),
    (12, "no-name", "missing name"),
    (13, None, "missing or invalid slug"),
    (14, "mnbb", "duplicate slug: the first row with it was kept"),
    (15, "no-day", "missing day"),
    (16, "bad-day", "invalid day 7 (0-6, Sunday = 0)"),
    (17, "day-name", 'invalid day "Monday" (0-6, Sunday = 0)'),
    (18, "no-time", "missing time"),
    (19, "bad-time", 'invalid time "7pm" (HH:MM, 24 hour)'),
    (20, "empty-days", "invalid day [] (0-6, Sunday = 0)"),
]


# Every fetch failure reads the same (a refused port, a 404 and a timeout alike), so the error
# cannot map another network; the operator's log says which it was.
FETCH_FAILED = ("could not fetch the feed: the address must be public http(s) and send the "
                "feed within {seconds} seconds, up to {size}")


def freeze(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(clock, "now", lambda: moment)


def file_source(world: Any, rows: list[Any], zone: str = "America/Chicago",
                clinic_id: int | None = None) -> MeetingSource:
    source = sources.create_source(None, clinic_id or world.clinic.id, name="Test feed",
                                   kind="file", location="feed.json", timezone=zone)
    report = sources.refresh_source(source, None, raw=json.dumps(rows))
    assert report.error is None, report.error
    return source


def user_in(world: Any, zone: str) -> Any:
    """A client whose own time zone is ``zone``."""
    user = world.user(Role.CLIENT)
    user.timezone = zone
    world.db.session.commit()
    return user


def meeting_id(slug: str) -> int:
    from companion.core.extensions import db

    found = db.session.scalar(select(Meeting.id).where(Meeting.slug == slug))
    assert found is not None
    return found


def count(model: Any) -> int:
    from companion.core.extensions import db

    return db.session.scalar(select(func.count()).select_from(model)) or 0


# Importing --------------------------------------------------------------------------------------


def test_realistic_feed_imports_with_exact_counts_and_reasons(world, make_auth):
    admin = make_auth(world.user(Role.ADMIN))
    response = admin.post("/api/v1/meeting-sources", json={
        "name": "Intergroup", "feed": json.dumps(realistic_feed()), "file_name": "feed.json",
        "timezone": "America/Phoenix",
    })
    assert response.status_code == 201, response.get_json()
    source = response.get_json()
    report = source["last_report"]
    assert (report["added"], report["updated"], report["removed"], report["skipped"]) == (
        10, 0, 0, 10)
    assert [(r["row"], r["slug"], r["message"]) for r in report["skipped_rows"]] == EXPECTED_SKIPS
    assert [(n["row"], n["slug"], n["message"]) for n in report["notes"]] == [
        (4, "family-group", "no timezone; read in America/Phoenix"),
        (5, "bad-zone", 'invalid timezone "Mars/Olympus"; read in America/Phoenix'),
        (6, "bad-link", "conference_url dropped: not an http(s) link"),
        (6, "bad-link", "conference_phone dropped: not a phone number"),
        (7, "half-days", 'ignored invalid day values [9, "x"]'),
        (8, "bad-end", 'invalid end_time "late"; set to one hour after the start'),
    ]
    assert source["last_status"] == "ok" and source["meetings"] == 10

    from companion.core.extensions import db

    by_slug = {m.slug: m for m in db.session.scalars(select(Meeting))}
    assert by_slug["daily-online"].days == DAYS_ALL
    assert by_slug["smart-phone"].days == [3]
    assert by_slug["half-days"].days == [1]
    assert by_slug["family-group"].timezone == "America/Phoenix"
    assert by_slug["bad-zone"].timezone == "America/Phoenix"
    assert by_slug["mnbb"].name == "Monday Night Big Book"  # the first row with the slug won
    assert str(by_slug["daily-online"].end_time) == "08:00:00"  # missing end_time: one hour
    assert str(by_slug["bad-end"].end_time) == "22:00:00"
    bad_link = by_slug["bad-link"]
    assert (bad_link.conference_url, bad_link.conference_phone, bad_link.location) == (
        None, None, "Room 2")
    assert {m.fellowship for m in by_slug.values()} == {
        "AA", "NA", "SMART Recovery", "Al-Anon", "Recovery Dharma", ""}


def test_reimporting_the_same_feed_changes_nothing(world):
    source = file_source(world, realistic_feed())
    from companion.core.extensions import db

    before = {m.id: (m.content_hash, m.updated_at) for m in db.session.scalars(select(Meeting))}
    report = sources.refresh_source(source, None, raw=json.dumps(realistic_feed()))
    assert report.summary() == "added 0, updated 0, removed 0, skipped 10"
    db.session.expire_all()
    after = {m.id: (m.content_hash, m.updated_at) for m in db.session.scalars(select(Meeting))}
    assert after == before


def test_changed_and_vanished_rows_update_and_remove_and_favourites_say_it_ended(
        world, make_auth):
    client = world.user(Role.CLIENT)
    source = file_source(world, realistic_feed())
    gone = meeting_id("smart-phone")
    as_client = make_auth(client)
    assert as_client.put(
        f"/api/v1/clients/{client.id}/meeting-favourites/{gone}").status_code == 201

    rows = [r for r in realistic_feed()
            if not (isinstance(r, dict) and r.get("slug") == "smart-phone")]
    rows[0] = {**rows[0], "time": "19:30"}
    report = sources.refresh_source(source, None, raw=json.dumps(rows))
    assert report.summary() == "added 0, updated 1, removed 1, skipped 10"

    listed = as_client.get("/api/v1/meetings?limit=200").get_json()["items"]
    assert gone not in {i["id"] for i in listed}
    assert as_client.get(f"/api/v1/meetings/{gone}").status_code == 404
    favourites = as_client.get(f"/api/v1/clients/{client.id}/meeting-favourites").get_json()
    [saved] = favourites["items"]
    assert saved["ended"] is True and saved["meeting"] is None
    assert saved["name"] == "SMART by Phone"
    assert saved["note"].startswith("This meeting has ended")

    # The slug comes back: the meeting is listed again.
    report = sources.refresh_source(source, None, raw=json.dumps(realistic_feed()))
    assert report.summary() == "added 1, updated 1, removed 0, skipped 10"


@pytest.mark.parametrize("raw, error", [
    ("{not json", "the feed is not valid JSON (line 1)"),
    ('{"meetings": []}', "the feed is not a JSON array of meetings"),
    ("[]", "the feed has no usable meetings (0 rows skipped); kept the 10 meetings it had"),
    ('[{"name": "x"}]',
     "the feed has no usable meetings (1 rows skipped); kept the 10 meetings it had"),
])
def test_a_broken_feed_keeps_the_meetings_and_shows_the_error(world, make_auth, raw, error):
    source = file_source(world, realistic_feed())
    report = sources.refresh_source(source, None, raw=raw)
    assert report.error == error
    assert count(Meeting) == 10
    from companion.core.extensions import db

    assert db.session.scalar(select(func.count(Meeting.id)).where(
        Meeting.removed_at.is_(None))) == 10
    admin = make_auth(world.user(Role.ADMIN))
    [shown] = admin.get("/api/v1/meeting-sources").get_json()["items"]
    assert (shown["last_status"], shown["last_error"], shown["meetings"]) == ("error", error, 10)
    assert shown["last_success_at"] is not None


# Fetching from a feed URL (a local server the test starts) ---------------------------------------


@pytest.fixture
def feed_server(app) -> Iterator[FeedServer]:
    # Feeds on loopback are refused unless their host is listed, as an intranet feed would be.
    app.config["MEETING_FEED_ALLOWED_HOSTS"] = ["127.0.0.1"]
    server = FeedServer()
    yield server
    server.close()


def test_admin_adds_a_feed_url_and_it_is_fetched(world, make_auth, feed_server):
    feed_server.serve("/feed.json", json.dumps(realistic_feed()).encode())
    admin = make_auth(world.user(Role.ADMIN))
    response = admin.post("/api/v1/meeting-sources", json={
        "name": "Intergroup", "url": f"{feed_server.url}/feed.json", "fellowship": "AA"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["last_report"]["added"] == 10 and body["last_status"] == "ok"
    assert body["refresh_hours"] == 24  # refreshed daily unless set otherwise
    assert body["next_refresh_at"] is not None
    # The feed breaks later: the meetings stay, the admin sees why.
    feed_server.serve("/feed.json", b"oops", status=500)
    response = admin.post(f"/api/v1/meeting-sources/{body['id']}/refresh", json={})
    assert response.status_code == 200
    assert response.get_json()["last_error"] == FETCH_FAILED.format(seconds="20", size="8 MiB")
    assert response.get_json()["meetings"] == 10


def test_due_sources_refresh_on_schedule(world, feed_server, monkeypatch):
    feed_server.serve("/feed.json", json.dumps(realistic_feed()).encode())
    source = sources.create_source(None, world.clinic.id, name="Feed", kind="url",
                                   location=f"{feed_server.url}/feed.json", refresh_hours=24)
    assert [r.added for _, r in sources.refresh_due()] == [10]
    assert sources.refresh_due() == []  # not due again yet
    later = clock.now() + timedelta(hours=24, minutes=1)
    freeze(monkeypatch, later)
    assert [r.summary() for _, r in sources.refresh_due()] == [
        "added 0, updated 0, removed 0, skipped 10"]
    assert source.id is not None


@pytest.mark.parametrize("setup, reason", [
    (lambda s: s.serve("/f", b"[]", status=302, headers={"Location": "file:///etc/passwd"}),
     "redirected to a file: link"),
    (lambda s: s.serve("/f", b"[" + b" " * 5000 + b"]"), "larger than 4096 bytes"),
    (lambda s: s.serve("/f", b"[]", delay=1.5), "no answer within 0.5 s"),
    (lambda s: None, "HTTP 404"),
])
def test_fetching_has_limits(app, world, feed_server, setup, reason, caplog):
    app.config.update(MEETING_FEED_TIMEOUT=0.5, MEETING_FEED_MAX_BYTES=4096)
    setup(feed_server)
    source = sources.create_source(None, world.clinic.id, name="Feed", kind="url",
                                   location=f"{feed_server.url}/f")
    report = sources.refresh_source(source)
    assert report.error == FETCH_FAILED.format(seconds="0.5", size="4 KiB")
    assert f"meeting source {source.id}: import failed: {reason}" in caplog.messages


def test_unreachable_feed_is_reported(world, feed_server, caplog):
    source = sources.create_source(None, world.clinic.id, name="Feed", kind="url",
                                   location="http://127.0.0.1:9/feed.json")
    report = sources.refresh_source(source)
    assert report.error == FETCH_FAILED.format(seconds="20", size="8 MiB")
    assert any(m.startswith(f"meeting source {source.id}: import failed: could not connect")
               for m in caplog.messages)


def test_non_http_sources_are_refused_and_nothing_is_created(world, make_auth):
    admin = make_auth(world.user(Role.ADMIN))
    for url in ("file:///etc/passwd", "ftp://example.org/feed.json", "javascript:alert(1)"):
        response = admin.post("/api/v1/meeting-sources", json={"name": "x", "url": url})
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == "url"
    response = admin.post("/api/v1/meeting-sources", json={"name": "x"})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "url"
    response = admin.post("/api/v1/meeting-sources",
                          json={"name": "x", "feed": "[]", "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "timezone"
    assert count(MeetingSource) == 0


def test_import_meetings_command(app, world, database_url, tmp_path):
    from companion.cli import main

    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(realistic_feed()))
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "COMPANION_INSTANCE_PATH": str(tmp_path / "inst"),
           "COMPANION_ASYNC_MODE": "threading"}
    result = runner.invoke(main, ["import-meetings", str(feed), "--timezone", "America/Denver"],
                           env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "added 10, updated 0, removed 0, skipped 10"
    for row, slug, message in EXPECTED_SKIPS:
        assert f"skipped row {row}{f' ({slug})' if slug else ''}: {message}" in lines
    assert "note: row 4 (family-group): no timezone; read in America/Denver" in lines
    again = runner.invoke(main, ["import-meetings", str(feed)], env=env)
    assert again.stdout.strip().splitlines()[-1] == "added 0, updated 0, removed 0, skipped 10"
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    failed = runner.invoke(main, ["import-meetings", str(broken)], env=env)
    assert failed.exit_code == 1
    refused = runner.invoke(main, ["import-meetings", "file:///etc/passwd"], env=env)
    assert refused.exit_code == 1
    assert count(Meeting) == 10


# The directory in the viewer's time zone --------------------------------------------------------


NY_MONDAY = {"name": "Monday Evening", "slug": "ny-monday", "day": 1, "time": "19:00",
             "timezone": "America/New_York", "conference_url": "https://zoom.example.com/j/9"}


@pytest.mark.parametrize("moment, day, at, next_start", [
    # Both on standard time: 19:00 EST is 00:00 GMT, Tuesday in London.
    (datetime(2025, 3, 3, 12, tzinfo=UTC), 2, "00:00", "2025-03-04T00:00:00+00:00"),
    # Saturday before the US change: Monday's meeting is already on EDT (wall clock kept).
    (datetime(2025, 3, 8, 12, tzinfo=UTC), 1, "23:00", "2025-03-10T23:00:00+00:00"),
    # US on daylight time, the UK not yet: 23:00 Monday in London.
    (datetime(2025, 3, 17, 12, tzinfo=UTC), 1, "23:00", "2025-03-17T23:00:00+00:00"),
    # Both on daylight time: back to midnight, now BST.
    (datetime(2025, 3, 31, 12, tzinfo=UTC), 2, "00:00", "2025-04-01T00:00:00+01:00"),
])
def test_times_follow_the_viewers_zone_across_daylight_saving(
        world, make_auth, monkeypatch, moment, day, at, next_start):
    freeze(monkeypatch, moment)
    file_source(world, [NY_MONDAY])
    viewer = make_auth(user_in(world, "Europe/London"))
    [item] = viewer.get("/api/v1/meetings").get_json()["items"]
    assert (item["day"], item["time"], item["next_start"], item["timezone"]) == (
        day, at, next_start, "Europe/London")
    assert (item["meeting_day"], item["meeting_time"], item["meeting_timezone"]) == (
        1, "19:00", "America/New_York")
    # The day filter works on the viewer's day.
    assert len(viewer.get(f"/api/v1/meetings?day={day}").get_json()["items"]) == 1
    assert viewer.get(f"/api/v1/meetings?day={(day + 1) % 7}").get_json()["items"] == []


def test_a_denver_meeting_shown_in_chicago_and_phoenix(world, make_auth, monkeypatch):
    freeze(monkeypatch, datetime(2025, 7, 1, 12, tzinfo=UTC))
    file_source(world, realistic_feed())
    chicago = make_auth(world.user(Role.CLIENT))  # the program's zone
    phoenix = make_auth(user_in(world, "America/Phoenix"))
    mnbb = meeting_id("mnbb")
    assert chicago.get(f"/api/v1/meetings/{mnbb}").get_json()["time"] == "20:00"
    assert phoenix.get(f"/api/v1/meetings/{mnbb}").get_json()["time"] == "18:00"
    # tz= overrides the caller's own zone; an unknown zone is a clear 422.
    assert chicago.get(f"/api/v1/meetings/{mnbb}?tz=America/Denver").get_json()["time"] == "19:00"
    response = chicago.get("/api/v1/meetings?tz=Mars/Olympus")
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "tz"
    freeze(monkeypatch, datetime(2025, 1, 6, 12, tzinfo=UTC))
    phoenix = make_auth(user_in(world, "America/Phoenix"))
    assert phoenix.get(f"/api/v1/meetings/{mnbb}").get_json()["time"] == "19:00"


SOON_ROWS = [
    {"name": "In progress", "slug": "in-progress", "day": 1, "time": "18:00",
     "timezone": "America/Chicago", "location": "Hall"},
    {"name": "Soon online", "slug": "soon-online", "day": 1, "time": "18:50",
     "end_time": "19:50", "timezone": "America/Chicago",
     "conference_url": "https://us02web.zoom.us/j/8471300499?pwd=abc",
     "conference_phone": "+16465588656,,8471300499#", "types": ["O", "D"]},
    {"name": "In exactly an hour", "slug": "hour", "day": 1, "time": "19:10",
     "timezone": "America/Chicago", "location": "Hall"},
    {"name": "Too late", "slug": "too-late", "day": 1, "time": "19:11",
     "timezone": "America/Chicago", "location": "Hall"},
    {"name": "Ended", "slug": "ended", "day": 1, "time": "17:00", "end_time": "18:05",
     "timezone": "America/Chicago", "location": "Hall"},
    {"name": "Phone only", "slug": "phone-only", "day": 1, "time": "18:30",
     "timezone": "America/Chicago", "conference_phone": "+13125550100,,445566#"},
    {"name": "Denver at 17:30", "slug": "denver", "day": 1, "time": "17:30",
     "timezone": "America/Denver", "conference_url": "https://meet.example.org/x"},
    {"name": "Tuesday", "slug": "tuesday", "day": 2, "time": "18:30",
     "timezone": "America/Chicago", "location": "Hall"},
]


def test_starting_soon_with_a_frozen_clock(world, make_auth, monkeypatch):
    # Monday 2 June 2025, 18:10 in Chicago (CDT).
    freeze(monkeypatch, datetime(2025, 6, 2, 23, 10, tzinfo=UTC))
    file_source(world, SOON_ROWS)
    viewer = make_auth(world.user(Role.CLIENT))
    items = viewer.get("/api/v1/meetings?starting_within=60").get_json()["items"]
    assert [(i["name"], i["time"], i["in_progress"]) for i in items] == [
        ("In progress", "18:00", True),
        ("Denver at 17:30", "18:30", False),
        ("Phone only", "18:30", False),
        ("Soon online", "18:50", False),
        ("In exactly an hour", "19:10", False),
    ]
    soon = items[3]
    assert soon["next_start"] == "2025-06-02T18:50:00-05:00"
    assert soon["join"] == {"url": "https://us02web.zoom.us/j/8471300499?pwd=abc",
                            "host": "us02web.zoom.us", "notes": None}
    assert soon["dial_in"] == {"number": "+16465588656", "access_code": "8471300499#",
                               "tel": "tel:+16465588656,,8471300499%23", "notes": None}
    assert soon["online"] is True and soon["in_person"] is False
    assert [t["label"] for t in soon["types"]] == ["Open", "Discussion"]
    phone = items[2]
    assert phone["join"] is None and phone["dial_in"]["access_code"] == "445566#"
    online = viewer.get("/api/v1/meetings?starting_within=60&mode=online").get_json()["items"]
    assert [i["name"] for i in online] == ["Denver at 17:30", "Phone only", "Soon online"]


def test_filters(world, make_auth, monkeypatch):
    freeze(monkeypatch, datetime(2025, 6, 2, 12, tzinfo=UTC))
    file_source(world, realistic_feed())
    viewer = make_auth(world.user(Role.CLIENT))

    def names(query: str) -> set[str]:
        response = viewer.get(f"/api/v1/meetings?limit=200&{query}")
        assert response.status_code == 200, response.get_json()
        return {i["name"] for i in response.get_json()["items"]}

    online = {"Daily Online", "SMART by Phone", "Late Night", "Dharma (closed for now)"}
    assert names("mode=online") == online
    # TC meetings are hidden from in-person searches; online-only ones have no place.
    assert names("mode=in_person") == {"Monday Night Big Book", "Family Group", "Bad Zone",
                                       "Bad Link", "Half Days", "Bad End"}
    assert names("types=O,D") == {"Daily Online"}
    assert names("types=O&types=XYZ") == {"Family Group"}
    assert names("fellowship=al-anon") == {"Family Group"}
    assert names("q=big+book") == {"Monday Night Big Book"}
    assert names("q=capitol") == {"Monday Night Big Book"}
    assert names("from=06:00&to=08:00") == {"Daily Online"}
    assert names("from=23:00&to=01:00") == {"Late Night"}
    # Near a point in Denver, and a Denver ZIP code (the offline `zipcodes` data).
    assert names("near=39.74,-104.99") == {"Monday Night Big Book"}
    assert names("near=80203") == {"Monday Night Big Book"}
    assert names("near=80203&radius_km=5") == {"Monday Night Big Book"}
    item = viewer.get("/api/v1/meetings?near=39.7343,-104.9857").get_json()["items"][0]
    assert item["distance_km"] == 0.0
    unknown = [t for t in viewer.get(f"/api/v1/meetings/{meeting_id('family-group')}")
               .get_json()["types"]]
    assert unknown == [{"code": "O", "label": "Open"}, {"code": "XYZ", "label": "XYZ"}]
    # Every day of a daily meeting is listed once.
    assert len(viewer.get("/api/v1/meetings?q=daily").get_json()["items"]) == 7
    for query, field in [("mode=nearby", "mode"), ("day=7", "day"), ("from=7pm", "from"),
                         ("near=nowhere", "near"), ("near=99999", "near"),
                         ("near=91,0", "near"), ("starting_within=-1", "starting_within")]:
        response = viewer.get(f"/api/v1/meetings?{query}")
        assert response.status_code == 422, query
        assert response.get_json()["errors"][0]["field"] == field, query


def test_search_words_find_type_names(world, make_auth, monkeypatch):
    """People search "Spanish" or "women", not the Meeting Guide codes S and W."""
    freeze(monkeypatch, datetime(2025, 6, 2, 12, tzinfo=UTC))
    file_source(world, [
        {"name": "Grupo Esperanza", "slug": "esperanza", "day": 3, "time": "19:00",
         "timezone": "America/Chicago", "types": ["S", "O"], "location": "Salon 2"},
        {"name": "Sisters in Sobriety", "slug": "sisters", "day": 4, "time": "12:00",
         "timezone": "America/Chicago", "types": ["W", "C"], "location": "Room 1"},
    ])
    viewer = make_auth(world.user(Role.CLIENT))

    def names(q: str) -> list[str]:
        return [i["name"] for i in viewer.get(f"/api/v1/meetings?q={q}").get_json()["items"]]

    assert names("Spanish") == ["Grupo Esperanza"]
    assert names("spanish") == ["Grupo Esperanza"]
    assert names("women") == ["Sisters in Sobriety"]
    assert names("closed") == ["Sisters in Sobriety"]
    assert names("open") == ["Grupo Esperanza"]


def test_distances_come_in_miles_too(world, make_auth, monkeypatch):
    freeze(monkeypatch, datetime(2025, 6, 2, 12, tzinfo=UTC))
    file_source(world, realistic_feed())
    viewer = make_auth(world.user(Role.CLIENT))
    # About 3.2 km (2 miles) north of the Monday Night Big Book's hall in Denver.
    [item] = viewer.get("/api/v1/meetings?near=39.7631,-104.9857").get_json()["items"]
    assert item["name"] == "Monday Night Big Book"
    assert (item["distance_km"], item["distance_miles"]) == (3.2, 2.0)
    far = viewer.get("/api/v1/meetings?q=daily").get_json()["items"][0]
    assert (far["distance_km"], far["distance_miles"]) == (None, None)


def test_went_today_only_for_a_meeting_held_today(world, make_auth, care, monkeypatch):
    """A client says they went only on a day the meeting is held (in their own zone), and today
    only once it has begun; the directory says whether that is so, to offer the button or not."""
    _, client, _ = care
    as_client = make_auth(client)
    mnbb = meeting_id("mnbb")  # Mondays 19:00 in Denver: 20:00 in Chicago (the client's zone)
    went = f"/api/v1/clients/{client.id}/meeting-attendance"

    def held_today() -> bool:
        return bool(as_client.get(f"/api/v1/meetings/{mnbb}").get_json()["held_today"])

    # Wednesday 4 June 2025, 10:00 in Chicago: not a Monday.
    freeze(monkeypatch, datetime(2025, 6, 4, 15, tzinfo=UTC))
    assert held_today() is False
    response = as_client.post(went, json={"meeting_id": mnbb})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{
        "field": "attended_on", "message": "Monday Night Big Book is not held today."}]
    assert response.get_json()["detail"] == "Monday Night Big Book is not held today."
    response = as_client.post(went, json={"meeting_id": mnbb, "attended_on": "2025-06-03"})
    assert response.get_json()["errors"][0]["message"] == (
        "Monday Night Big Book is not held on Tuesday, June 3.")
    # Monday 9 June, 12:00 in Chicago: held today, but not begun.
    freeze(monkeypatch, datetime(2025, 6, 9, 17, tzinfo=UTC))
    assert held_today() is False
    response = as_client.post(went, json={"meeting_id": mnbb})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["message"] == (
        "Monday Night Big Book has not started yet today. Record it once you have been.")
    assert count(MeetingAttendance) == 0
    # 20:05 in Chicago: it has begun.
    freeze(monkeypatch, datetime(2025, 6, 10, 1, 5, tzinfo=UTC))
    assert held_today() is True
    assert as_client.post(went, json={"meeting_id": mnbb}).status_code == 201
    # A past Monday is fine, and a Denver client's Monday is the same meeting.
    assert as_client.post(went, json={"meeting_id": mnbb, "attended_on": "2025-06-02"}
                          ).status_code == 201
    assert count(MeetingAttendance) == 2


def test_a_late_meeting_elsewhere_is_held_on_the_clients_next_day(world, make_auth, monkeypatch):
    file_source(world, [{"name": "LA Late", "slug": "la-late", "day": 0, "time": "23:30",
                         "timezone": "America/Los_Angeles", "conference_url": "https://x.org/m"}])
    client = world.user(Role.CLIENT)  # Chicago: Sunday 23:30 in LA is Monday 01:30
    as_client = make_auth(client)
    la = meeting_id("la-late")
    went = f"/api/v1/clients/{client.id}/meeting-attendance"
    freeze(monkeypatch, datetime(2025, 6, 9, 7, tzinfo=UTC))  # Monday 02:00 in Chicago
    assert as_client.get(f"/api/v1/meetings/{la}").get_json()["held_today"] is True
    assert as_client.post(went, json={"meeting_id": la}).status_code == 201
    response = as_client.post(went, json={"meeting_id": la, "attended_on": "2025-06-08"})
    assert response.status_code == 422  # Sunday in Chicago: not held


def test_types_and_fellowships_list(world, make_auth):
    file_source(world, realistic_feed())
    body = make_auth(world.user(Role.CLIENT)).get("/api/v1/meetings/types").get_json()
    codes = [t["code"] for t in body["types"]]
    assert codes[-1] == "XYZ" and "TC" in codes
    assert body["fellowships"] == ["AA", "Al-Anon", "NA", "Recovery Dharma", "SMART Recovery"]


def test_meeting_ics_repeats_weekly_in_the_meetings_zone(world, make_auth, monkeypatch):
    freeze(monkeypatch, datetime(2025, 6, 2, 12, tzinfo=UTC))
    file_source(world, realistic_feed())
    viewer = make_auth(world.user(Role.CLIENT))
    response = viewer.get(f"/api/v1/meetings/{meeting_id('family-group')}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert "RRULE:FREQ=WEEKLY;BYDAY=TU,TH\r\n" in text
    assert "DTSTART;TZID=America/Chicago:20250603T183000\r\n" in text
    assert "DTEND;TZID=America/Chicago:20250603T193000\r\n" in text
    assert "BEGIN:VTIMEZONE\r\nTZID:America/Chicago\r\n" in text
    assert "TZOFFSETFROM:-0600\r\nTZOFFSETTO:-0500" in text
    assert "SUMMARY:Family Group\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_another_clinics_meetings_are_not_visible(world, make_auth):
    from companion.core.extensions import db

    other = Clinic(name="Elsewhere")
    db.session.add(other)
    db.session.commit()
    file_source(world, [NY_MONDAY], clinic_id=other.id)
    viewer = make_auth(world.user(Role.CLIENT))
    assert viewer.get("/api/v1/meetings").get_json()["items"] == []
    theirs = meeting_id("ny-monday")
    assert viewer.get(f"/api/v1/meetings/{theirs}").status_code == 404
    assert viewer.get(f"/api/v1/meetings/{theirs}.ics").status_code == 404


# Meetings added by hand -------------------------------------------------------------------------


def test_admin_adds_a_meeting_by_hand(world, make_auth):
    admin = make_auth(world.user(Role.ADMIN))
    response = admin.post("/api/v1/meetings", json={
        "name": "Alumni Group", "fellowship": "Clinic alumni", "day": [2, 4], "time": "18:00",
        "conference_url": "https://meet.example.org/alumni", "types": ["O", "ALUM"],
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["meeting_timezone"] == "America/Chicago"  # the program's zone
    assert body["join"]["host"] == "meet.example.org"
    assert [s["day"] for s in body["schedule"]] != []
    for bad, field in [({"time": "25:00"}, "time"), ({"day": 9}, "day"),
                       ({"conference_url": "javascript:x"}, "conference_url"),
                       ({"timezone": "Nowhere/Town"}, "timezone")]:
        response = admin.post("/api/v1/meetings",
                              json={"name": "X", "day": 1, "time": "10:00", **bad})
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == field
    assert count(Meeting) == 1
    client = make_auth(world.user(Role.CLIENT))
    assert client.post("/api/v1/meetings", json={"name": "X", "day": 1, "time": "10:00"}
                       ).status_code == 403


# A client's meetings ----------------------------------------------------------------------------


@pytest.fixture
def care(world):
    counselor = world.user(Role.COUNSELOR)
    client = world.user(Role.CLIENT, name="Alex")
    stranger = world.user(Role.CLIENT, name="Sam")
    world.group(counselor, [client])
    file_source(world, realistic_feed())
    return counselor, client, stranger


def test_favourites_attendance_and_recommendations(world, make_auth, care, monkeypatch):
    freeze(monkeypatch, datetime(2025, 6, 4, 15, tzinfo=UTC))
    counselor, client, stranger = care
    as_client, as_counselor = make_auth(client), make_auth(counselor)
    mnbb = meeting_id("mnbb")

    assert as_client.put(f"/api/v1/clients/{client.id}/meeting-favourites/{mnbb}"
                         ).status_code == 201
    assert as_client.put(f"/api/v1/clients/{client.id}/meeting-favourites/{mnbb}"
                         ).status_code == 200  # saving twice keeps one
    assert count(MeetingFavourite) == 1
    # Someone else's favourites: not even their existence.
    assert as_client.put(f"/api/v1/clients/{stranger.id}/meeting-favourites/{mnbb}"
                         ).status_code == 404
    assert as_client.put(f"/api/v1/clients/{client.id}/meeting-favourites/99999"
                         ).status_code == 404

    went = as_client.post(f"/api/v1/clients/{client.id}/meeting-attendance",
                          json={"meeting_id": mnbb, "attended_on": "2025-06-02"})
    assert went.status_code == 201
    assert went.get_json()["self_reported"] is True
    assert as_client.post(f"/api/v1/clients/{client.id}/meeting-attendance",
                          json={"meeting_id": mnbb, "attended_on": "2025-06-02"}
                          ).status_code == 200
    for bad, status, field in [
        ({"meeting_id": mnbb, "attended_on": "2025-06-05"}, 422, "attended_on"),
        ({"meeting_id": mnbb, "attended_on": "June 2"}, 422, "attended_on"),
        ({"meeting_id": 99999}, 404, "meeting_id"),
        ({"meeting_id": mnbb, "extra": 1}, 422, "extra"),
    ]:
        response = as_client.post(f"/api/v1/clients/{client.id}/meeting-attendance", json=bad)
        assert response.status_code == status, bad
        assert response.get_json()["errors"][0]["field"] == field
    assert count(MeetingAttendance) == 1

    # The counselor sees it (and cannot record it for the client).
    seen = as_counselor.get(f"/api/v1/clients/{client.id}/meeting-attendance").get_json()
    assert [(i["name"], i["attended_on"]) for i in seen["items"]] == [
        ("Monday Night Big Book", "2025-06-02")]
    assert as_counselor.post(f"/api/v1/clients/{client.id}/meeting-attendance",
                             json={"meeting_id": mnbb}).status_code == 403
    assert as_counselor.get(f"/api/v1/clients/{stranger.id}/meeting-attendance"
                            ).status_code == 404

    daily = meeting_id("daily-online")
    response = as_counselor.post(f"/api/v1/clients/{client.id}/meeting-recommendations",
                                 json={"meeting_id": daily, "note": "Try the morning one."})
    assert response.status_code == 201
    assert as_counselor.post(f"/api/v1/clients/{stranger.id}/meeting-recommendations",
                             json={"meeting_id": daily}).status_code == 404
    assert as_counselor.post(f"/api/v1/clients/{client.id}/meeting-recommendations",
                             json={"meeting_id": daily, "note": "x" * 501}).status_code == 422
    assert as_client.post(f"/api/v1/clients/{client.id}/meeting-recommendations",
                          json={"meeting_id": daily}).status_code == 403
    assert count(MeetingRecommendation) == 1
    [rec] = as_client.get(f"/api/v1/clients/{client.id}/meeting-recommendations"
                          ).get_json()["items"]
    assert (rec["name"], rec["note"], rec["counselor"]) == (
        "Daily Online", "Try the morning one.", "Counselor")

    from companion.core.extensions import db

    audited = set(db.session.execute(
        select(AuditEvent.action, AuditEvent.record_type).where(
            AuditEvent.subject_id == client.id)).all())
    assert {("create", "meeting_favourite"), ("create", "meeting_attendance"),
            ("read", "meeting_attendance"), ("create", "meeting_recommendation"),
            ("read", "meeting_recommendation")} <= audited

    assert as_client.client.delete(f"/api/v1/clients/{client.id}/meeting-favourites/{mnbb}",
                                   headers=as_client.headers()).status_code == 204
    assert count(MeetingFavourite) == 0


def test_private_calendar_feed(world, make_auth, care, client):
    _, me, _ = care
    as_client = make_auth(me)
    mnbb = meeting_id("mnbb")
    as_client.put(f"/api/v1/clients/{me.id}/meeting-favourites/{mnbb}")
    url = as_client.post(f"/api/v1/clients/{me.id}/meeting-calendar").get_json()["url"]
    path = url[url.index("/api/"):]
    feed = client.get(path)  # a calendar app: no login
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    text = feed.get_data(as_text=True)
    assert "SUMMARY:Monday Night Big Book" in text and "TZID:America/Denver" in text
    # A new link stops the old one; turning it off stops both.
    second = as_client.post(f"/api/v1/clients/{me.id}/meeting-calendar").get_json()["url"]
    assert client.get(path).status_code == 404
    assert as_client.client.delete(f"/api/v1/clients/{me.id}/meeting-calendar",
                                   headers=as_client.headers()).status_code == 204
    assert client.get(second[second.index("/api/"):]).status_code == 404
    assert client.get("/api/v1/meeting-calendar/not-a-token.ics").status_code == 404


def test_feed_parser_never_raises_on_odd_values():
    from companion.meetings.feeds import parse_feed

    odd = [{"name": ["A", "B"], "slug": 12, "day": [True, 1.5, "2"], "time": "7:05",
            "types": "O, D", "notes": ["one", "two"], "latitude": "abc", "longitude": 5,
            "regions": "North", "approximate": "yes", "group": {"x": 1},
            "conference_phone": 5551234, "entity_url": "ftp://x"}]
    result = parse_feed(json.dumps(odd), "America/Chicago")
    [meeting] = result.meetings
    fields = meeting.fields
    assert meeting.slug == "12" and fields["name"] == "A\nB"[:255]
    assert fields["days"] == [2] and fields["start_time"] == "07:05"
    assert fields["types"] == ["O", "D"] and fields["notes"] == "one\ntwo"
    assert (fields["latitude"], fields["longitude"]) == (None, None)
    assert fields["regions"] == ["North"] and fields["approximate"] is True
    assert fields["group"] is None and fields["conference_phone"] == "5551234"
    assert fields["entity"] is None
    assert [n.message for n in result.notes] == [
        "ignored invalid day values [true, 1.5]",
        "no timezone; read in America/Chicago",
        "group dropped: not text",
        "latitude/longitude dropped: not a valid pair of coordinates",
        "entity_url dropped: not an http(s) link",
    ]


def test_ids_past_a_row_id_are_refused_not_a_500(world, make_auth, care):
    # Were 500s (found by tests/core/test_api_fuzz.py): SQLite cannot take an integer past 64 bits.
    _, client, _ = care
    as_client, admin = make_auth(client), make_auth(world.user(Role.ADMIN))
    huge = 2**63
    for response in (
        admin.post(f"/api/v1/meeting-sources/{huge}/refresh", json={}),
        as_client.put(f"/api/v1/clients/{client.id}/meeting-favourites/{huge}"),
        as_client.get(f"/api/v1/meetings/{huge}"),
    ):
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    went = as_client.post(f"/api/v1/clients/{client.id}/meeting-attendance",
                          json={"meeting_id": huge})
    assert went.status_code == 422
    assert went.get_json()["errors"][0]["field"] == "meeting_id"
