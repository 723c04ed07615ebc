"""Daily self-care API (issue 3): check-ins, cravings, coping, safety plan, trends, alerts.

Every write is idempotent by the device's id; invalid input is a 4xx naming the field and writes
nothing; a client sees only their own entries, their treating counselors read them, nobody else.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from companion.accounts.models import Role
from companion.alerts.models import Alert
from companion.clinic import treatment
from companion.clinic.models import Enrollment, GroupMember, GroupRole
from companion.core import clock
from companion.core.models import AuditEvent
from companion.selfcare.models import CheckIn, CopingCompletion, Craving, SafetyPlan
from tests.selfcare_factories import checkin as make_checkin


def ago(**kw: Any) -> str:
    return (clock.now() - timedelta(**kw)).isoformat()


def checkin_body(**kw: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "occurred_at": ago(minutes=5), "mood": 6, "craving": 2,
            "sleep_hours": 7.5, "sleep_quality": "good", "used": "no",
            "medication_taken": True, "note": "Went to group", "need_to_talk": False, **kw}


def craving_body(**kw: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "occurred_at": ago(minutes=5), "intensity": 5,
            "triggers": ["lonely", "places"], "used": False, "coping": ["urge_surfing"],
            "notes": "", **kw}


def count(world: Any, model: Any) -> int:
    return int(world.db.session.scalar(select(func.count()).select_from(model)))


@pytest.fixture
def team(world: Any) -> dict[str, Any]:
    """A client in a counselor's group with a peer supporter; a stranger client and counselor."""
    people = {
        "client": world.user(Role.CLIENT, name="Alex"),
        "counselor": world.user(Role.COUNSELOR, name="Chris"),
        "peer": world.user(Role.PEER_SUPPORTER, name="Pat"),
        "admin": world.user(Role.ADMIN, name="Dana"),
        "stranger": world.user(Role.CLIENT, name="Sam"),
        "other_counselor": world.user(Role.COUNSELOR, name="Jo"),
    }
    world.group(people["counselor"], [people["client"]], [people["peer"]])
    world.group(people["other_counselor"], [people["stranger"]])
    return people


# --- idempotency --------------------------------------------------------------------------


def test_first_write_201_retry_200_with_the_stored_entry(team, make_auth, world):
    client = make_auth(team["client"])
    body = checkin_body(occurred_at="2026-11-20T21:30:00-06:00")
    clock_at = datetime(2026, 11, 22, 12, tzinfo=UTC)
    clock.advance(clock_at - clock.now())
    first = client.post("/api/v1/checkins", json=body)
    assert first.status_code == 201, first.get_json()
    stored = first.get_json()
    # The device's moment with its own offset; the client's own calendar day.
    assert stored["occurred_at"] == "2026-11-20T21:30:00-06:00"
    assert stored["utc_offset_minutes"] == -360
    assert stored["local_date"] == "2026-11-20"
    again = client.post("/api/v1/checkins", json=body)
    assert again.status_code == 200
    assert again.get_json() == stored
    assert count(world, CheckIn) == 1
    row = world.db.session.get(CheckIn, body["id"])
    assert row.occurred_at == datetime(2026, 11, 21, 3, 30, tzinfo=UTC)


def test_different_body_under_the_same_id_is_409_and_changes_nothing(team, make_auth, world):
    client = make_auth(team["client"])
    body = checkin_body(mood=4)
    assert client.post("/api/v1/checkins", json=body).status_code == 201
    response = client.post("/api/v1/checkins", json={**body, "mood": 9})
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "id"
    assert world.db.session.get(CheckIn, body["id"]).mood == 4


def test_another_clients_id_is_refused_without_revealing_it(team, make_auth, world):
    body = craving_body()
    assert make_auth(team["client"]).post("/api/v1/cravings", json=body).status_code == 201
    response = make_auth(team["stranger"]).post("/api/v1/cravings", json=body)
    assert response.status_code == 409
    assert "intensity" not in response.get_data(as_text=True)
    assert count(world, Craving) == 1


