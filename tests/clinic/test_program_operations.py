"""A clinic runs its own program (issue 15): programs, groups and their weekly schedule, the
occurrences that follow it, cancellations and closed days, admissions, phases and discharge."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from companion.accounts.models import Role
from companion.clinic import occurrences
from companion.clinic.models import Enrollment, Group, GroupMember, Program, Session
from companion.core import clock
from companion.core.extensions import db

CHICAGO, DENVER = ZoneInfo("America/Chicago"), ZoneInfo("America/Denver")


def _program(clinic, **extra):
    body = {"name": "Evening IOP", "timezone": "America/Chicago", "level_of_care": "iop",
            "phases": [{"name": "Intensive"}, {"name": "Step-down", "weekly_hours_target": 6},
                       {"name": "Continuing care", "weekly_hours_target": 2}], **extra}
    made = clinic["as_admin"].post("/api/v1/programs", body)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def _group(clinic, program, **extra):
    body = {"program_id": program["id"], "name": "Relapse prevention",
            "kind": "relapse_prevention", "counselor_id": clinic["counselor"].id,
            "peer_supporter_ids": [clinic["peer"].id],
            "schedule": [{"weekday": 0, "start": "18:00", "duration_minutes": 180},
                         {"weekday": 2, "start": "18:00", "duration_minutes": 180}],
            "starts_on": clock.now().date().isoformat(), **extra}
    made = clinic["as_admin"].post("/api/v1/groups", body)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def _enrolled_client(clinic, world, program, name="Alex"):
    client = world.user(Role.CLIENT, name=name)
    db.session.query(Enrollment).filter_by(client_id=client.id).delete()  # the world's default
    db.session.commit()
    made = clinic["as_admin"].post("/api/v1/enrollments", {
        "client_id": client.id, "program_id": program["id"],
        "primary_counselor_id": clinic["counselor"].id,
        "start_date": clock.now().date().isoformat()})
    assert made.status_code == 201, made.get_json()
    return client, made.get_json()


def _sessions_of(group_id):
    return list(db.session.scalars(select(Session).where(Session.group_id == group_id)
                                   .order_by(Session.starts_at)))


# Programs -----------------------------------------------------------------------------------

def test_an_admin_creates_a_program_with_phases_and_their_targets(clinic):
    program = _program(clinic)
    assert [(p["name"], p["weekly_hours_target"]) for p in program["phases"]] == [
        ("Intensive", 9), ("Step-down", 6), ("Continuing care", 2)]
    adolescent = _program(clinic, name="Teen IOP", adolescent=True, phases=[{"name": "One"}])
    assert adolescent["phases"][0]["weekly_hours_target"] == 6  # adolescents: 6 hours
    changed = clinic["as_admin"].patch(f"/api/v1/programs/{program['id']}",
                                       {"name": "Evening IOP (Riverside)"})
    assert changed.status_code == 200 and changed.get_json()["name"] == "Evening IOP (Riverside)"
    assert clinic["as_admin"].get(f"/api/v1/programs/{program['id']}").get_json()["phases"] \
        == program["phases"]


@pytest.mark.parametrize("body,field", [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"level_of_care": "residential"}, "level_of_care"),
    ({"phases": []}, "phases"),
    ({"phases": [{"name": "A"}, {"name": "A"}]}, "phases"),
    ({"phases": [{"name": "A", "weekly_hours_target": 0}]}, "phases.0.weekly_hours_target"),
])
def test_a_bad_program_is_refused_naming_the_field_and_nothing_is_made(clinic, body, field):
    before = db.session.scalar(select(func.count(Program.id)))
    full = {"name": "X", "timezone": "America/Chicago", "level_of_care": "iop", **body}
    refused = clinic["as_admin"].post("/api/v1/programs", full)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == field
    assert db.session.scalar(select(func.count(Program.id))) == before


def test_a_phase_clients_are_in_cannot_be_dropped(clinic, world):
    program = _program(clinic)
    _enrolled_client(clinic, world, program)
    refused = clinic["as_admin"].patch(f"/api/v1/programs/{program['id']}",
                                       {"phases": [{"name": "Step-down"}]})
    assert refused.status_code == 409 and "Intensive" in refused.get_json()["detail"]
    assert len(clinic["as_admin"].get(f"/api/v1/programs/{program['id']}")
               .get_json()["phases"]) == 3


# Groups and their occurrences ---------------------------------------------------------------

def test_a_group_gets_eight_weeks_of_sessions_at_its_local_time(clinic):
    program = _program(clinic)
    group = _group(clinic, program)
    sessions = _sessions_of(group["id"])
    now = clock.now()
    assert sessions[-1].starts_at - now >= timedelta(weeks=8)
    assert len(sessions) >= 16  # two a week
    for s in sessions:
        local = s.starts_at.astimezone(CHICAGO)
        assert (local.weekday() in (0, 2), local.time()) == (True, time(18, 0))
        assert s.ends_at - s.starts_at == timedelta(hours=3)
    # Made again (another process, a retried job): nothing twice.
    assert occurrences.generate(db.session.get(Group, group["id"]), now) == 0
    occurrences.generate_all(now)
    assert len(_sessions_of(group["id"])) == len(sessions)
    assert group["next_session"] is not None and group["peer_supporters"][0]["id"] \
        == clinic["peer"].id


@pytest.mark.parametrize("zone,spring,autumn", [
    ("America/Chicago", date(2027, 3, 14), date(2027, 11, 7)),
    ("America/Denver", date(2027, 3, 14), date(2027, 11, 7)),
])
def test_occurrences_keep_their_wall_clock_time_across_daylight_saving(world, zone, spring,
                                                                       autumn):
    tz = ZoneInfo(zone)
    counselor = world.user(Role.COUNSELOR)
    world.program.timezone = zone
    group = world.group(counselor, [])  # Mondays 18:00 (tests/conftest.py)
    group.starts_on = spring - timedelta(days=14)
    db.session.commit()
    for change in (spring, autumn):
        before = datetime.combine(change - timedelta(days=8), time(12), tzinfo=tz)
        occurrences.generate(group, before.astimezone(ZoneInfo("UTC")),
                             horizon=timedelta(days=21))
    db.session.commit()
    made = _sessions_of(group.id)
    offsets = {s.starts_at.astimezone(tz).utcoffset() for s in made}
    assert len(offsets) == 2, "the series crosses both changes"
    assert {(s.starts_at.astimezone(tz).weekday(), s.starts_at.astimezone(tz).time())
            for s in made} == {(0, time(18))}


@pytest.mark.parametrize("slot,field", [
    ({"weekday": 8, "start": "18:00", "duration_minutes": 60}, "schedule.0.weekday"),
    ({"weekday": 1, "start": "25:00", "duration_minutes": 60}, "schedule.0.start"),
    ({"weekday": 1, "start": "18:00", "duration_minutes": 5}, "schedule.0.duration_minutes"),
])
def test_a_bad_slot_is_refused_naming_it_and_no_group_is_made(clinic, slot, field):
    program = _program(clinic)
    refused = clinic["as_admin"].post("/api/v1/groups", {
        "program_id": program["id"], "name": "G", "kind": "process",
        "counselor_id": clinic["counselor"].id, "schedule": [slot], "starts_on": "2027-01-04"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == field
    assert refused.get_json()["errors"][0]["message"]
    assert db.session.scalar(select(func.count(Group.id))) == 0


def test_an_end_before_the_start_or_staff_of_another_clinic_is_refused(clinic, world):
    from companion.accounts.models import Clinic

    program = _program(clinic)
    base = {"program_id": program["id"], "name": "G", "kind": "process",
            "counselor_id": clinic["counselor"].id, "starts_on": "2027-01-10",
            "schedule": [{"weekday": 1, "start": "18:00", "duration_minutes": 60}]}
    ends_first = clinic["as_admin"].post("/api/v1/groups", {**base, "ends_on": "2027-01-01"})
    assert ends_first.status_code == 422 and ends_first.get_json()["errors"][0]["field"] \
        == "ends_on"
    elsewhere = Clinic(name="Other clinic")
    db.session.add(elsewhere)
    db.session.commit()
    stranger = world.user(Role.COUNSELOR, clinic_id=elsewhere.id)
    foreign = clinic["as_admin"].post("/api/v1/groups", {**base, "counselor_id": stranger.id})
    assert foreign.status_code == 422 and foreign.get_json()["errors"][0]["field"] \
        == "counselor_id"
    assert db.session.scalar(select(func.count(Group.id))) == 0
    group = _group(clinic, program)
    outsider = world.user(Role.CLIENT, clinic_id=elsewhere.id)
    refused = clinic["as_admin"].post(f"/api/v1/groups/{group['id']}/members",
                                      {"user_id": outsider.id})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "user_id"


def test_a_schedule_change_moves_future_sessions_and_never_past_ones(clinic, world):
    program = _program(clinic)
    group = _group(clinic, program)
    first = _sessions_of(group["id"])[0]
    # One occurrence already happened, with its attendance (moved into the past).
    first.starts_at = clock.now() - timedelta(days=2)
    first.ends_at = first.starts_at + timedelta(hours=3)
    first.slot_start = first.starts_at
    db.session.commit()
    past_id, past_start = first.id, first.starts_at
    changed = clinic["as_admin"].patch(f"/api/v1/groups/{group['id']}", {
        "schedule": [{"weekday": 3, "start": "17:30", "duration_minutes": 120}]})
    assert changed.status_code == 200, changed.get_json()
    sessions = _sessions_of(group["id"])
    assert sessions[0].id == past_id and sessions[0].starts_at == past_start
    future = [s for s in sessions if s.starts_at > clock.now()]
    assert future and all(
        (s.starts_at.astimezone(CHICAGO).weekday(), s.starts_at.astimezone(CHICAGO).time())
        == (3, time(17, 30)) for s in future)


def test_a_cancelled_session_shows_its_reason_and_nobody_joins_it(clinic, world):
    program = _program(clinic)
    client, _ = _enrolled_client(clinic, world, program)
    group = _group(clinic, program)
    assert clinic["as_admin"].post(f"/api/v1/groups/{group['id']}/members",
                                   {"user_id": client.id}).status_code == 201
    target = _sessions_of(group["id"])[0]
    counselor = clinic["make_auth"](clinic["counselor"])
    assert counselor.post(f"/api/v1/sessions/{target.id}/cancel", {"reason": ""}) \
        .status_code == 422
    done = counselor.post(f"/api/v1/sessions/{target.id}/cancel", {"reason": "Snowed in"})
    assert done.status_code == 200 and done.get_json()["state"] == "cancelled"
    again = counselor.post(f"/api/v1/sessions/{target.id}/cancel", {"reason": "Snowed in"})
    assert again.status_code == 200  # pressed twice: the same cancellation
    seen = clinic["make_auth"](client).get(f"/api/v1/sessions?group_id={group['id']}") \
        .get_json()["items"]
    cancelled = next(s for s in seen if s["id"] == target.id)
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", "Snowed in")
    from companion.clinic import policy

    assert not policy.can(client, policy.Action.JOIN_SESSION, db.session.get(Session, target.id))


def test_a_closed_day_cancels_that_days_sessions_and_later_ones_are_made_cancelled(clinic):
    program = _program(clinic)
    group = _group(clinic, program)
    first, later = _sessions_of(group["id"])[1], _sessions_of(group["id"])[-1]
    for s in (first, later):
        day = s.starts_at.astimezone(CHICAGO).date().isoformat()
        closed = clinic["as_admin"].post(f"/api/v1/programs/{program['id']}/closed-days",
                                         {"day": day, "reason": "Thanksgiving"})
        assert closed.status_code == 201
    db.session.expire_all()
    assert db.session.get(Session, first.id).state(clock.now()) == "cancelled"
    assert "Thanksgiving" in db.session.get(Session, first.id).cancel_reason
    # A day beyond the horizon: the occurrence is made already cancelled.
    far = (clock.now() + timedelta(weeks=10)).astimezone(CHICAGO).date()
    far_monday = far + timedelta(days=(7 - far.weekday()) % 7)
    assert clinic["as_admin"].post(f"/api/v1/programs/{program['id']}/closed-days",
                                   {"day": far_monday.isoformat(), "reason": "Staff day"}) \
        .status_code == 201
    occurrences.generate(db.session.get(Group, group["id"]), clock.now(),
                         horizon=timedelta(weeks=12))
    db.session.commit()
    made = [s for s in _sessions_of(group["id"])
            if s.starts_at.astimezone(CHICAGO).date() == far_monday]
    assert made and made[0].cancelled_at is not None
    past = clinic["as_admin"].post(f"/api/v1/programs/{program['id']}/closed-days",
                                   {"day": "2020-01-01", "reason": "x"})
    assert past.status_code == 422 and past.get_json()["errors"][0]["field"] == "day"


# Admission, phases, discharge ---------------------------------------------------------------

def test_enrolling_puts_the_client_on_the_counselors_caseload_at_once(clinic, world):
    program = _program(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    assert enrollment["primary_counselor"]["id"] == clinic["counselor"].id
    assert enrollment["phase"]["name"] == "Intensive" and enrollment["weekly_hours_target"] == 9
    caseload = clinic["make_auth"](clinic["counselor"]).get("/api/v1/caseload").get_json()
    assert [c["id"] for c in caseload["items"]] == [client.id]
    twice = clinic["as_admin"].post("/api/v1/enrollments", {
        "client_id": client.id, "program_id": program["id"],
        "primary_counselor_id": clinic["counselor"].id, "start_date": "2026-12-01"})
    assert twice.status_code == 409


def test_a_step_down_is_dated_and_changes_the_weekly_target(clinic, world):
    program = _program(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    step_down = next(p for p in program["phases"] if p["name"] == "Step-down")
    counselor = clinic["make_auth"](clinic["counselor"])
    moved = counselor.post(f"/api/v1/enrollments/{enrollment['id']}/phase",
                           {"phase_id": step_down["id"],
                            "effective_on": clock.now().date().isoformat()})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["weekly_hours_target"] == 6
    assert [c["phase_id"] for c in moved.get_json()["phase_history"]] == [
        program["phases"][0]["id"], step_down["id"]]
    early = counselor.post(f"/api/v1/enrollments/{enrollment['id']}/phase",
                           {"phase_id": program["phases"][0]["id"], "effective_on": "2020-01-01"})
    assert early.status_code == 422 and early.get_json()["errors"][0]["field"] == "effective_on"


def test_discharge_takes_the_client_out_of_groups_rooms_and_the_caseload(clinic, world,
                                                                        make_auth):
    program = _program(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    group = _group(clinic, program)
    clinic["as_admin"].post(f"/api/v1/groups/{group['id']}/members", {"user_id": client.id})
    one_to_one = world.session(counselor=clinic["counselor"], client=client,
                               starts_in=timedelta(days=2))
    path = f"/api/v1/enrollments/{enrollment['id']}/discharge"
    before_admission = clinic["as_admin"].post(path, {
        "discharged_on": "2020-01-01", "reason": "completed", "summary": "Done."})
    assert before_admission.status_code == 422
    assert before_admission.get_json()["errors"][0]["field"] == "discharged_on"
    assert clinic["as_admin"].post(path, {"discharged_on": clock.now().date().isoformat(),
                                          "reason": "left_against_advice", "summary": " "}) \
        .status_code == 422
    assert db.session.get(Enrollment, enrollment["id"]).end_date is None  # nothing half-done
    done = clinic["as_admin"].post(path, {"discharged_on": clock.now().date().isoformat(),
                                          "reason": "completed",
                                          "summary": "Completed all phases."})
    assert done.status_code == 200 and done.get_json()["active"] is False
    assert done.get_json()["discharge_reason"] == "completed"
    assert db.session.scalar(select(GroupMember).where(GroupMember.user_id == client.id)) is None
    assert make_auth(clinic["counselor"]).get("/api/v1/caseload").get_json()["items"] == []
    mine = make_auth(client)
    assert all(s["state"] == "cancelled" for s in mine.get("/api/v1/sessions").get_json()["items"]
               if s["id"] == one_to_one.id)
    # Their own record stays theirs.
    assert mine.get("/api/v1/safety-plan").status_code == 200
    assert mine.get("/api/v1/me/export").status_code == 200
    assert mine.get("/api/v1/crisis-resources").status_code == 200


def test_discharge_ends_room_access_at_once_for_a_connected_socket(clinic, world, app,
                                                                   make_auth):
    from tests.rooms.test_rooms import Person

    program = _program(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    live = world.session(counselor=clinic["counselor"], client=client)
    counselor = Person(app, clinic["counselor"], make_auth)
    assert counselor.emit("join_session", session_id=live.id)["ok"]
    alex = Person(app, client, make_auth)
    assert alex.emit("join_session", session_id=live.id)["state"] == "waiting"
    assert counselor.emit("admit", session_id=live.id, user_id=client.id)["ok"]
    alex.received()
    done = clinic["as_admin"].post(f"/api/v1/enrollments/{enrollment['id']}/discharge", {
        "discharged_on": clock.now().date().isoformat(), "reason": "transferred",
        "summary": "Transferred to a program nearer home."})
    assert done.status_code == 200
    assert not alex.sio.is_connected()  # their sockets were closed in the same request
    from companion.rooms.models import RoomEvent

    removal = db.session.scalar(select(RoomEvent).where(RoomEvent.session_id == live.id,
                                                         RoomEvent.kind == "removed"))
    assert removal is not None and removal.payload == {"user_id": client.id,
                                                       "reason": "membership"}
    assert any(e["user_id"] == client.id for e in counselor.received("removed"))
    again = Person(app, client, make_auth)
    assert again.emit("join_session", session_id=live.id)["ok"] is False


def test_a_client_sees_their_groups_sessions_and_others_do_not(clinic, world, make_auth):
    program = _program(clinic)
    member, _ = _enrolled_client(clinic, world, program, "Alex")
    other, _ = _enrolled_client(clinic, world, program, "Sam")
    group = _group(clinic, program)
    clinic["as_admin"].post(f"/api/v1/groups/{group['id']}/members", {"user_id": member.id})
    in_group = make_auth(member).get(f"/api/v1/sessions?group_id={group['id']}").get_json()
    assert len(in_group["items"]) > 0
    assert make_auth(other).get(f"/api/v1/sessions?group_id={group['id']}") \
        .get_json()["items"] == []
    removed = clinic["as_admin"].client.delete(
        f"/api/v1/groups/{group['id']}/members/{member.id}",
        headers=clinic["as_admin"].headers())
    assert removed.status_code == 204
    assert make_auth(member).get(f"/api/v1/sessions?group_id={group['id']}") \
        .get_json()["items"] == []


def test_archiving_a_group_cancels_its_sessions_to_come(clinic):
    program = _program(clinic)
    group = _group(clinic, program)
    done = clinic["as_admin"].patch(f"/api/v1/groups/{group['id']}", {"archived": True})
    assert done.status_code == 200 and done.get_json()["archived"] is True
    assert all(s.cancelled_at is not None for s in _sessions_of(group["id"]))
    assert clinic["as_admin"].patch(f"/api/v1/groups/{group['id']}", {"name": "x"}) \
        .status_code == 409
