"""Phases name groups (issue 15: "moving a client to another phase ... changes their groups,
where the program says so"): enrolment in a phase puts the client in its groups, a phase change
takes them out of the old phase's and into the new one's, an invited client gets the first
phase's groups."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from companion.accounts.models import User
from companion.clinic.models import Enrollment, GroupMember, PhaseGroup
from companion.core import clock, signals
from companion.core.extensions import db
from companion.core.models import AuditEvent
from tests.clinic.test_program_operations import _enrolled_client, _group, _program


def _groups_of(user_id: int) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(GroupMember.group_id).where(
        GroupMember.user_id == user_id)))


def _name_groups(clinic, program, by_phase: dict[str, list[int]]):
    """PATCH the program's phases (same names, same order) with the groups each names."""
    phases = [{"name": p["name"], "weekly_hours_target": p["weekly_hours_target"],
               **({"group_ids": by_phase[p["name"]]} if p["name"] in by_phase else {})}
              for p in program["phases"]]
    return clinic["as_admin"].patch(f"/api/v1/programs/{program['id']}", {"phases": phases})


def _phase(program, name):
    return next(p for p in program["phases"] if p["name"] == name)


def _setup(clinic):
    """Intensive names the process group and the skills group; step-down names the skills
    group and relapse prevention."""
    program = _program(clinic)
    process = _group(clinic, program, name="Process", kind="process")
    skills = _group(clinic, program, name="Skills", kind="early_recovery_skills")
    relapse = _group(clinic, program, name="Relapse prevention")
    named = _name_groups(clinic, program, {"Intensive": [process["id"], skills["id"]],
                                           "Step-down": [relapse["id"], skills["id"]]})
    assert named.status_code == 200, named.get_json()
    return named.get_json(), process, skills, relapse


def test_a_phase_names_groups_and_keeps_them_when_sent_again_without(clinic):
    program, process, skills, relapse = _setup(clinic)
    assert _phase(program, "Intensive")["group_ids"] == sorted([process["id"], skills["id"]])
    assert _phase(program, "Step-down")["group_ids"] == sorted([relapse["id"], skills["id"]])
    assert _phase(program, "Continuing care")["group_ids"] == []
    # The whole list again, without group_ids: each phase kept by name keeps its groups.
    again = clinic["as_admin"].patch(f"/api/v1/programs/{program['id']}", {"phases": [
        {"name": p["name"], "weekly_hours_target": p["weekly_hours_target"]}
        for p in program["phases"]]})
    assert again.get_json()["phases"] == program["phases"]
    # [] names none.
    cleared = _name_groups(clinic, again.get_json(), {"Intensive": []}).get_json()
    assert _phase(cleared, "Intensive")["group_ids"] == []
    assert clinic["as_admin"].get(f"/api/v1/programs/{program['id']}").get_json()["phases"] \
        == cleared["phases"]


def test_a_group_of_another_program_is_refused_naming_the_field(clinic):
    program, process, _skills, _relapse = _setup(clinic)
    other = _program(clinic, name="Day IOP")
    theirs = _group(clinic, other, name="Day group")
    refused = _name_groups(clinic, program, {"Step-down": [theirs["id"]]})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "phases.1.group_ids"
    assert "Evening IOP" in refused.get_json()["errors"][0]["message"]
    missing = _name_groups(clinic, program, {"Intensive": [999999]})
    assert missing.status_code == 422
    assert missing.get_json()["errors"][0]["field"] == "phases.0.group_ids"
    # At creation no group of the new program exists yet: any group named is another's.
    made = clinic["as_admin"].post("/api/v1/programs", {
        "name": "X", "timezone": "America/Chicago", "level_of_care": "iop",
        "phases": [{"name": "One", "group_ids": [process["id"]]}]})
    assert made.status_code == 422 and made.get_json()["errors"][0]["field"] \
        == "phases.0.group_ids"
    # Nothing changed.
    assert clinic["as_admin"].get(f"/api/v1/programs/{program['id']}").get_json()["phases"] \
        == program["phases"]