def test_a_lost_race_on_the_primary_key_rereads_the_winner(team, make_auth, world, monkeypatch):
    """On PostgreSQL two concurrent first writes both miss the lookup; the loser's insert fails
    on the primary key. Simulated here: the lookup misses although the row exists."""
    client = make_auth(team["client"])
    body = checkin_body()
    assert client.post("/api/v1/checkins", json=body).status_code == 201
    from companion.selfcare import services as selfcare

    real_get = selfcare.db.session.get
    calls = {"n": 0}

    def first_lookup_misses(model: Any, key: Any, **kw: Any) -> Any:
        if model is CheckIn:
            calls["n"] += 1
            if calls["n"] == 1:
                return None
        return real_get(model, key, **kw)

    monkeypatch.setattr(selfcare.db.session, "get", first_lookup_misses, raising=False)
    again = client.post("/api/v1/checkins", json=body)
    assert again.status_code == 200, again.get_json()
    assert calls["n"] >= 2
    monkeypatch.undo()
    assert count(world, CheckIn) == 1
    different = client.post("/api/v1/checkins", json={**body, "mood": 1})
    assert different.status_code == 409


def test_retry_storm_leaves_exactly_fifty(app, team, make_auth, world):
    """The same 50 entries sent 3 times each, partly from concurrent threads."""
    bodies = [craving_body(intensity=i % 8) if i % 2 else checkin_body(craving=i % 8)
              for i in range(50)]
    paths = ["/api/v1/cravings" if i % 2 else "/api/v1/checkins" for i in range(50)]
    auths = [make_auth(team["client"]) for _ in range(3)]
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send(auth: Any, order: list[int]) -> None:
        try:
            with app.app_context():
                for i in order:
                    status = auth.post(paths[i], json=bodies[i]).status_code
                    with lock:
                        statuses.append(status)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    # Round one: the first 20 go out sequentially (a client retrying after timeouts).
    send(auths[0], list(range(20)))
    world.db.session.commit()  # the test's own session must not hold SQLite's write lock
    # Then three threads send everything at the same time, in different orders.
    orders = [list(range(50)), list(reversed(range(50))), list(range(25, 50)) + list(range(25))]
    threads = [threading.Thread(target=send, args=(a, o)) for a, o in zip(auths, orders,
                                                                         strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # A last, sequential retry of the 30 that were not sent first.
    send(auths[1], list(range(20, 50)))
    assert not errors
    assert len(statuses) == 20 + 150 + 30
    assert statuses.count(201) == 50
    assert set(statuses) == {200, 201}
    world.db.session.expire_all()
    assert count(world, CheckIn) + count(world, Craving) == 50
    creates = world.db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "create",
                                                           AuditEvent.record_type.in_(
                                                               ["checkin", "craving"]))
    )
    assert creates == 50


# --- validation: 4xx naming the field, nothing written ------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/cravings", craving_body(intensity=11), "intensity"),
        ("/api/v1/cravings", craving_body(intensity=-1), "intensity"),
        ("/api/v1/cravings", craving_body(triggers=["lonely", "moon_phase"]), "triggers.1"),
        ("/api/v1/cravings", craving_body(coping=["jump"]), "coping.0"),
        ("/api/v1/cravings", craving_body(notes="x" * 2001), "notes"),
        ("/api/v1/checkins", checkin_body(mood=11), "mood"),
        ("/api/v1/checkins", checkin_body(craving="high"), "craving"),
        ("/api/v1/checkins", checkin_body(used="maybe"), "used"),
        ("/api/v1/checkins", checkin_body(sleep_hours=25), "sleep_hours"),
        ("/api/v1/checkins", checkin_body(note="y" * 281), "note"),
        ("/api/v1/checkins", checkin_body(id="not-a-uuid"), "id"),
        ("/api/v1/checkins", checkin_body(occurred_at="2026-01-01T10:00:00"), "occurred_at"),
        ("/api/v1/checkins", checkin_body(surprise=1), "surprise"),
        ("/api/v1/coping/completions",
         {"id": str(uuid.uuid4()), "occurred_at": "2020-01-01T00:00:00Z",
          "exercise": "box_breathing"}, "occurred_at"),
        ("/api/v1/coping/completions",
         {"id": str(uuid.uuid4()), "occurred_at": ago(minutes=5), "exercise": "yoga"},
         "exercise"),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(team, make_auth, world, path, body,
                                                          field):
    client = make_auth(team["client"])
    audit_before = count(world, AuditEvent)
    response = client.post(path, json=body)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert count(world, CheckIn) + count(world, Craving) + count(world, CopingCompletion) == 0
    assert count(world, Alert) == 0
    assert count(world, AuditEvent) == audit_before


