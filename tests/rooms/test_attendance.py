"""Attendance from what the server saw: merged reconnects, days, weeks, attestation, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from companion.accounts.models import Role
from companion.rooms.attendance import merge
from companion.rooms.models import AttendanceInterval, Modality

# Monday 16 November, 18:00 in America/Chicago, is already Tuesday in UTC: reports must use
# the program's zone, so these sessions belong to Monday, Wednesday and Thursday.
T0 = datetime(2026, 11, 17, 0, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_short_reconnect_gaps_are_merged_long_ones_are_breaks():
    stretch = merge([
        (at(0), at(60), Modality.VIDEO),
        (at(64), at(120), Modality.VIDEO),   # 4-minute drop: bridged
        (at(130), at(180), Modality.AUDIO),  # 10-minute break: not counted
    ])
    assert stretch is not None
    assert (stretch.start, stretch.stop) == (at(0), at(180))
    assert stretch.minutes == 60 + 4 + 56 + 50
    assert stretch.modality == Modality.VIDEO


def test_overlapping_connections_count_once():
    # Two tabs open at the same time do not double the minutes.
    stretch = merge([(at(0), at(90), Modality.CHAT), (at(30), at(100), Modality.CHAT)])
    assert stretch is not None and stretch.minutes == 100


def test_modality_is_where_most_of_the_time_was():
    stretch = merge([(at(0), at(20), Modality.VIDEO), (at(20), at(150), Modality.AUDIO)])
    assert stretch is not None and stretch.modality == Modality.AUDIO


def _present(world, session, user, start, end, modality=Modality.VIDEO):
    world.db.session.add(AttendanceInterval(
        session_id=session.id, user_id=user.id, started_at=start, ended_at=end,
        modality=modality, connection_id=f"c-{user.id}-{start.timestamp()}"))
    world.db.session.commit()


def _week_setup(world):
    counselor = world.user(Role.COUNSELOR, name="Chris")
    alex = world.user(Role.CLIENT, name="Alex")
    sam = world.user(Role.CLIENT, name="Sam")
    group = world.group(counselor, [alex, sam])
    sessions = []
    for day in (0, 2, 3):  # Mon, Wed, Thu 18:00-21:00 Chicago
        s = world.session(group)
        s.starts_at = T0 + timedelta(days=day)
        s.ends_at = s.starts_at + timedelta(hours=3)
        sessions.append(s)
    world.db.session.commit()
    for s in sessions:
        _present(world, s, alex, s.starts_at, s.ends_at)
    # Sam: one full day, one short day with a dropped link, one missed.
    _present(world, sessions[0], sam, sessions[0].starts_at, sessions[0].ends_at,
             Modality.AUDIO)
    _present(world, sessions[1], sam, sessions[1].starts_at,
             sessions[1].starts_at + timedelta(minutes=50))
    _present(world, sessions[1], sam, sessions[1].starts_at + timedelta(minutes=53),
             sessions[1].starts_at + timedelta(minutes=100))
    return counselor, alex, sam, sessions


def test_weekly_report_against_the_target_with_short_days_flagged(world, make_auth):
    counselor, alex, sam, sessions = _week_setup(world)
    body = make_auth(counselor).get(
        f"/api/v1/attendance/weekly?program_id={world.program.id}&week=2026-11-16").get_json()
    rows = {r["client"]["display_name"]: r for r in body["items"]}
    assert rows["Alex"]["hours"] == 9.0 and rows["Alex"]["short_week"] is False
    assert [d["date"] for d in rows["Alex"]["days"]] == ["2026-11-16", "2026-11-18",
                                                          "2026-11-19"]
    assert rows["Sam"]["hours"] == round((180 + 100) / 60, 2)
    assert rows["Sam"]["short_week"] is True
    assert [(d["minutes"], d["short_day"], d["modality"]) for d in rows["Sam"]["days"]] == [
        (180, False, "audio_only"), (100, True, "video")]


def test_attestation_and_csv_export(world, make_auth):
    counselor, alex, sam, sessions = _week_setup(world)
    auth = make_auth(counselor)
    before = auth.get(f"/api/v1/sessions/{sessions[0].id}/attendance").get_json()
    assert before["attested_by"] is None
    assert [(r["client"]["display_name"], r["minutes"]) for r in before["items"]] == [
        ("Alex", 180), ("Sam", 180)]
    signed = auth.post(f"/api/v1/sessions/{sessions[0].id}/attest")
    assert signed.status_code == 200
    assert signed.get_json()["attested_by"]["display_name"] == "Chris"

    admin = make_auth(world.user(Role.ADMIN))
    response = admin.get(
        f"/api/v1/attendance/weekly.csv?program_id={world.program.id}&week=2026-11-16")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 5  # Alex 3 days, Sam 2 days
    monday_alex = next(r for r in rows if r["client"] == "Alex" and r["date"] == "2026-11-16")
    assert monday_alex == {"client_id": str(alex.id), "client": "Alex", "date": "2026-11-16",
                           "start": "18:00", "stop": "21:00", "minutes": "180",
                           "modality": "video", "attested_by": "Chris"}
    wednesday_alex = next(r for r in rows if r["client"] == "Alex" and r["date"] == "2026-11-18")
    assert wednesday_alex["attested_by"] == ""


def test_attendance_is_not_for_peers_clients_or_other_counselors(world, make_auth):
    counselor, alex, sam, sessions = _week_setup(world)
    peer = world.user(Role.PEER_SUPPORTER)
    other = world.user(Role.COUNSELOR)
    path = f"/api/v1/sessions/{sessions[0].id}/attendance"
    for user in (peer, alex, other):
        assert make_auth(user).get(path).status_code == 404
        assert make_auth(user).post(f"/api/v1/sessions/{sessions[0].id}/attest") \
            .status_code == 404
    week = f"/api/v1/attendance/weekly?program_id={world.program.id}&week=2026-11-16"
    assert make_auth(peer).get(week).status_code == 403
    assert make_auth(alex).get(week).status_code == 403
    # Another counselor's week holds none of this counselor's clients.
    assert make_auth(other).get(week).get_json()["items"] == []


def test_any_day_of_a_week_gives_that_weeks_monday_to_sunday(world, make_auth):
    # A browser west of UTC once asked for Tuesday 2026-11-17: the report started on a Tuesday
    # and left out the Monday group. Any day now names its week, which starts on Monday.
    counselor, alex, sam, sessions = _week_setup(world)
    admin = make_auth(world.user(Role.ADMIN))
    monday = admin.get(
        f"/api/v1/attendance/weekly?program_id={world.program.id}&week=2026-11-16").get_json()
    for day in ("2026-11-17", "2026-11-19", "2026-11-22"):  # Tuesday, Thursday, Sunday
        body = admin.get(
            f"/api/v1/attendance/weekly?program_id={world.program.id}&week={day}").get_json()
        assert body["week"] == "2026-11-16"
        assert body["items"] == monday["items"]
        rows = {r["client"]["display_name"]: r for r in body["items"]}
        assert rows["Alex"]["hours"] == 9.0
        assert rows["Alex"]["days"][0]["date"] == "2026-11-16"
        report = admin.get(
            f"/api/v1/reports/program?program_id={world.program.id}&week={day}").get_json()
        assert report["week"] == "2026-11-16"
        csv_response = admin.get(
            f"/api/v1/attendance/weekly.csv?program_id={world.program.id}&week={day}")
        assert f"attendance-{world.program.id}-2026-11-16.csv" in csv_response.headers[
            "Content-Disposition"]
        assert "2026-11-16" in csv_response.get_data(as_text=True)
    # The Monday after is the next week: nothing of this one.
    later = admin.get(
        f"/api/v1/attendance/weekly?program_id={world.program.id}&week=2026-11-23").get_json()
    assert later["week"] == "2026-11-23"
    assert all(r["days"] == [] for r in later["items"])


def test_bad_week_query_names_the_field(world, make_auth):
    auth = make_auth(world.user(Role.ADMIN))
    response = auth.get(f"/api/v1/attendance/weekly?program_id={world.program.id}&week=monday")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "week"
    response = auth.get("/api/v1/attendance/weekly?program_id=99999&week=2026-11-16")
    assert response.status_code == 404



def test_a_program_id_past_a_row_id_names_the_field(world, make_auth):
    # Was a 500 (found by tests/core/test_api_fuzz.py): SQLite cannot take an integer past 64 bits.
    auth = make_auth(world.user(Role.ADMIN))
    for path in ("weekly", "weekly.csv"):
        response = auth.get(f"/api/v1/attendance/{path}?program_id={2**63}&week=2026-11-16")
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == "program_id"


def test_hostile_names_in_the_week_csv_are_not_formulas(world, make_auth):
    from tests.core.test_spreadsheet_csv import HOSTILE, starts_a_formula

    counselor, alex, sam, sessions = _week_setup(world)
    alex.display_name = HOSTILE[0]
    sam.display_name = HOSTILE[1]
    counselor.display_name = "@SUM(1+1)*cmd|' /C calc'!A0"
    world.db.session.commit()
    assert make_auth(counselor).post(f"/api/v1/sessions/{sessions[0].id}/attest") \
        .status_code == 200
    response = make_auth(world.user(Role.ADMIN)).get(
        f"/api/v1/attendance/weekly.csv?program_id={world.program.id}&week=2026-11-16")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    cells = [cell for row in rows for cell in row]
    assert [c for c in cells if starts_a_formula(c)] == []
    # Still the names, as text: the quote is the only change.
    assert {r[1] for r in rows[1:]} == {"'" + HOSTILE[0], "'" + HOSTILE[1]}
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in {r[7] for r in rows[1:]}