def test_enrolment_puts_the_client_in_the_phase_groups(clinic, world):
    program, process, skills, relapse = _setup(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    assert _groups_of(client.id) == {process["id"], skills["id"]}
    assert enrollment["phase"]["group_ids"] == sorted([process["id"], skills["id"]])
    audited = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.record_type == "group_member", AuditEvent.subject_id == client.id))
    assert sorted(audited) == ["create", "create"]
    # The admin's group page lists them.
    seen = clinic["as_admin"].get(f"/api/v1/groups/{process['id']}").get_json()
    assert [c["id"] for c in seen["clients"]] == [client.id]


def test_a_phase_change_moves_the_client_from_the_old_phases_groups_to_the_new(clinic, world):
    program, process, skills, relapse = _setup(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    by_hand = _group(clinic, program, name="Family")
    assert clinic["as_admin"].post(f"/api/v1/groups/{by_hand['id']}/members",
                                   {"user_id": client.id}).status_code == 201
    told: list[int] = []

    def _heard(sender, **_):
        told.append(sender)

    with signals.room_access_changed.connected_to(_heard):
        moved = clinic["make_auth"](clinic["counselor"]).post(
            f"/api/v1/enrollments/{enrollment['id']}/phase",
            {"phase_id": _phase(program, "Step-down")["id"],
             "effective_on": clock.now().date().isoformat()})
    assert moved.status_code == 200, moved.get_json()
    # Out of the group only the old phase named; in the new one's; the rest stay.
    assert _groups_of(client.id) == {skills["id"], relapse["id"], by_hand["id"]}
    assert told == [client.id]  # its rooms expel them from the process group's at once
    # Continuing care names nothing: they leave both of step-down's, keep the one by hand.
    later = clinic["as_admin"].post(f"/api/v1/enrollments/{enrollment['id']}/phase", {
        "phase_id": _phase(program, "Continuing care")["id"],
        "effective_on": clock.now().date().isoformat()})
    assert later.status_code == 200, later.get_json()
    assert _groups_of(client.id) == {by_hand["id"]}


def test_a_phase_change_dated_ahead_is_refused_and_changes_nothing(clinic, world):
    program, process, skills, _relapse = _setup(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    now = clock.now()
    tomorrow = max(now.date(), now.astimezone(ZoneInfo("America/Chicago")).date()) \
        + timedelta(days=1)
    refused = clinic["as_admin"].post(f"/api/v1/enrollments/{enrollment['id']}/phase", {
        "phase_id": _phase(program, "Step-down")["id"], "effective_on": tomorrow.isoformat()})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "effective_on"
    db.session.expire_all()
    row = db.session.get(Enrollment, enrollment["id"])
    assert row.phase_id == _phase(program, "Intensive")["id"] and len(row.phase_changes) == 1
    assert _groups_of(client.id) == {process["id"], skills["id"]}


def test_an_archived_group_is_named_by_no_phase_and_cannot_be_named(clinic):
    program, process, skills, _relapse = _setup(clinic)
    assert clinic["as_admin"].patch(f"/api/v1/groups/{process['id']}",
                                    {"archived": True}).status_code == 200
    after = clinic["as_admin"].get(f"/api/v1/programs/{program['id']}").get_json()
    assert _phase(after, "Intensive")["group_ids"] == [skills["id"]]
    assert db.session.scalar(select(PhaseGroup).where(PhaseGroup.group_id == process["id"])) \
        is None
    refused = _name_groups(clinic, after, {"Intensive": [process["id"]]})
    assert refused.status_code == 422 and "archived" in refused.get_json()["detail"]


def test_a_client_accepting_an_invitation_joins_the_first_phases_groups(clinic, world, app):
    program, process, skills, _relapse = _setup(clinic)
    issued = clinic["as_admin"].post("/api/v1/invitations", {
        "email": "jo@example.test", "role": "client", "program_id": program["id"]})
    assert issued.status_code == 201
    token = issued.get_json()["url"].split("#token=", 1)[1]
    accepted = app.test_client().post("/api/v1/invitations/accept", json={
        "token": token, "password": "my own long passphrase", "display_name": "Jo"})
    assert accepted.status_code == 201, accepted.get_json()
    jo = db.session.scalar(select(User).where(User.email == "jo@example.test"))
    assert _groups_of(jo.id) == {process["id"], skills["id"]}
    audited = list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.record_type == "group_member", AuditEvent.subject_id == jo.id)))
    assert len(audited) == 2 and {a.actor_id for a in audited} == {jo.id}
