"""The counselor's dashboard, alert escalation to on-call staff, and the admin's report."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from companion.accounts.models import Role
from companion.alerts import escalation
from companion.alerts.models import Alert, AlertKind
from companion.core import clock
from companion.core.extensions import socketio
from tests import selfcare_factories as make


def _caseload(world):
    counselor = world.user(Role.COUNSELOR, name="Chris")
    steady = world.user(Role.CLIENT, name="Steady")
    struggling = world.user(Role.CLIENT, name="Struggling")
    quiet = world.user(Role.CLIENT, name="Quiet")
    world.group(counselor, [steady, struggling, quiet])
    # Dates as the client's phone sees them (the program's zone), not UTC: near midnight UTC
    # the two differ by a day.
    today = clock.now().astimezone(ZoneInfo(world.program.timezone))
    for back in range(5):  # Steady checked in each of the last five days
        day = today - timedelta(days=back)
        make.checkin(steady, occurred_at=day, local_date=day.date(), mood=7, craving=2)
    make.checkin(struggling, craving=9, mood=2)
    make.alert(struggling, AlertKind.CRAVING_HIGH)
    return counselor, steady, struggling, quiet


def test_dashboard_sorts_who_needs_attention_first(world, make_auth):
    counselor, steady, struggling, quiet = _caseload(world)
    rows = make_auth(counselor).get("/api/v1/dashboard").get_json()["items"]
    assert [r["client"]["display_name"] for r in rows] == ["Struggling", "Quiet", "Steady"]
    top = rows[0]
    assert top["open_alerts"] == 1 and top["top_urgency"] == "high"
    assert top["newest_alert_kind"] == "craving_high"
    steady_row = rows[2]
    assert steady_row["streak_days"] == 5 and steady_row["missed_days"] <= 2
    assert len(steady_row["craving"]) == 14 and steady_row["craving"][-1] == 2
    assert steady_row["mood"][-5:] == [7] * 5
    assert steady_row["target_hours"] == 9 and steady_row["hours_this_week"] == 0
    assert rows[1]["last_checkin_at"] is None and rows[1]["streak_days"] == 0


def test_dashboard_is_for_counselors_and_only_their_caseload(world, make_auth):
    counselor, *_ = _caseload(world)
    other = world.user(Role.COUNSELOR)
    assert make_auth(other).get("/api/v1/dashboard").get_json()["items"] == []
    for role in (Role.CLIENT, Role.PEER_SUPPORTER, Role.ADMIN):
        assert make_auth(world.user(role)).get("/api/v1/dashboard").status_code == 403


def test_dashboard_shows_latest_measure_with_its_band(world, make_auth):
    import uuid
    from datetime import UTC, datetime

    counselor, steady, *_ = _caseload(world)
    client_auth = make_auth(steady)
    for answers in ([1] * 9, [2] * 9):
        client_auth.post("/api/v1/measures", json={
            "id": str(uuid.uuid4()), "kind": "phq9", "answers": answers,
            "completed_at": datetime.now(UTC).isoformat()})
    row = next(r for r in make_auth(counselor).get("/api/v1/dashboard").get_json()["items"]
               if r["client"]["id"] == steady.id)
    assert row["measures"]["phq9"]["total"] == 18
    assert row["measures"]["phq9"]["band"] == "moderately_severe"
    assert row["measures"]["gad7"] is None


def test_unacknowledged_alert_escalates_once_to_on_call_staff(world, app, make_auth):
    counselor, steady, struggling, quiet = _caseload(world)
    on_call = world.user(Role.COUNSELOR, name="On call")
    admin = world.user(Role.ADMIN)
    response = make_auth(admin).put(f"/api/v1/programs/{world.program.id}/on-call",
                                    json={"user_ids": [on_call.id]})
    assert response.status_code == 200
    watcher = socketio.test_client(app, flask_test_client=make_auth(on_call).client)
    watcher.get_received()
    clock.advance(timedelta(minutes=world.program.alert_escalation_minutes - 1))
    assert escalation.escalate_overdue() == []
    clock.advance(timedelta(minutes=2))
    escalated = escalation.escalate_overdue()
    assert [a.kind for a in escalated] == [AlertKind.CRAVING_HIGH]
    got = [m["args"][0] for m in watcher.get_received() if m["name"] == "alert"]
    assert len(got) == 1 and got[0]["escalated"] is True
    assert got[0]["client"]["display_name"] == "Struggling"
    assert escalation.escalate_overdue() == []  # once only
    assert world.db.session.query(Alert).one().escalated_at is not None


def test_acknowledged_alerts_do_not_escalate(world, make_auth):
    counselor, steady, struggling, quiet = _caseload(world)
    alert = world.db.session.query(Alert).one()
    assert make_auth(counselor).post(f"/api/v1/alerts/{alert.id}/ack",
                                     json={"note": "called"}).status_code == 200
    clock.advance(timedelta(hours=2))
    assert escalation.escalate_overdue() == []


def test_on_call_must_be_staff_of_the_clinic(world, make_auth):
    admin = make_auth(world.user(Role.ADMIN))
    client = world.user(Role.CLIENT)
    response = admin.put(f"/api/v1/programs/{world.program.id}/on-call",
                         json={"user_ids": [client.id]})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "user_ids"


def test_program_report(world, make_auth):
    counselor, steady, struggling, quiet = _caseload(world)
    alert = world.db.session.query(Alert).one()
    clock.advance(timedelta(minutes=12))
    make_auth(counselor).post(f"/api/v1/alerts/{alert.id}/ack", json={})
    from zoneinfo import ZoneInfo

    local = clock.now().astimezone(ZoneInfo(world.program.timezone)).date()
    week = (local - timedelta(days=local.weekday())).isoformat()
    report = make_auth(world.user(Role.ADMIN)).get(
        f"/api/v1/reports/program?program_id={world.program.id}&week={week}").get_json()
    assert report["census"]["active"] == 3
    assert report["alerts"]["raised"] == 1 and report["alerts"]["acknowledged"] == 1
    assert 11.9 <= report["alerts"]["median_minutes_to_acknowledge"] <= 12.5
    assert report["alerts"]["by_kind"] == {"craving_high": 1}


def test_ids_past_a_row_id_are_refused_not_a_500(world, make_auth):
    # Were 500s (found by tests/core/test_api_fuzz.py): SQLite cannot take an integer past 64 bits.
    admin = make_auth(world.user(Role.ADMIN))
    report = admin.get(f"/api/v1/reports/program?program_id={2**63}&week=2026-11-16")
    assert report.status_code == 422
    assert report.get_json()["errors"][0]["field"] == "program_id"
    in_path = admin.put(f"/api/v1/programs/{2**63}/on-call", json={"user_ids": []})
    assert in_path.status_code == 404
    assert in_path.mimetype == "application/problem+json"
    in_body = admin.put(f"/api/v1/programs/{world.program.id}/on-call",
                        json={"user_ids": [2**63]})
    assert in_body.status_code == 422
    assert in_body.get_json()["errors"][0]["field"] == "user_ids.0"