def test_a_date_in_the_future_is_refused(team, make_auth, world):
    client = make_auth(team["client"])
    future = (clock.now() + timedelta(hours=2)).isoformat()
    response = client.post("/api/v1/cravings", json=craving_body(occurred_at=future))
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert error["field"] == "occurred_at" and "future" in error["message"]
    # A device clock a minute ahead is not the future.
    slightly = (clock.now() + timedelta(minutes=1)).isoformat()
    assert client.post("/api/v1/cravings", json=craving_body(occurred_at=slightly)).status_code \
        == 201


def test_a_5_mb_note_is_413_problem_json_and_writes_nothing(team, make_auth, world):
    client = make_auth(team["client"])
    response = client.post("/api/v1/checkins", json=checkin_body(note="x" * (5 * 1024 * 1024)))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "body"
    assert count(world, CheckIn) == 0


def test_malformed_json_is_400_and_writes_nothing(team, make_auth, world):
    client = make_auth(team["client"])
    response = client.client.post("/api/v1/cravings", data="{not json",
                                  content_type="application/json", headers=client.headers())
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "body"
    assert count(world, Craving) == 0


def test_thought_record_answers_are_checked_against_its_form(team, make_auth, world):
    client = make_auth(team["client"])
    responses = {"situation": "Payday, walking past the bar", "emotion": "anxious",
                 "emotion_rating": 80, "automatic_thought": "I deserve one",
                 "evidence_for": "Hard week", "evidence_against": "60 days sober, I want more",
                 "balanced_thought": "I can reward myself another way",
                 "emotion_rerated": 40}
    base = {"occurred_at": ago(minutes=1), "exercise": "thought_record",
            "craving_before": 7, "craving_after": 4}
    bad = client.post("/api/v1/coping/completions",
                      json={**base, "id": str(uuid.uuid4()),
                            "responses": {**responses, "emotion_rating": 101}})
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["field"] == "responses.emotion_rating"
    unknown = client.post("/api/v1/coping/completions",
                          json={**base, "id": str(uuid.uuid4()), "responses": {"mood": "x"}})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"] == "responses.mood"
    assert count(world, CopingCompletion) == 0
    good = client.post("/api/v1/coping/completions",
                       json={**base, "id": str(uuid.uuid4()), "responses": responses})
    assert good.status_code == 201
    assert good.get_json()["responses"] == responses


# --- lists, filters, pagination -----------------------------------------------------------


def test_lists_filter_by_from_and_to_and_paginate(team, make_auth, world):
    clock.advance(datetime(2026, 11, 22, 18, tzinfo=UTC) - clock.now())
    client = make_auth(team["client"])
    for day in range(1, 6):  # Nov 17..21, noon in Chicago (UTC-6)
        at = datetime(2026, 11, 16 + day, 12, tzinfo=timezone(timedelta(hours=-6)))
        assert client.post("/api/v1/checkins",
                           json=checkin_body(occurred_at=at.isoformat())).status_code == 201
    everything = client.get("/api/v1/checkins").get_json()["items"]
    assert [i["local_date"] for i in everything] == [
        "2026-11-21", "2026-11-20", "2026-11-19", "2026-11-18", "2026-11-17"]
    # Dates are whole days in the client's zone; `to` includes its day.
    window = client.get("/api/v1/checkins?from=2026-11-18&to=2026-11-20").get_json()["items"]
    assert [i["local_date"] for i in window] == ["2026-11-20", "2026-11-19", "2026-11-18"]
    moments = client.get(
        "/api/v1/checkins?from=2026-11-19T00:00:00-06:00&to=2026-11-20T12:00:00-06:00"
    ).get_json()["items"]
    assert [i["local_date"] for i in moments] == ["2026-11-19"]
    first = client.get("/api/v1/checkins?limit=2").get_json()
    assert len(first["items"]) == 2 and first["next"]
    second = client.get(first["next"]).get_json()
    third = client.get(second["next"]).get_json()
    assert third["next"] is None
    ids = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert ids == [i["id"] for i in everything]
    bad = client.get("/api/v1/checkins?from=yesterday")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"].startswith("from")


