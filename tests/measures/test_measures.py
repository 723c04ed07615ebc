"""PHQ-9, GAD-7 and BAM scored as published, at every band edge; stored once; item 9 alerts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from companion.accounts.models import Role
from companion.alerts.models import Alert
from companion.measures import services as measures
from companion.measures.models import Measure


def answers_totalling(total: int, items: int, top: int = 3) -> list[int]:
    """Hand-built answers with the given total, filling items from the first."""
    out = []
    for _ in range(items):
        take = min(top, total)
        out.append(take)
        total -= take
    assert total == 0
    return out


@pytest.mark.parametrize(("total", "band"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
    (14, "moderate"), (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"),
    (27, "severe"),
])
def test_phq9_bands_at_every_edge(total, band):
    # Item 9 stays 0 here (answers fill from item 1); 27 needs all nine at 3.
    items = answers_totalling(total, 9)
    score = measures.score_phq9(items)
    assert (score.total, score.band) == (total, band)
    assert score.crisis == (items[8] > 0)


def test_phq9_item9_above_zero_is_a_crisis_whatever_the_total():
    score = measures.score_phq9([0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert (score.total, score.band, score.crisis) == (1, "minimal", True)


@pytest.mark.parametrize(("total", "band"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
    (14, "moderate"), (15, "severe"), (21, "severe"),
])
def test_gad7_bands_at_every_edge(total, band):
    score = measures.score_gad7(answers_totalling(total, 7))
    assert (score.total, score.band) == (total, band)


def test_bam_subscales_by_hand():
    # Item:   1  2  3  4  5  6   7    8  9 10 11 12 13 14 15 16 17
    answers = [3, 2, 4, 1, 0, 2, None, 3, 1, 4, 2, 3, 0, 4, 1, 3, 2]
    score = measures.score_bam(answers)
    assert score.subscales == {
        "use": 1 + 0 + 2,                     # items 4, 5, 6
        "risk": 3 + 2 + 4 + 3 + 2 + 1,        # items 1, 2, 3, 8, 11, 15
        "protective": 1 + 4 + 3 + 0 + 4 + 3,  # items 9, 10, 12, 13, 14, 16
    }
    assert score.total is None and score.band is None  # no total: subscales only


def test_bam_extremes_and_item7_detail():
    worst = [4, 4, 4, 4, 4, 4, {"A": 4, "E": 3}, 4, 0, 0, 4, 0, 0, 0, 4, 0, 0]
    assert measures.score_bam(worst).subscales == {"use": 12, "risk": 24, "protective": 0}
    best = [0, 0, 0, 0, 0, 0, None, 0, 4, 4, 0, 4, 4, 4, 0, 4, 4]
    assert measures.score_bam(best).subscales == {"use": 0, "risk": 0, "protective": 24}


@pytest.mark.parametrize(("kind", "answers", "field"), [
    ("phq9", [0] * 8, "answers"),
    ("phq9", [0] * 8 + [4], "answers.8"),
    ("gad7", [0, 0, 0, True, 0, 0, 0], "answers.3"),
    ("bam", [0] * 16, "answers"),
    ("bam", [0] * 6 + [None] + [0] * 6 + [2] + [0] * 3, "answers.13"),  # item 14: 0 or 4
    ("bam", [0] * 17, "answers.6"),  # item 7 is its A-G detail or null, not a code
    ("bam", [0] * 6 + [{"Z": 1}] + [0] * 10, "answers.6"),
    ("bam", [0] * 6 + [{"A": 7}] + [0] * 10, "answers.6.A"),
])
def test_bad_answers_name_the_field(kind, answers, field):
    with pytest.raises(measures.MeasureError) as error:
        measures.SCORERS[kind](answers)
    assert error.value.field == field


def _body(kind="phq9", answers=None, **extra):
    return {"id": str(uuid.uuid4()), "kind": kind,
            "answers": answers if answers is not None else [1] * 9,
            "completed_at": datetime.now(UTC).isoformat(), **extra}


def test_client_submits_phq9_with_item9_and_counselor_gets_an_urgent_alert(world, make_auth):
    counselor = world.user(Role.COUNSELOR)
    client = world.user(Role.CLIENT, name="Alex")
    world.group(counselor, [client])
    auth = make_auth(client)
    body = _body(answers=[2, 2, 1, 1, 1, 1, 1, 1, 1])
    response = auth.post("/api/v1/measures", json=body)
    assert response.status_code == 201
    out = response.get_json()
    assert (out["total"], out["band"], out["crisis"]) == (11, "moderate", True)
    alert = world.db.session.query(Alert).one()
    assert (alert.kind.value, alert.urgency.value, alert.client_id) == ("phq9_item9", "urgent",
                                                                        client.id)
    listed = make_auth(counselor).get(f"/api/v1/measures?client_id={client.id}").get_json()
    assert [m["id"] for m in listed["items"]] == [body["id"]]


def test_retry_returns_the_stored_measure_and_a_different_body_conflicts(world, make_auth):
    auth = make_auth(world.user(Role.CLIENT))
    body = _body("gad7", [1] * 7)
    assert auth.post("/api/v1/measures", json=body).status_code == 201
    again = auth.post("/api/v1/measures", json=body)
    assert again.status_code == 200 and again.get_json()["total"] == 7
    changed = auth.post("/api/v1/measures", json={**body, "answers": [0] * 7})
    assert changed.status_code == 409
    assert world.db.session.query(Measure).count() == 1


def test_invalid_measure_is_refused_and_nothing_is_written(world, make_auth):
    auth = make_auth(world.user(Role.CLIENT))
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    cases = [
        (_body(answers=[5] * 9), "answers.0"),
        (_body(kind="audit"), "kind"),
        (_body(completed_at=future), "completed_at"),
        (_body(completed_at="2026-11-01T10:00:00"), "completed_at"),  # no offset
        ({**_body(), "id": "not-a-uuid"}, "id"),
    ]
    for body, field in cases:
        response = auth.post("/api/v1/measures", json=body)
        assert response.status_code == 422, body
        assert response.get_json()["errors"][0]["field"] == field
    assert world.db.session.query(Measure).count() == 0


def test_only_clients_submit_and_only_their_counselors_read(world, make_auth):
    counselor = world.user(Role.COUNSELOR)
    client = world.user(Role.CLIENT)
    world.group(counselor, [client])
    for role in (Role.COUNSELOR, Role.PEER_SUPPORTER, Role.ADMIN):
        assert make_auth(world.user(role)).post("/api/v1/measures", json=_body()) \
            .status_code == 403
    make_auth(client).post("/api/v1/measures", json=_body())
    for outsider in (world.user(Role.COUNSELOR), world.user(Role.PEER_SUPPORTER),
                     world.user(Role.CLIENT)):
        assert make_auth(outsider).get(f"/api/v1/measures?client_id={client.id}") \
            .status_code == 403


def test_counselor_schedules_a_measure_and_it_comes_due(world, make_auth):
    counselor = world.user(Role.COUNSELOR)
    client = world.user(Role.CLIENT)
    world.group(counselor, [client])
    now = datetime.now(UTC)
    response = make_auth(counselor).put("/api/v1/measure-schedules", json={
        "client_id": client.id, "kind": "phq9", "every_weeks": 2, "first_due": now.isoformat()})
    assert response.status_code == 200 and response.get_json()["due_now"] is True
    auth = make_auth(client)
    assert [s["kind"] for s in auth.get("/api/v1/measure-schedules").get_json()["items"]
            if s["due_now"]] == ["phq9"]
    auth.post("/api/v1/measures", json=_body(answers=[0] * 9))
    after = auth.get("/api/v1/measure-schedules").get_json()["items"][0]
    assert after["due_now"] is False
    assert datetime.fromisoformat(after["next_due"]) > now + timedelta(days=13)
    # A counselor who does not treat the client cannot schedule for them.
    stranger = make_auth(world.user(Role.COUNSELOR))
    assert stranger.put("/api/v1/measure-schedules", json={
        "client_id": client.id, "kind": "gad7", "every_weeks": 2,
        "first_due": now.isoformat()}).status_code == 404


def test_a_client_id_past_a_row_id_names_the_field(world, make_auth):
    # Were 500s (found by tests/core/test_api_fuzz.py): SQLite cannot take an integer past 64 bits.
    counselor = make_auth(world.user(Role.COUNSELOR))
    response = counselor.get(f"/api/v1/measures?client_id={2**63}")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "client_id"
    response = counselor.put("/api/v1/measure-schedules", json={
        "client_id": 2**63, "kind": "gad7", "every_weeks": 2,
        "first_due": datetime.now(UTC).isoformat()})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "client_id"
