"""Clients' dial-in PINs (docs/dial-in.md, "PINs"): made at enrolment or at the first look,
stored as a keyed hash and sealed, unique on the server, shown again to the client, renewed by
their counselors or the admin, audited."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from companion.accounts.models import Role
from companion.clinic.models import Enrollment
from companion.core import clock
from companion.core.extensions import db
from companion.core.models import AuditEvent
from companion.dialin import pins
from companion.dialin.models import DialInPin
from tests.dialin_factories import NUMBER, dial_in_on


def _row(user_id: int) -> DialInPin | None:
    db.session.expire_all()
    return db.session.scalar(select(DialInPin).where(DialInPin.user_id == user_id))


def _audited(action: str, record_type: str = "dial_in_pin") -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.record_type == record_type)
        .order_by(AuditEvent.id)))


@pytest.fixture
def clinic(world, make_auth):
    admin = world.user(Role.ADMIN)
    counselor = world.user(Role.COUNSELOR, name="Chris")
    return {"admin": admin, "counselor": counselor, "as_admin": make_auth(admin)}


def _enrol(clinic, world, name="Alex"):
    client = world.user(Role.CLIENT, name=name)
    db.session.query(Enrollment).filter_by(client_id=client.id).delete()  # the world's default
    db.session.commit()
    made = clinic["as_admin"].post("/api/v1/enrollments", {
        "client_id": client.id, "program_id": world.program.id,
        "primary_counselor_id": clinic["counselor"].id,
        "start_date": clock.now().date().isoformat()})
    assert made.status_code == 201, made.get_json()
    return client


def test_enrolment_in_a_dial_in_program_makes_the_pin_stored_only_as_hash_and_seal(
        app, world, clinic, make_auth):
    dial_in_on(world.program)
    client = _enrol(clinic, world)
    row = _row(client.id)
    assert row is not None and row.program_id == world.program.id
    [made] = _audited("create")
    assert (made.actor_id, made.subject_id) == (clinic["admin"].id, client.id)
    answer = make_auth(client).get("/api/v1/me/dial-in")
    assert answer.status_code == 200
    body = answer.get_json()
    pin = body["pin"]
    assert body == {"number": NUMBER, "pin": pin}
    assert re.fullmatch(r"[0-9]{8}", pin) and not pin.startswith("2")
    # Neither stored field holds the PIN; the lookup is its HMAC under a derived key.
    assert pin not in row.pin_lookup and pin not in row.pin_sealed
    key = pins.derived_key(pins.LOOKUP_LABEL)
    assert row.pin_lookup == hmac.new(key, pin.encode(), hashlib.sha256).hexdigest()
    assert key != app.config["SECRET_KEY"].encode()
    # The read is audited, for the client's own access log.
    [read] = _audited("read")
    assert (read.actor_id, read.subject_id) == (client.id, client.id)


def test_enrolment_in_a_program_without_dial_in_makes_no_pin(app, world, clinic):
    app.config["SIP_NUMBER"] = NUMBER
    client = _enrol(clinic, world)
    assert _row(client.id) is None


def test_a_client_enrolled_before_dial_in_gets_the_pin_at_the_first_look(world, make_auth):
    client = world.user(Role.CLIENT, name="Sam")  # enrolled before dial-in was on
    dial_in_on(world.program)
    assert _row(client.id) is None
    me = make_auth(client)
    first = me.get("/api/v1/me/dial-in").get_json()["pin"]
    again = me.get("/api/v1/me/dial-in").get_json()["pin"]
    assert first == again and _row(client.id) is not None
    [made] = _audited("create")
    assert (made.actor_id, made.subject_id) == (client.id, client.id)
    assert len(_audited("read")) == 2


@pytest.mark.parametrize("case", ["no_number", "program_off", "discharged", "staff"])
def test_no_dial_in_is_a_404_saying_why(app, world, make_auth, case):
    client = world.user(Role.CLIENT)
    dial_in_on(world.program)
    who = client
    expected = "does not offer joining sessions by phone"
    if case == "no_number":
        app.config["SIP_NUMBER"] = ""
    elif case == "program_off":
        world.program.dial_in_enabled = False
        db.session.commit()
        expected = "Test IOP does not offer joining sessions by phone"
    elif case == "discharged":
        enrollment = db.session.scalar(select(Enrollment).where(Enrollment.client_id == client.id))
        enrollment.end_date = clock.now().date()
        db.session.commit()
        expected = "not enrolled in a program"
    else:
        who = world.user(Role.COUNSELOR)
        expected = "is for clients"
    answer = make_auth(who).get("/api/v1/me/dial-in")
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    assert expected in answer.get_json()["detail"] and answer.get_json()["detail"].endswith(".")
    assert _row(client.id) is None and _row(who.id) is None


def test_a_treating_counselor_gives_a_new_pin_and_the_old_one_stops(world, clinic, make_auth):
    dial_in_on(world.program)
    client = world.user(Role.CLIENT, name="Alex")
    world.group(clinic["counselor"], [client])
    mine = make_auth(client)
    old = mine.get("/api/v1/me/dial-in").get_json()["pin"]
    old_lookup = _row(client.id).pin_lookup
    answer = make_auth(clinic["counselor"]).post(f"/api/v1/users/{client.id}/dial-in-pin")
    assert answer.status_code == 200, answer.get_json()
    new = answer.get_json()["pin"]
    assert answer.get_json() == {"number": NUMBER, "pin": new} and new != old
    assert _row(client.id).pin_lookup == pins.pin_lookup(new) != old_lookup
    assert mine.get("/api/v1/me/dial-in").get_json()["pin"] == new
    [renewed] = _audited("update")
    assert (renewed.actor_id, renewed.subject_id) == (clinic["counselor"].id, client.id)


def test_only_the_clients_own_staff_renew_it(world, clinic, make_auth):
    dial_in_on(world.program)
    client = world.user(Role.CLIENT)
    stranger = world.user(Role.COUNSELOR)  # treats nobody
    peer = world.user(Role.PEER_SUPPORTER)
    path = f"/api/v1/users/{client.id}/dial-in-pin"
    for who in (stranger, peer, client):
        answer = make_auth(who).post(path)
        assert answer.status_code == 404, who.role
        assert answer.get_json()["detail"] == "No such record, or not yours to see."
    assert _row(client.id) is None
    # Someone who is no client, or nobody: the same 404, even to the admin.
    for user_id in (stranger.id, 999_999):
        assert clinic["as_admin"].post(f"/api/v1/users/{user_id}/dial-in-pin").get_json() == \
            make_auth(peer).post(path).get_json()
    assert clinic["as_admin"].post(path).status_code == 200


def test_renewing_where_dial_in_is_off_is_a_409_and_changes_nothing(app, world, clinic):
    client = world.user(Role.CLIENT)
    app.config["SIP_NUMBER"] = NUMBER
    answer = clinic["as_admin"].post(f"/api/v1/users/{client.id}/dial-in-pin")
    assert answer.status_code == 409
    assert answer.get_json()["detail"] == ("Test IOP does not offer joining sessions by phone: "
                                           "its admin turns dial-in on in the program's settings.")
    assert _row(client.id) is None and _audited("update") == []


def test_a_pin_someone_has_is_drawn_again(world, make_auth, monkeypatch):
    dial_in_on(world.program)
    alex, sam = world.user(Role.CLIENT, name="Alex"), world.user(Role.CLIENT, name="Sam")
    drawn = iter(["13572468", "13572468", "98765432"])
    monkeypatch.setattr(pins, "new_pin", lambda: next(drawn))
    assert make_auth(alex).get("/api/v1/me/dial-in").get_json()["pin"] == "13572468"
    assert make_auth(sam).get("/api/v1/me/dial-in").get_json()["pin"] == "98765432"


def test_pins_are_random_eight_digits_never_starting_with_2():
    drawn = {pins.new_pin() for _ in range(2000)}
    assert len(drawn) > 1990  # random, not a sequence
    assert all(re.fullmatch(r"[013-9][0-9]{7}", p) for p in drawn)
    assert {p[0] for p in drawn} == set("013456789")


def test_a_pin_sealed_under_another_secret_is_replaced(app, world, make_auth, caplog):
    dial_in_on(world.program)
    client = world.user(Role.CLIENT)
    me = make_auth(client)
    old = me.get("/api/v1/me/dial-in").get_json()["pin"]
    # As a changed SECRET_KEY leaves it (which would end the login too).
    row = _row(client.id)
    row.pin_sealed = Fernet(Fernet.generate_key()).encrypt(old.encode()).decode()
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger="companion.dialin.pins"):
        new = me.get("/api/v1/me/dial-in").get_json()["pin"]
    assert new != old and "cannot be decrypted" in caplog.text and old not in caplog.text
    assert db.session.scalar(select(DialInPin.id).where(DialInPin.user_id == client.id))


def test_a_client_admitted_by_invitation_has_a_pin_from_the_start(app, world, clinic):
    dial_in_on(world.program)
    invited = clinic["as_admin"].post("/api/v1/invitations", {
        "email": "jo@example.test", "role": "client", "program_id": world.program.id,
        "display_name": "Jo"}).get_json()
    token = invited["url"].split("#token=", 1)[1]
    newcomer = app.test_client()
    assert newcomer.post("/api/v1/invitations/accept", json={
        "token": token, "password": "my own long passphrase", "display_name": "Jo",
    }).status_code == 201
    user_id = newcomer.get("/api/v1/me").get_json()["id"]
    assert _row(user_id) is not None
    [made] = _audited("create")
    assert (made.actor_id, made.subject_id) == (user_id, user_id)
