"""Hostile meeting feeds: a feed that trickles holds no lock and no request past its deadline;
feed URLs never reach internal addresses (SSRF), with one plain error for every refusal; rows
carrying control characters are skipped one by one; searches are limited per person and bounded
in what they load."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from companion.accounts.models import Role
from companion.meetings import sources
from companion.meetings.models import Meeting, MeetingSource
from tests.feed_servers import FeedServer, TrickleServer
from tests.meetings.test_meetings import FETCH_FAILED, realistic_feed

PLAIN = FETCH_FAILED.format(seconds="20", size="8 MiB")
ROW = {"name": "Lunch Bunch", "day": 2, "time": "12:00", "timezone": "America/Chicago",
       "location": "Hall"}


def count_meetings() -> int:
    from companion.core.extensions import db

    return db.session.scalar(select(func.count(Meeting.id))) or 0


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.serve("/feed.json", json.dumps(realistic_feed()).encode())
    yield server
    server.close()


class Connections:
    """Every socket connect the code attempts. None leaves this machine: any address but
    loopback is refused here, as if nothing listened there."""

    def __init__(self) -> None:
        self.attempted: list[Any] = []


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Connections:
    seen = Connections()
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        seen.attempted.append(address)
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(111, "refused by the test: no traffic leaves")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def resolve_as(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[list[str]]]) -> list[str]:
    """Make each name resolve to the given answers in turn (the last one repeats): what a DNS
    server of the attacker's would answer, without asking any."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in names:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        answers = names[host]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, int(port or 80)) if ":" not in a else (a, int(port or 80), 0, 0))
                for a in answer]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def this_machines_address() -> str | None:
    """The address this machine sends from (a UDP connect picks it and sends nothing)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()


OWN_ADDRESS = this_machines_address()


# Internal addresses (SSRF) ----------------------------------------------------------------------


def test_internal_addresses_are_refused_with_one_plain_error_and_no_traffic(
        app, world, feed_server, connections, monkeypatch):
    port = feed_server.port
    resolve_as(monkeypatch, {"feeds.example.org": [["127.0.0.1"]]})
    urls = [
        f"http://127.0.0.1:{port}/feed.json",  # loopback, where a feed really answers
        f"http://127.1.2.3:{port}/feed.json",  # all of 127/8
        f"http://[::1]:{port}/feed.json",
        f"http://[::ffff:127.0.0.1]:{port}/feed.json",  # loopback written as IPv6
        f"http://2130706433:{port}/feed.json",  # 127.0.0.1 as one number
        f"http://0.0.0.0:{port}/feed.json",  # "this host"
        f"http://localhost:{port}/feed.json",  # a name for loopback
        f"http://feeds.example.org:{port}/feed.json",  # a public-looking name for loopback
        "http://localhost/api/v1/meetings",  # the server itself, as the app's clients call it
        "http://10.1.2.3/feed.json",
        "http://172.16.0.9/feed.json",
        "http://192.168.1.1/feed.json",
        "http://100.64.0.1/feed.json",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://[fd00::1]/feed.json",
        "http://[fe80::1]/feed.json",
        "https://224.0.0.1/feed.json",  # multicast
    ] + ([f"http://{OWN_ADDRESS}:{port}/feed.json"] if OWN_ADDRESS else [])  # this machine
    errors = set()
    for index, url in enumerate(urls):
        source = sources.create_source(None, world.clinic.id, name=f"Feed {index}", kind="url",
                                       location=url)
        errors.add(sources.refresh_source(source).error)
    assert errors == {PLAIN}
    assert connections.attempted == []
    assert feed_server.requests == 0
    assert count_meetings() == 0


def test_a_listed_host_is_fetched_and_its_failures_read_like_a_refusal(
        app, world, feed_server, connections):
    app.config["MEETING_FEED_ALLOWED_HOSTS"] = ["127.0.0.1"]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # a port nothing listens on
    closed_port = closed.getsockname()[1]
    closed.close()
    errors = []
    for url in (f"{feed_server.url}/missing.json", f"http://127.0.0.1:{closed_port}/feed.json",
                f"http://localhost:{feed_server.port}/feed.json"):  # not listed: refused
        source = sources.create_source(None, world.clinic.id, name=url, kind="url",
                                       location=url)
        errors.append(sources.refresh_source(source).error)
    assert errors == [PLAIN, PLAIN, PLAIN]
    source = sources.create_source(None, world.clinic.id, name="Intranet", kind="url",
                                   location=f"{feed_server.url}/feed.json")
    assert sources.refresh_source(source).added == 10


def test_an_admin_adding_a_loopback_feed_shows_nothing_of_it(world, make_auth, feed_server):
    admin = make_auth(world.user(Role.ADMIN))
    response = admin.post("/api/v1/meeting-sources", json={
        "name": "Sneaky", "url": f"{feed_server.url}/feed.json"})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["last_status"], body["last_error"], body["meetings"]) == ("error", PLAIN, 0)
    client = make_auth(world.user(Role.CLIENT))
    assert client.get("/api/v1/meetings").get_json()["items"] == []
    assert feed_server.requests == 0


def test_dns_rebinding_cannot_pass_the_address_check(world, feed_server, connections,
                                                     monkeypatch):
    # The name answers a public address first and loopback afterwards: a check on one lookup
    # and a connection made after another would reach the loopback feed.
    asked = resolve_as(monkeypatch, {"rebind.example.org": [["93.184.215.14"], ["127.0.0.1"]]})
    source = sources.create_source(None, world.clinic.id, name="Rebind", kind="url",
                                   location=f"http://rebind.example.org:{feed_server.port}/f")
    assert sources.refresh_source(source).error == PLAIN
    assert [a[0] for a in connections.attempted] == ["93.184.215.14"]  # the address checked
    assert asked == ["rebind.example.org"]
    assert feed_server.requests == 0


def test_a_name_with_any_internal_address_is_refused(world, feed_server, connections,
                                                     monkeypatch):
    resolve_as(monkeypatch, {"mixed.example.org": [["93.184.215.14", "10.0.0.7"]]})
    source = sources.create_source(None, world.clinic.id, name="Mixed", kind="url",
                                   location="http://mixed.example.org/feed.json")
    assert sources.refresh_source(source).error == PLAIN
    assert connections.attempted == []


def test_a_redirect_to_an_internal_address_is_refused(app, world, feed_server, connections):
    app.config["MEETING_FEED_ALLOWED_HOSTS"] = ["127.0.0.1"]
    feed_server.serve("/hop", b"", status=302,
                      headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    source = sources.create_source(None, world.clinic.id, name="Hop", kind="url",
                                   location=f"{feed_server.url}/hop")
    assert sources.refresh_source(source).error == PLAIN
    assert [a[0] for a in connections.attempted] == ["127.0.0.1"]


# A feed that trickles ---------------------------------------------------------------------------


@pytest.fixture
def trickle(app) -> Iterator[TrickleServer]:
    app.config["MEETING_FEED_ALLOWED_HOSTS"] = ["127.0.0.1"]
    server = TrickleServer(limit=40)
    yield server
    server.close()


def test_others_keep_being_answered_while_a_feed_trickles(app, world, make_auth, trickle):
    app.config["MEETING_FEED_TIMEOUT"] = 120  # the deadline is not what ends this download
    admin = make_auth(world.user(Role.ADMIN))
    client = make_auth(world.user(Role.CLIENT))
    answered: dict[str, Any] = {}

    def add_source() -> None:
        with app.app_context():
            answered["post"] = admin.post("/api/v1/meeting-sources", json={
                "name": "Slow", "url": trickle.url})

    adding = threading.Thread(target=add_source)
    adding.start()
    try:
        assert trickle.started.wait(20), "the feed was never requested"
        health = app.test_client().get("/healthz")
        search = client.get("/api/v1/meetings")
        still_downloading = adding.is_alive() and not trickle.done.is_set()
    finally:
        trickle.stop.set()
        adding.join(30)
    assert (health.status_code, health.get_json()["status"]) == (200, "ok")
    assert search.status_code == 200
    assert still_downloading  # they were answered in the middle of the download
    assert answered["post"].status_code == 201
    assert answered["post"].get_json()["last_error"] == FETCH_FAILED.format(
        seconds="120", size="8 MiB")


@pytest.mark.parametrize("headers_first", [True, False], ids=["body", "headers"])
def test_the_deadline_ends_a_trickling_download(app, world, headers_first, caplog):
    app.config.update(MEETING_FEED_ALLOWED_HOSTS=["127.0.0.1"], MEETING_FEED_TIMEOUT=2)
    trickle = TrickleServer(limit=40, headers_first=headers_first)
    try:
        source = sources.create_source(None, world.clinic.id, name="Slow", kind="url",
                                       location=trickle.url)
        report = sources.refresh_source(source)
        assert trickle.done.wait(10)
    finally:
        trickle.close()
    assert report.error == FETCH_FAILED.format(seconds="2", size="8 MiB")
    assert trickle.sent < trickle.limit  # cut off before the feed had finished trickling
    assert f"meeting source {source.id}: import failed: no answer within 2 s" in caplog.messages


GEVENT_SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import gevent
    from flask_migrate import upgrade
    from companion import create_app, jobs
    from companion.core.extensions import db
    from companion.accounts.models import Clinic
    from companion.meetings import sources as meetings
    from tests.feed_servers import TrickleServer

    trickle = TrickleServer(limit=60)
    app = create_app({"MEETING_FEED_ALLOWED_HOSTS": ["127.0.0.1"], "MEETING_FEED_TIMEOUT": 120})
    with app.app_context():
        upgrade()
        clinic = Clinic(name="Clinic")
        db.session.add(clinic)
        db.session.commit()
        meetings.create_source(None, clinic.id, name="Slow", kind="url", location=trickle.url)
        db.session.remove()

    refresh = gevent.spawn(jobs.refresh_meeting_feeds, app)  # what serve runs at start
    trickle.started.wait(20)
    health = app.test_client().get("/healthz")
    during = not refresh.dead and not trickle.done.is_set()
    trickle.stop.set()
    refresh.join(30)
    print("ok" if health.status_code == 200 and during else
          f"failed: healthz {health.status_code} during the download: {during}")
""")


