"""Writes a phone or a flaky link may retry carry a client-made id and are stored once (issue
15): admissions, phase changes, discharges, cancelling a session, adding a group member. A retry
gets the first answer; the same id for another request is 409; a malformed id is 422."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from companion.accounts.models import Role
from companion.clinic import retries
from companion.clinic.models import Enrollment, GroupMember, PhaseChange, RetriedWrite
from companion.core import clock
from companion.core.extensions import db
from companion.core.models import AuditEvent
from tests.clinic.test_program_operations import _enrolled_client, _group, _program, _sessions_of


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audited(action: str, record_type: str) -> int:
    return _count(AuditEvent, AuditEvent.action == action, AuditEvent.record_type == record_type)


def _today() -> str:
    return clock.now().date().isoformat()


def _fresh_client(clinic, world, name="Robin"):
    client = world.user(Role.CLIENT, name=name)
    db.session.query(Enrollment).filter_by(client_id=client.id).delete()  # the world's default
    db.session.commit()
    return client


def test_a_retried_admission_gets_the_first_answer_and_is_stored_once(clinic, world):
    program = _program(clinic)
    client = _fresh_client(clinic, world)
    body = {"id": str(uuid.uuid4()), "client_id": client.id, "program_id": program["id"],
            "primary_counselor_id": clinic["counselor"].id, "start_date": _today()}
    first = clinic["as_admin"].post("/api/v1/enrollments", body)
    assert first.status_code == 201, first.get_json()
    again = clinic["as_admin"].post("/api/v1/enrollments", body)
    # Without the id the second would be "already enrolled" (409): it is the same answer.
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert _count(Enrollment, Enrollment.client_id == client.id) == 1
    assert _audited("create", "enrollment") == 1 and _audited("replay", "enrollment") == 1


def test_a_retried_phase_change_answers_as_it_did_then_and_writes_nothing(clinic, world):
    program = _program(clinic)
    _client, enrollment = _enrolled_client(clinic, world, program)
    path = f"/api/v1/enrollments/{enrollment['id']}/phase"
    step_down, continuing = program["phases"][1]["id"], program["phases"][2]["id"]
    body = {"id": str(uuid.uuid4()), "phase_id": step_down, "effective_on": _today()}
    first = clinic["as_admin"].post(path, body)
    assert first.status_code == 200, first.get_json()
    later = clinic["as_admin"].post(path, {"phase_id": continuing, "effective_on": _today()})
    assert later.status_code == 200
    # The first request arrives again (a phone that lost the answer): it was done already.
    again = clinic["as_admin"].post(path, body)
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert again.get_json()["phase"]["id"] == step_down
    assert db.session.get(Enrollment, enrollment["id"]).phase_id == continuing
    assert _count(PhaseChange, PhaseChange.enrollment_id == enrollment["id"]) == 3


def test_a_retried_discharge_and_cancellation_are_stored_once(clinic, world):
    program = _program(clinic)
    _client, enrollment = _enrolled_client(clinic, world, program)
    path = f"/api/v1/enrollments/{enrollment['id']}/discharge"
    body = {"id": str(uuid.uuid4()), "discharged_on": _today(), "reason": "completed",
            "summary": "Completed all phases."}
    first = clinic["as_admin"].post(path, body)
    assert first.status_code == 200
    again = clinic["as_admin"].post(path, body)
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert _audited("discharge", "enrollment") == 1

    group = _group(clinic, program)
    target = _sessions_of(group["id"])[0]
    counselor = clinic["make_auth"](clinic["counselor"])
    cancel = {"id": str(uuid.uuid4()), "reason": "Snowed in"}
    done = counselor.post(f"/api/v1/sessions/{target.id}/cancel", cancel)
    assert done.status_code == 200 and done.get_json()["state"] == "cancelled"
    assert counselor.post(f"/api/v1/sessions/{target.id}/cancel", cancel).get_json() \
        == done.get_json()
    assert _audited("cancel", "session") == 1 and _audited("replay", "session") == 1


def test_a_retried_member_add_does_not_put_them_back_after_a_removal(clinic, world):
    program = _program(clinic)
    client, _ = _enrolled_client(clinic, world, program)
    group = _group(clinic, program)
    path = f"/api/v1/groups/{group['id']}/members"
    body = {"id": str(uuid.uuid4()), "user_id": client.id}
    first = clinic["as_admin"].post(path, body)
    assert first.status_code == 201 and [c["id"] for c in first.get_json()["clients"]] \
        == [client.id]
    removed = clinic["as_admin"].client.delete(f"{path}/{client.id}",
                                               headers=clinic["as_admin"].headers())
    assert removed.status_code == 204
    # The add sent again long after (the link came back): not a new add.
    again = clinic["as_admin"].post(path, body)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert _count(GroupMember, GroupMember.user_id == client.id) == 0


def test_the_same_id_for_another_request_is_refused_and_stores_nothing(clinic, world,
                                                                      make_auth):
    program = _program(clinic)
    robin, sam = _fresh_client(clinic, world, "Robin"), _fresh_client(clinic, world, "Sam")
    key = str(uuid.uuid4())
    base = {"id": key, "program_id": program["id"],
            "primary_counselor_id": clinic["counselor"].id, "start_date": _today()}
    assert clinic["as_admin"].post("/api/v1/enrollments", {**base, "client_id": robin.id}) \
        .status_code == 201
    other_body = clinic["as_admin"].post("/api/v1/enrollments", {**base, "client_id": sam.id})
    assert other_body.status_code == 409
    problem = other_body.get_json()
    assert problem["errors"][0]["field"] == "id" and problem["detail"].endswith(".")
    assert _count(Enrollment, Enrollment.client_id == sam.id) == 0
    # Another person, the same body and id: refused too, and told nothing of the first.
    other_admin = make_auth(world.user(Role.ADMIN, name="Lee"))
    theirs = other_admin.post("/api/v1/enrollments", {**base, "client_id": robin.id})
    assert theirs.status_code == 409 and "Robin" not in str(theirs.get_json())
    # The id of an admission sent to a discharge: another request.
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.client_id == robin.id))
    discharge = clinic["as_admin"].post(f"/api/v1/enrollments/{enrollment.id}/discharge", {
        "id": key, "discharged_on": _today(), "reason": "completed", "summary": "Done."})
    assert discharge.status_code == 409
    assert db.session.get(Enrollment, enrollment.id).end_date is None


def test_a_refused_request_keeps_nothing_so_it_can_be_corrected_under_its_id(clinic, world):
    program = _program(clinic)
    _client, enrollment = _enrolled_client(clinic, world, program)
    path = f"/api/v1/enrollments/{enrollment['id']}/discharge"
    key = str(uuid.uuid4())
    early = clinic["as_admin"].post(path, {"id": key, "discharged_on": "2020-01-01",
                                           "reason": "completed", "summary": "Done."})
    assert early.status_code == 422
    fixed = clinic["as_admin"].post(path, {"id": key, "discharged_on": _today(),
                                           "reason": "completed", "summary": "Done."})
    assert fixed.status_code == 200 and fixed.get_json()["active"] is False


@pytest.mark.parametrize("target", ["enroll", "phase", "discharge", "cancel", "member"])
def test_a_malformed_id_is_refused_naming_it(clinic, world, target):
    program = _program(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    group = _group(clinic, program)
    session = _sessions_of(group["id"])[0]
    requests = {
        "enroll": ("/api/v1/enrollments", {
            "client_id": _fresh_client(clinic, world).id, "program_id": program["id"],
            "primary_counselor_id": clinic["counselor"].id, "start_date": _today()}),
        "phase": (f"/api/v1/enrollments/{enrollment['id']}/phase", {
            "phase_id": program["phases"][1]["id"], "effective_on": _today()}),
        "discharge": (f"/api/v1/enrollments/{enrollment['id']}/discharge", {
            "discharged_on": _today(), "reason": "completed", "summary": "Done."}),
        "cancel": (f"/api/v1/sessions/{session.id}/cancel", {"reason": "Snowed in"}),
        "member": (f"/api/v1/groups/{group['id']}/members", {"user_id": client.id}),
    }
    path, body = requests[target]
    before = _count(AuditEvent)
    refused = clinic["as_admin"].post(path, {**body, "id": "not-a-uuid"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "id"
    assert _count(AuditEvent) == before and _count(RetriedWrite) == 0


def test_a_copy_racing_the_first_gets_its_answer(clinic, world, monkeypatch):
    """Two copies of one admission, the second checked for its id before the first committed:
    its write is refused by the first's (already enrolled), and it answers with the first's."""
    program = _program(clinic)
    client = _fresh_client(clinic, world)
    body = {"id": str(uuid.uuid4()), "client_id": client.id, "program_id": program["id"],
            "primary_counselor_id": clinic["counselor"].id, "start_date": _today()}
    first = clinic["as_admin"].post("/api/v1/enrollments", body)
    looked = retries._first_answer
    calls = []

    def _before_the_first_committed(retry):
        calls.append(retry.key)
        return None if len(calls) == 1 else looked(retry)

    monkeypatch.setattr(retries, "_first_answer", _before_the_first_committed)
    racing = clinic["as_admin"].post("/api/v1/enrollments", body)
    assert (racing.status_code, racing.get_json()) == (201, first.get_json())
    assert len(calls) == 2 and _count(Enrollment, Enrollment.client_id == client.id) == 1


def test_answers_are_forgotten_after_a_week(clinic, world):
    program = _program(clinic)
    client = _fresh_client(clinic, world)
    clinic["as_admin"].post("/api/v1/enrollments", {
        "id": str(uuid.uuid4()), "client_id": client.id, "program_id": program["id"],
        "primary_counselor_id": clinic["counselor"].id, "start_date": _today()})
    assert _count(RetriedWrite) == 1
    assert retries.forget_old(clock.now() + timedelta(days=6)) == 0
    assert retries.forget_old(clock.now() + timedelta(days=8)) == 1
    assert _count(RetriedWrite) == 0