def test_get_one_entry(team, make_auth):
    client = make_auth(team["client"])
    body = craving_body(where="Home", with_whom="Alone", duration_minutes=20,
                        trigger_other="An old text message")
    created = client.post("/api/v1/cravings", json=body).get_json()
    fetched = client.get(f"/api/v1/cravings/{body['id']}")
    assert fetched.status_code == 200 and fetched.get_json() == created
    assert created["triggers"] == ["lonely", "places"]
    assert client.get("/api/v1/cravings/not-a-uuid").status_code == 404
    assert client.get(f"/api/v1/cravings/{uuid.uuid4()}").status_code == 404


# --- authorisation and audit --------------------------------------------------------------


def test_only_the_client_and_their_treating_counselors_read(team, make_auth, world):
    client_id = team["client"].id
    body = checkin_body(note="private words")
    make_auth(team["client"]).post("/api/v1/checkins", json=body)
    path = f"/api/v1/checkins?client_id={client_id}"
    assert make_auth(team["counselor"]).get(path).get_json()["items"][0]["note"] == "private words"
    assert make_auth(team["counselor"]).get(f"/api/v1/checkins/{body['id']}").status_code == 200
    for who, status in [("other_counselor", 403), ("peer", 403), ("admin", 403),
                        ("stranger", 403)]:
        response = make_auth(team[who]).get(path)
        assert response.status_code == status, who
        assert "private words" not in response.get_data(as_text=True)
    for who in ("other_counselor", "peer", "admin", "stranger"):
        assert make_auth(team[who]).get(f"/api/v1/checkins/{body['id']}").status_code == 404
    # A counselor must say whose records; a stranger's own list is their own (empty).
    assert make_auth(team["counselor"]).get("/api/v1/checkins").status_code == 422
    assert make_auth(team["stranger"]).get("/api/v1/checkins").get_json()["items"] == []
    # Staff never write a client's entries.
    assert make_auth(team["counselor"]).post("/api/v1/checkins",
                                              json=checkin_body()).status_code == 403


def test_co_lead_1to1_and_primary_counselors_also_treat(team, make_auth, world):
    from companion.clinic.models import Enrollment, Group

    co_lead, one_to_one, primary = (world.user(Role.COUNSELOR) for _ in range(3))
    group = world.db.session.scalar(select(Group).where(Group.counselor_id ==
                                                        team["counselor"].id))
    world.db.session.add(GroupMember(group_id=group.id, user_id=co_lead.id,
                                     role=GroupRole.COUNSELOR))
    world.session(counselor=one_to_one, client=team["client"])
    enrollment = world.db.session.scalar(select(Enrollment).where(
        Enrollment.client_id == team["client"].id))
    enrollment.primary_counselor_id = primary.id
    world.db.session.commit()
    for staff in (co_lead, one_to_one, primary):
        response = make_auth(staff).get(f"/api/v1/cravings?client_id={team['client'].id}")
        assert response.status_code == 200

    assert treatment.treating_counselor_ids(team["client"].id) == {
        team["counselor"].id, co_lead.id, one_to_one.id, primary.id}


def test_every_read_and_write_is_audited_with_the_client_as_subject(team, make_auth, world):
    body = checkin_body()
    make_auth(team["client"]).post("/api/v1/checkins", json=body)
    make_auth(team["counselor"]).get(f"/api/v1/checkins/{body['id']}")
    make_auth(team["counselor"]).get(f"/api/v1/trends?client_id={team['client'].id}")
    rows = world.db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == team["client"].id,
                                 AuditEvent.action != "login")
        .order_by(AuditEvent.id)).all()
    assert [(r.actor_id, r.action, r.record_type) for r in rows] == [
        (team["client"].id, "create", "checkin"),
        (team["counselor"].id, "read", "checkin"),
        (team["counselor"].id, "read", "trends"),
    ]
    assert rows[1].record_id == body["id"]