def test_the_refresh_at_start_never_holds_the_only_connection(tmp_path: Path) -> None:
    # The embedded default: SQLite under gevent, one pooled connection for the process. Before
    # the fix the download held it, and /healthz answered 503 after the pool's 30 s wait.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"COMPANION_INSTANCE_PATH": str(tmp_path), "COMPANION_ASYNC_MODE": "gevent",
            "COMPANION_MEDIA_WORKER_COUNT": "0"}
    run = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=180, cwd=Path(__file__).resolve().parents[2])
    assert run.stdout.strip().splitlines()[-1:] == ["ok"], run.stdout + run.stderr


# Control characters in a feed -------------------------------------------------------------------


def test_rows_with_control_characters_are_skipped_one_by_one(world):
    rows = [
        dict(ROW, slug="fine", notes="Line one\nline two\ttabbed\r\n"),
        dict(ROW, slug="nul-name", name="Lunch\u0000Bunch"),
        dict(ROW, slug="bell-notes", notes="Ring \u0007"),
        dict(ROW, slug="nul-in-types", types=["O", "D\u0000"]),
        dict(ROW, slug="escape-in-place", location="\u001b[31mHall"),
        dict(ROW, slug="c1-control", group="Group \u0085"),
        dict(ROW, slug="nul\u0000slug"),
        dict(ROW, slug="nul-in-entity", entity="Intergroup\u0000"),
    ]
    # A raw NUL byte inside a string, as a careless export writes it (not valid strict JSON).
    raw = json.dumps(rows)[:-1] + ', {"name": "Raw\x00NUL", "slug": "raw-nul", "day": 2, ' \
        '"time": "12:00", "location": "Hall"}]'
    source = sources.create_source(None, world.clinic.id, name="Odd", kind="file",
                                   location="odd.json")
    report = sources.refresh_source(source, None, raw=raw)
    assert report.error is None
    assert (report.added, report.skipped) == (1, 8)
    reason = "contains a control character (such as NUL); row skipped"
    assert [(r["row"], r["slug"], r["message"]) for r in report.skipped_rows] == [
        (2, "nul-name", reason), (3, "bell-notes", reason), (4, "nul-in-types", reason),
        (5, "escape-in-place", reason), (6, "c1-control", reason), (7, None, reason),
        (8, "nul-in-entity", reason), (9, "raw-nul", reason)]
    from companion.core.extensions import db

    [kept] = db.session.scalars(select(Meeting)).all()
    assert kept.notes == "Line one\nline two\ttabbed"
    stored = db.session.get(MeetingSource, source.id)
    assert stored is not None and stored.last_report["skipped"] == 8


