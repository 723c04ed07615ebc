"""The counselor's alert list: the most urgent first, then the newest."""

from __future__ import annotations

import uuid
from datetime import timedelta

from companion.accounts.models import Role
from companion.alerts.models import Alert, AlertKind
from companion.alerts.services import URGENCY
from companion.core import clock


def _alert(world, client, kind: AlertKind, minutes_ago: int, acknowledged: bool = False) -> Alert:
    at = clock.now() - timedelta(minutes=minutes_ago)
    alert = Alert(client_id=client.id, kind=kind, urgency=URGENCY[kind], source_type="test",
                  source_id=str(uuid.uuid4()), created_at=at,
                  acknowledged_at=at + timedelta(minutes=1) if acknowledged else None)
    world.db.session.add(alert)
    world.db.session.commit()
    return alert


def test_an_urgent_alert_stays_above_newer_high_and_normal_ones(world, make_auth):
    counselor = world.user(Role.COUNSELOR, name="Chris")
    alex, sam = world.user(Role.CLIENT, name="Alex"), world.user(Role.CLIENT, name="Sam")
    world.group(counselor, [alex, sam])
    _alert(world, sam, AlertKind.MISSED_CHECKINS, minutes_ago=90)
    urgent = _alert(world, alex, AlertKind.PHQ9_ITEM9, minutes_ago=60)
    _alert(world, sam, AlertKind.CRAVING_HIGH, minutes_ago=30)
    _alert(world, alex, AlertKind.NEED_TO_TALK, minutes_ago=5)
    _alert(world, sam, AlertKind.MISSED_CHECKINS, minutes_ago=1)
    auth = make_auth(counselor)

    items = auth.get("/api/v1/alerts").get_json()["items"]
    assert [(i["urgency"], i["kind"]) for i in items] == [
        ("urgent", "phq9_item9"),
        ("high", "need_to_talk"), ("high", "craving_high"),          # newest first within
        ("normal", "missed_checkins"), ("normal", "missed_checkins"),
    ]
    assert items[0]["id"] == urgent.id
    # Pages keep the order: the urgent one is on the first page of one.
    first = auth.get("/api/v1/alerts?limit=1").get_json()
    assert [i["id"] for i in first["items"]] == [urgent.id]
    # One client's alerts (their page) are ordered the same way.
    assert [i["kind"] for i in auth.get(f"/api/v1/alerts?client_id={alex.id}").get_json()[
        "items"]] == ["phq9_item9", "need_to_talk"]


def test_with_handled_alerts_the_open_ones_come_first(world, make_auth):
    counselor = world.user(Role.COUNSELOR)
    alex = world.user(Role.CLIENT, name="Alex")
    world.group(counselor, [alex])
    _alert(world, alex, AlertKind.PHQ9_ITEM9, minutes_ago=50, acknowledged=True)
    _alert(world, alex, AlertKind.CRAVING_HIGH, minutes_ago=40)
    _alert(world, alex, AlertKind.MISSED_CHECKINS, minutes_ago=30)
    items = make_auth(counselor).get("/api/v1/alerts?state=all").get_json()["items"]
    assert [(i["kind"], i["acknowledged_at"] is None) for i in items] == [
        ("craving_high", True), ("missed_checkins", True), ("phq9_item9", False)]