def test_no_notes_or_scores_in_the_logs(team, make_auth, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_auth(team["client"])
    client.post("/api/v1/checkins", json=checkin_body(note="secret-note-words", craving=9,
                                                      need_to_talk=True))
    client.post("/api/v1/cravings", json=craving_body(notes="secret-craving-words",
                                                      intensity=12))
    assert "secret-" not in caplog.text


# --- alerts -------------------------------------------------------------------------------


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], str, dict[str, Any]]]:
    sent: list[tuple[list[str], str, dict[str, Any]]] = []
    from companion.core import events

    monkeypatch.setattr(events, "publish",
                        lambda rooms, event, payload: sent.append((sorted(rooms), event, payload)))
    return sent


def test_risk_signals_raise_alerts_for_every_treating_counselor(team, make_auth, world,
                                                                published):
    co_lead = world.user(Role.COUNSELOR, name="Co")
    from companion.clinic.models import Group

    group = world.db.session.scalar(select(Group).where(Group.counselor_id ==
                                                        team["counselor"].id))
    world.db.session.add(GroupMember(group_id=group.id, user_id=co_lead.id,
                                     role=GroupRole.COUNSELOR))
    world.db.session.commit()
    client = make_auth(team["client"])
    body = checkin_body(craving=8, need_to_talk=True, used="yes")
    assert client.post("/api/v1/checkins", json=body).status_code == 201
    kinds = {a.kind.value for a in world.db.session.scalars(select(Alert))}
    assert kinds == {"craving_high", "need_to_talk", "use_reported"}
    assert len(published) == 3
    rooms, event, payload = published[0]
    assert event == "alert"
    assert rooms == sorted([f"user:{team['counselor'].id}", f"user:{co_lead.id}"])
    assert f"user:{team['peer'].id}" not in rooms
    assert set(payload) == {"id", "client", "kind", "urgency", "created_at"}
    assert payload["client"] == {"id": team["client"].id, "display_name": "Alex"}
    # A retry never alerts twice.
    assert client.post("/api/v1/checkins", json=body).status_code == 200
    assert count(world, Alert) == 3 and len(published) == 3


@pytest.mark.parametrize(
    ("path", "body", "kinds"),
    [
        ("/api/v1/checkins", checkin_body(craving=7), set()),
        ("/api/v1/checkins", checkin_body(used="prefer_not_to_say"), set()),
        ("/api/v1/cravings", craving_body(intensity=7), set()),
        ("/api/v1/cravings", craving_body(intensity=8), {"craving_high"}),
        ("/api/v1/cravings", craving_body(intensity=3, used=True), {"use_reported"}),
        ("/api/v1/coping/completions",
         {"id": str(uuid.uuid4()), "occurred_at": ago(minutes=1), "exercise": "urge_surfing",
          "craving_before": 9, "craving_after": 8}, {"craving_high"}),
    ],
)
def test_alert_thresholds(team, make_auth, world, published, path, body, kinds):
    assert make_auth(team["client"]).post(path, json=body).status_code == 201
    assert {a.kind.value for a in world.db.session.scalars(select(Alert))} == kinds


def test_the_programs_threshold_is_used(team, make_auth, world, published):
    world.program.craving_alert_threshold = 6
    world.db.session.commit()
    make_auth(team["client"]).post("/api/v1/cravings", json=craving_body(intensity=6))
    assert [a.kind.value for a in world.db.session.scalars(select(Alert))] == ["craving_high"]