# Searching: per person, bounded -----------------------------------------------------------------


def test_searches_are_limited_per_person_not_per_address(app, world, make_auth):
    app.config["MEETING_SEARCH_LIMITS"] = "5 per minute"
    first = make_auth(world.user(Role.CLIENT))
    other_client = make_auth(world.user(Role.CLIENT))
    counselor = make_auth(world.user(Role.COUNSELOR))
    statuses = [first.get("/api/v1/meetings?q=hall").status_code for _ in range(5)]
    refused = first.get("/api/v1/meetings/types")
    assert statuses == [200] * 5 and refused.status_code == 429
    assert refused.get_json()["detail"] == "Too many searches. Wait a minute and try again."
    # Same address (the test client's), other people: still answered.
    assert other_client.get("/api/v1/meetings").status_code == 200
    assert counselor.get("/api/v1/meetings").status_code == 200


def test_the_same_person_is_limited_across_logins(app, world, make_auth):
    app.config["MEETING_SEARCH_LIMITS"] = "4 per minute"
    person = world.user(Role.CLIENT)
    phone, laptop = make_auth(person), make_auth(person)
    assert [phone.get("/api/v1/meetings").status_code for _ in range(2)] == [200, 200]
    assert [laptop.get("/api/v1/meetings").status_code for _ in range(3)] == [200, 200, 429]


