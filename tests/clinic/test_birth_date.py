"""A client's date of birth (issue 15: claims name it): the clinic's admin or a counselor who
treats the client records it, at admission or later; audited; never in the future; the client
finds it in their own export."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from companion.accounts.models import Clinic, Role, User
from companion.clinic.models import Enrollment
from companion.core import clock
from companion.core.extensions import db
from companion.core.models import AuditEvent
from tests.clinic.test_program_operations import _enrolled_client, _program


def _birth_date(user_id):
    db.session.expire_all()
    return db.session.get(User, user_id).birth_date


def _put(auth, client_id, value):
    return auth.put(f"/api/v1/clients/{client_id}/birth-date", {"birth_date": value})


def test_the_admin_records_a_birth_date_and_it_is_audited_and_shown(clinic, world):
    program = _program(clinic)
    client, enrollment = _enrolled_client(clinic, world, program)
    assert enrollment["birth_date"] is None
    done = _put(clinic["as_admin"], client.id, "1988-07-14")
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {"client_id": client.id, "birth_date": "1988-07-14"}
    assert _birth_date(client.id).isoformat() == "1988-07-14"
    audited = db.session.scalars(select(AuditEvent).where(
        AuditEvent.record_type == "birth_date", AuditEvent.subject_id == client.id)).all()
    assert [(a.action, a.actor_id) for a in audited] == [("update", clinic["admin"].id)]
    listed = clinic["as_admin"].get(f"/api/v1/enrollments?client_id={client.id}").get_json()
    assert listed["items"][0]["birth_date"] == "1988-07-14"
    # Sent again: nothing changes, nothing more is audited; null erases a wrong one.
    assert _put(clinic["as_admin"], client.id, "1988-07-14").status_code == 200
    erased = _put(clinic["as_admin"], client.id, None)
    assert erased.status_code == 200 and erased.get_json()["birth_date"] is None
    assert _birth_date(client.id) is None
    assert len(db.session.scalars(select(AuditEvent).where(
        AuditEvent.record_type == "birth_date")).all()) == 2


@pytest.mark.parametrize("value", ["1988-02-30", "14/07/1988", "1899-12-31", 19880714, "future"])
def test_a_bad_or_future_birth_date_is_refused_naming_the_field(clinic, world, value):
    program = _program(clinic)
    client, _ = _enrolled_client(clinic, world, program)
    if value == "future":
        value = (clock.now() + timedelta(days=2)).date().isoformat()
    refused = _put(clinic["as_admin"], client.id, value)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "birth_date"
    assert refused.get_json()["errors"][0]["message"]
    assert _birth_date(client.id) is None
    missing = clinic["as_admin"].put(f"/api/v1/clients/{client.id}/birth-date", {})
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] \
        == "birth_date"


def test_who_may_record_it(clinic, world, make_auth):
    program = _program(clinic)
    client, _ = _enrolled_client(clinic, world, program)  # Chris carries the case
    stranger = world.user(Role.COUNSELOR, name="Not theirs")
    peer = world.user(Role.PEER_SUPPORTER)
    elsewhere = Clinic(name="Other clinic")
    db.session.add(elsewhere)
    db.session.commit()
    other_admin = world.user(Role.ADMIN, clinic_id=elsewhere.id)
    assert _put(make_auth(clinic["counselor"]), client.id, "1990-01-02").status_code == 200
    assert _birth_date(client.id).isoformat() == "1990-01-02"
    for person, status in ((stranger, 404), (other_admin, 404), (peer, 403), (client, 403)):
        refused = _put(make_auth(person), client.id, "1970-01-01")
        assert refused.status_code == status, (person.role, refused.get_json())
    assert _put(clinic["as_admin"], 999999, "1970-01-01").status_code == 404
    # An admin names only clients: staff have no birth date on claims.
    assert _put(clinic["as_admin"], clinic["counselor"].id, "1970-01-01").status_code == 404
    assert _birth_date(client.id).isoformat() == "1990-01-02"


def test_a_birth_date_given_at_admission_is_recorded_and_a_future_one_admits_nobody(clinic,
                                                                                   world):
    program = _program(clinic)
    client = world.user(Role.CLIENT, name="Robin")
    db.session.query(Enrollment).filter_by(client_id=client.id).delete()
    db.session.commit()
    body = {"client_id": client.id, "program_id": program["id"],
            "primary_counselor_id": clinic["counselor"].id,
            "start_date": clock.now().date().isoformat()}
    future = (clock.now() + timedelta(days=2)).date().isoformat()
    refused = clinic["as_admin"].post("/api/v1/enrollments", {**body, "birth_date": future})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "birth_date"
    assert db.session.scalar(select(Enrollment).where(Enrollment.client_id == client.id)) \
        is None
    made = clinic["as_admin"].post("/api/v1/enrollments", {**body, "birth_date": "2001-03-04"})
    assert made.status_code == 201 and made.get_json()["birth_date"] == "2001-03-04"
    assert _birth_date(client.id).isoformat() == "2001-03-04"


def test_the_client_finds_it_in_their_own_export_and_access_log(clinic, world, make_auth):
    program = _program(clinic)
    client, _ = _enrolled_client(clinic, world, program)
    _put(clinic["as_admin"], client.id, "1988-07-14")
    record = make_auth(client).get("/api/v1/me/export").get_json()
    assert record["profile"]["birth_date"] == "1988-07-14"
    assert any(e["summary"] == "changed your date of birth" for e in record["access_log"])