def test_counselor_lists_and_acknowledges_alerts(team, make_auth, world, published):
    client = make_auth(team["client"])
    client.post("/api/v1/cravings", json=craving_body(intensity=9))
    client.post("/api/v1/checkins", json=checkin_body(need_to_talk=True))
    make_auth(team["stranger"]).post("/api/v1/checkins", json=checkin_body(need_to_talk=True))
    counselor = make_auth(team["counselor"])
    items = counselor.get("/api/v1/alerts").get_json()["items"]
    assert [i["kind"] for i in items] == ["need_to_talk", "craving_high"]  # newest first
    assert all(i["client"]["display_name"] == "Alex" for i in items)
    assert items[0]["urgency"] == "high" and items[0]["acknowledged_at"] is None
    # Another counselor neither sees nor acknowledges them.
    other = make_auth(team["other_counselor"])
    assert [i["client"]["display_name"] for i in other.get("/api/v1/alerts").get_json()["items"]
            ] == ["Sam"]
    assert other.post(f"/api/v1/alerts/{items[0]['id']}/ack", json={}).status_code == 404
    for who in ("client", "peer", "admin"):
        assert make_auth(team[who]).get("/api/v1/alerts").status_code == 403
    acked = counselor.post(f"/api/v1/alerts/{items[0]['id']}/ack",
                           json={"note": "Called her, she is safe"})
    assert acked.status_code == 200
    assert acked.get_json()["ack_note"] == "Called her, she is safe"
    assert acked.get_json()["acknowledged_at"]
    # The first acknowledgement stands.
    again = counselor.post(f"/api/v1/alerts/{items[0]['id']}/ack", json={"note": "later"})
    assert again.get_json()["ack_note"] == "Called her, she is safe"
    assert [i["kind"] for i in counselor.get("/api/v1/alerts").get_json()["items"]] == [
        "craving_high"]
    everything = counselor.get("/api/v1/alerts?state=all").get_json()["items"]
    assert [i["acknowledged_at"] is None for i in everything] == [True, False]  # open first
    assert counselor.get("/api/v1/alerts?state=closed").status_code == 422
    assert counselor.post("/api/v1/alerts/999999/ack", json={}).status_code == 404


# --- safety plan --------------------------------------------------------------------------


PLAN = {
    "warning_signs": ["Isolating", "Skipping meals"],
    "coping_strategies": ["Box breathing", "Walk the dog"],
    "distractions": [{"name": "Coffee shop on Main St"},
                     {"name": "Aunt Rosa", "phone": "555-0101"}],
    "help_contacts": [{"name": "Sponsor Mike", "phone": "555-0102"}],
    "professionals": [{"name": "Counselor Chris", "phone": "555-0103"}],
    "environment": ["Keep no alcohol at home"],
    "reason_for_living": "My daughter",
}


def test_safety_plan_written_by_client_and_counselor(team, make_auth, world):
    client = make_auth(team["client"])
    empty = client.get("/api/v1/safety-plan").get_json()
    assert empty["version"] is None and empty["warning_signs"] == []
    assert [s["key"] for s in empty["steps"]["steps"]] == [
        "warning_signs", "coping_strategies", "distractions", "help_contacts", "professionals",
        "environment"]
    saved = client.put("/api/v1/safety-plan", json=PLAN)
    assert saved.status_code == 200 and saved.get_json()["version"] == 1
    path = f"/api/v1/safety-plan?client_id={team['client'].id}"
    counselor = make_auth(team["counselor"])
    assert counselor.get(path).get_json()["help_contacts"] == PLAN["help_contacts"]
    edited = counselor.put(path, json={**PLAN, "warning_signs": ["Isolating"], "version": 1})
    assert edited.status_code == 200
    assert edited.get_json()["version"] == 2 and edited.get_json()["updated_by"] == "Chris"
    stale = client.put("/api/v1/safety-plan", json={**PLAN, "version": 1})
    assert stale.status_code == 409 and stale.get_json()["errors"][0]["field"] == "version"
    for who in ("peer", "admin", "stranger", "other_counselor"):
        assert make_auth(team[who]).put(path, json=PLAN).status_code == 403, who
        assert make_auth(team[who]).get(path).status_code == 403, who
    bad = client.put("/api/v1/safety-plan", json={**PLAN, "help_contacts": [{"phone": "1"}]})
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["field"] == "help_contacts.0.name"
    assert count(world, SafetyPlan) == 1
    assert world.db.session.scalar(select(SafetyPlan)).warning_signs == ["Isolating"]


def test_safety_plan_names_the_clients_counselor(team, make_auth, world):
    """The crisis panel shows "your counselor" from the plan's answer (kept offline with it):
    the primary counselor, else the lead counselor of the client's group."""
    client = make_auth(team["client"])
    assert client.get("/api/v1/safety-plan").get_json()["counselor"] == "Chris"
    enrollment = world.db.session.scalar(
        select(Enrollment).where(Enrollment.client_id == team["client"].id))
    enrollment.primary_counselor_id = team["other_counselor"].id
    world.db.session.commit()
    assert client.get("/api/v1/safety-plan").get_json()["counselor"] == "Jo"
    assert client.put("/api/v1/safety-plan", json=PLAN).get_json()["counselor"] == "Jo"
    loner = make_auth(world.user(Role.CLIENT, name="Lee"))
    assert loner.get("/api/v1/safety-plan").get_json()["counselor"] is None