def test_a_search_loads_only_the_page_it_shows(world, make_auth):
    rows = [dict(ROW, slug=f"m{i}", name=f"Meeting {i}", day=i % 7) for i in range(120)]
    source = sources.create_source(None, world.clinic.id, name="Big", kind="file",
                                   location="big.json")
    assert sources.refresh_source(source, None, raw=json.dumps(rows)).added == 120
    client = make_auth(world.user(Role.CLIENT))
    loaded = []

    def on_load(target: Any, context: Any) -> None:
        loaded.append(target.id)

    event.listen(Meeting, "load", on_load)
    try:
        response = client.get("/api/v1/meetings?limit=10")
        types = client.get("/api/v1/meetings/types")
    finally:
        event.remove(Meeting, "load", on_load)
    assert response.status_code == 200 and len(response.get_json()["items"]) == 10
    assert response.get_json()["next"] is not None
    assert types.status_code == 200 and types.get_json()["fellowships"] == []
    assert len(loaded) <= 10


def test_a_feed_has_at_most_the_configured_number_of_meetings(app, world):
    app.config["MEETING_FEED_MAX_ROWS"] = 20
    rows = [dict(ROW, slug=f"m{i}", name=f"Meeting {i}") for i in range(25)]
    source = sources.create_source(None, world.clinic.id, name="Huge", kind="file",
                                   location="huge.json")
    report = sources.refresh_source(source, None, raw=json.dumps(rows))
    assert (report.added, report.skipped) == (20, 5)
    assert report.skipped_rows[0] == {
        "row": 21, "slug": "m20",
        "message": "more than 20 meetings in the feed; row skipped"}