# --- today and trends ---------------------------------------------------------------------


def test_today_is_the_clients_day(team, make_auth, world):
    # 03:00 UTC on Nov 22 is still Nov 21 in Chicago.
    clock.advance(datetime(2026, 11, 22, 3, tzinfo=UTC) - clock.now())
    client = make_auth(team["client"])
    today = client.get("/api/v1/selfcare/today").get_json()
    assert today == {"date": "2026-11-21", "timezone": "America/Chicago", "checked_in": False,
                     "checkin": None}
    client.post("/api/v1/checkins", json=checkin_body(occurred_at="2026-11-20T20:00:00-06:00"))
    assert client.get("/api/v1/selfcare/today").get_json()["checked_in"] is False
    client.post("/api/v1/checkins", json=checkin_body(occurred_at="2026-11-21T20:00:00-06:00",
                                                      mood=3))
    done = client.get("/api/v1/selfcare/today").get_json()
    assert done["checked_in"] is True and done["checkin"]["mood"] == 3


def test_trends_by_day_week_trigger_and_skill(team, make_auth, world):
    clock.advance(datetime(2026, 11, 22, 18, tzinfo=UTC) - clock.now())  # a Sunday
    client = make_auth(team["client"])
    cst = timezone(timedelta(hours=-6))

    def at(day: int, hour: int) -> str:
        return datetime(2026, 11, day, hour, tzinfo=cst).isoformat()

    # Two check-ins on the 20th: the latest counts for the day.
    client.post("/api/v1/checkins", json=checkin_body(occurred_at=at(20, 8), mood=2, craving=7))
    client.post("/api/v1/checkins", json=checkin_body(occurred_at=at(20, 21), mood=6, craving=3))
    client.post("/api/v1/checkins", json=checkin_body(occurred_at=at(16, 9), mood=4, craving=5))
    client.post("/api/v1/cravings", json=craving_body(occurred_at=at(20, 15), intensity=9,
                                                      triggers=["boredom", "money"]))
    client.post("/api/v1/cravings", json=craving_body(occurred_at=at(19, 15), intensity=4,
                                                      triggers=["boredom"]))
    for before, after, code in [(8, 3, "urge_surfing"), (6, 3, "urge_surfing"),
                                (7, 6, "box_breathing"), (5, None, "box_breathing")]:
        client.post("/api/v1/coping/completions", json={
            "id": str(uuid.uuid4()), "occurred_at": at(21, 10), "exercise": code,
            "craving_before": before, "craving_after": after})
    data = client.get("/api/v1/trends?days=14").get_json()
    assert data["start"] == "2026-11-09" and data["end"] == "2026-11-22"
    days = {d["date"]: d for d in data["days"]}
    assert len(days) == 14
    assert days["2026-11-20"] == {"date": "2026-11-20", "mood": 6, "craving": 3,
                                  "craving_peak": 9, "cravings_logged": 1, "used": False}
    assert days["2026-11-18"]["mood"] is None
    weeks = {w["week_start"]: w for w in data["weeks"]}
    assert weeks["2026-11-16"]["mood_avg"] == 5.0  # (4 + 6) / 2
    assert weeks["2026-11-16"]["craving_peak"] == 9
    assert weeks["2026-11-16"]["checkin_days"] == 2
    assert data["triggers"][:2] == [{"code": "boredom", "label": "Boredom", "count": 2},
                                    {"code": "money", "label": "Money", "count": 1}]
    assert [(c["code"], c["avg_drop"], c["uses"], c["rated"]) for c in data["coping"]] == [
        ("urge_surfing", 4.0, 2, 2), ("box_breathing", 1.0, 2, 1)]
    counselor = make_auth(team["counselor"])
    assert counselor.get(f"/api/v1/trends?client_id={team['client'].id}&days=14").get_json() \
        == data
    assert client.get("/api/v1/trends?days=3").status_code == 422


# --- content ------------------------------------------------------------------------------


def test_trigger_codes_cover_the_matrix_halt_and_the_others(client, make_auth, team):
    data = make_auth(team["client"]).get("/api/v1/triggers").get_json()
    codes = {t["code"] for t in data["items"]}
    assert codes == {
        "people", "places", "things", "time_of_day", "emotions", "other_substance",
        "hungry", "angry", "lonely", "tired",
        "physical_pain", "conflict", "celebration", "boredom", "money", "sleep",
    }


def test_coping_library_content(make_auth, team):
    data = make_auth(team["client"]).get("/api/v1/coping/exercises").get_json()
    by_code = {e["code"]: e for e in data["items"]}
    assert set(by_code) == {
        "urge_surfing", "play_the_tape", "delay_distract", "box_breathing", "grounding_54321",
        "tipp", "stop", "thought_record", "halt_check", "call_support", "go_to_meeting"}
    assert data["rating"]["min"] == 0 and data["rating"]["max"] == 10
    box = by_code["box_breathing"]["pace"]
    assert [(p["label"], p["seconds"]) for p in box["phases"]] == [
        ("Breathe in", 4), ("Hold", 4), ("Breathe out", 4), ("Hold", 4)]
    surf = by_code["urge_surfing"]["pace"]
    assert (surf["minutes"], surf["max_minutes"], surf["checkin_every_minutes"]) == (15, 20, 5)
    grounding = by_code["grounding_54321"]["steps"]
    assert [s.split()[1] for s in grounding] == ["5", "4", "3", "2", "1"]
    assert ["see", "touch", "hear", "smell", "taste"] == [
        next(w for w in ("see", "touch", "hear", "smell", "taste") if w in s) for s in grounding]
    record = by_code["thought_record"]["form"]
    assert [f["key"] for f in record] == [
        "situation", "emotion", "emotion_rating", "automatic_thought", "evidence_for",
        "evidence_against", "balanced_thought", "emotion_rerated"]
    assert [f["type"] for f in record if "rat" in f["key"]] == ["rating_100", "rating_100"]
    tipp = by_code["tipp"]
    assert "heart" in tipp["caution"] and tipp["steps"][0].startswith("Temperature")
    assert [s.split(":")[0] for s in tipp["steps"]] == [
        "Temperature", "Intense exercise", "Paced breathing", "Paired muscle relaxation"]
    stop = [s.split(":")[0] for s in by_code["stop"]["steps"]]
    assert stop == ["Stop", "Take a step back", "Observe", "Proceed mindfully"]
    assert len(by_code["play_the_tape"]["form"]) == 3
    assert [f["key"] for f in by_code["halt_check"]["form"]] == [
        "hungry", "angry", "lonely", "tired"]


def test_checkin_seen_by_factory_helper_in_trends(team, make_auth):
    make_checkin(team["client"], mood=8, craving=1)
    data = make_auth(team["client"]).get("/api/v1/trends?days=7").get_json()
    assert any(d["mood"] == 8 for d in data["days"])


# --- input past a row id's range (found by tests/core/test_api_fuzz.py) -------------------------

BEYOND_64_BITS = 2**63


def test_alerts_of_a_client_one_does_not_treat_are_refused(team, make_auth):
    # Was a 500: the audit row named a client id with no account (a foreign key violation).
    counselor = make_auth(team["counselor"])
    for client_id in (999999, team["stranger"].id):
        response = counselor.get(f"/api/v1/alerts?client_id={client_id}")
        assert response.status_code == 403, client_id
        assert response.mimetype == "application/problem+json"
    assert counselor.get(f"/api/v1/alerts?client_id={team['client'].id}").status_code == 200


@pytest.mark.parametrize(
    ("who", "path", "field"),
    [
        ("client", f"/api/v1/checkins?cursor={BEYOND_64_BITS}", "cursor"),
        ("counselor", f"/api/v1/cravings?client_id={BEYOND_64_BITS}", "client_id"),
        ("counselor", f"/api/v1/trends?client_id={BEYOND_64_BITS}", "client_id"),
        ("counselor", f"/api/v1/alerts?client_id={BEYOND_64_BITS}", "client_id"),
    ],
)
def test_numbers_past_a_row_id_name_the_field(team, make_auth, who, path, field):
    # Were 500s: the database driver cannot take an integer past 64 bits.
    response = make_auth(team[who]).get(path)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
