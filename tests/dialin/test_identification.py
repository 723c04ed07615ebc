"""Identifying a caller (docs/dial-in.md, "Limits"): a PIN names a client within limits per
calling number and in all; a wrong PIN and a refused try are the same None; the number is
never identity and never stored or logged. Then the sessions that client may join now."""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from companion.accounts.models import Role
from companion.clinic.models import Enrollment
from companion.core import clock
from companion.core.extensions import db
from companion.core.models import AuditEvent
from companion.dialin import pins, services
from companion.dialin.models import DialInFailure
from companion.dialin.services import FAILURES_IN_ALL, FAILURES_PER_NUMBER, identify
from companion.rooms.models import ParticipantState, RoomParticipant
from tests.dialin_factories import dial_in_on

NUMBER = "+1 (555) 867-5309"
WRONG = "99999999"


@pytest.fixture
def caller(world):
    """A client of a dial-in program and their PIN."""
    dial_in_on(world.program)
    client = world.user(Role.CLIENT, name="Alex")
    return client, pins.my_dial_in(client).pin


def _failures() -> int:
    return db.session.scalar(select(func.count()).select_from(DialInFailure)) or 0


def test_the_right_pin_names_the_client_and_is_audited_as_a_phone_sign_in(caller):
    client, pin = caller
    assert identify(pin, NUMBER) == client.id
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).one()
    assert (row.actor_id, row.record_type, row.subject_id, row.channel, row.ip) == (
        client.id, "dial_in", client.id, "phone", None)
    assert _failures() == 0


@pytest.mark.parametrize("keyed", [WRONG, "", "12345", "1234567890123", "12ab5678", "*#"])
def test_a_wrong_pin_names_nobody_and_counts(caller, keyed):
    assert identify(keyed, NUMBER) is None
    assert _failures() == 1


def test_the_calling_number_is_never_stored_or_logged(caller, caplog):
    client, pin = caller
    with caplog.at_level(logging.DEBUG):
        for _ in range(FAILURES_PER_NUMBER + 2):
            identify(WRONG, NUMBER)
        identify(pin, NUMBER)
    for text in ("8675309", "867-5309", NUMBER):
        assert text not in caplog.text
    keys = set(db.session.scalars(select(DialInFailure.caller_key)))
    assert keys == {services.caller_key(NUMBER)} and "8675309" not in keys.pop()
    assert all("8675309" not in str(r.record_id) and r.ip is None
               for r in db.session.scalars(select(AuditEvent)))
    # The same line in another notation is the same caller.
    assert services.caller_key("+15558675309") == services.caller_key(NUMBER)


def test_ten_failures_from_one_number_refuse_even_the_right_pin_there_only(caller, caplog):
    client, pin = caller
    for _ in range(FAILURES_PER_NUMBER):
        assert identify(WRONG, NUMBER) is None
    with caplog.at_level(logging.WARNING, logger="companion.dialin"):
        assert identify(pin, NUMBER) is None  # the same answer as a wrong PIN
    assert "refused by the limit on its calling number" in caplog.text
    assert _failures() == FAILURES_PER_NUMBER  # a refused try is not counted again
    assert identify(pin, "+1 555 0199") == client.id
    # An hour later the number may try again, and the old failures are gone.
    clock.advance(services.WINDOW + timedelta(seconds=1))
    assert identify(WRONG, NUMBER) is None
    assert _failures() == 1
    assert identify(pin, NUMBER) == client.id


def test_withheld_numbers_share_one_count(caller):
    client, pin = caller
    for _ in range(FAILURES_PER_NUMBER):
        identify(WRONG, None)
    assert identify(pin, None) is None and identify(pin, "") is None
    assert identify(pin, NUMBER) == client.id


def test_failures_over_every_line_hold_a_guesser_who_changes_numbers(caller, caplog):
    client, pin = caller
    for line in range(FAILURES_IN_ALL):
        assert identify(WRONG, f"+1 555 01{line:02d}") is None
    with caplog.at_level(logging.WARNING, logger="companion.dialin"):
        assert identify(pin, "+1 555 0999") is None
    assert "refused by the limit on all calls" in caplog.text
    clock.advance(services.WINDOW + timedelta(seconds=1))
    assert identify(pin, "+1 555 0999") == client.id


@pytest.mark.parametrize("case", ["program_off", "no_number", "discharged", "deactivated"])
def test_a_pin_whose_owner_may_not_dial_in_now_is_a_wrong_pin(app, world, caller, case):
    client, pin = caller
    if case == "program_off":
        world.program.dial_in_enabled = False
    elif case == "no_number":
        app.config["SIP_NUMBER"] = ""
    elif case == "discharged":
        db.session.scalar(select(Enrollment).where(Enrollment.client_id == client.id)) \
            .end_date = clock.now().date()
    else:
        client.active = False
    db.session.commit()
    assert identify(pin, NUMBER) is None
    assert _failures() == 1


# --- sessions open now ------------------------------------------------------------------------

CHICAGO = ZoneInfo("America/Chicago")


def test_the_sessions_open_now_soonest_first_in_the_programs_zone(world, caller):
    client, _ = caller
    counselor = world.user(Role.COUNSELOR)
    group = world.group(counselor, [client], name="Relapse prevention")
    other = world.group(counselor, [client], name="Second")
    started = world.session(group, starts_in=timedelta(minutes=-30))
    soon = world.session(other, starts_in=timedelta(minutes=10))
    one_to_one = world.session(counselor=counselor, client=client,
                               starts_in=timedelta(minutes=5))
    world.session(group, starts_in=timedelta(minutes=40))  # its room is not open yet
    world.session(group, starts_in=timedelta(hours=-3), length=timedelta(hours=2))  # over
    cancelled = world.session(other, starts_in=timedelta(minutes=-5))
    cancelled.cancelled_at = clock.now()
    db.session.commit()
    choices = services.open_sessions(client.id, clock.now())
    assert [c.session_id for c in choices] == [started.id, one_to_one.id, soon.id]
    assert choices[0].starts_at == started.starts_at
    assert choices[0].starts_at.tzinfo == CHICAGO
    assert not hasattr(choices[0], "title")  # what the caller hears names no group


def test_no_session_for_one_removed_from_it_or_for_someone_else(world, caller):
    client, _ = caller
    counselor = world.user(Role.COUNSELOR)
    group = world.group(counselor, [client])
    session = world.session(group)
    db.session.add(RoomParticipant(session_id=session.id, user_id=client.id,
                                   state=ParticipantState.REMOVED))
    db.session.commit()
    assert services.open_sessions(client.id, clock.now()) == []
    outsider = world.user(Role.CLIENT)
    assert services.open_sessions(outsider.id, clock.now()) == []
    assert services.open_sessions(counselor.id, clock.now()) == []  # staff join in the app


def test_a_discharged_client_has_no_session(world, caller):
    client, _ = caller
    counselor = world.user(Role.COUNSELOR)
    one_to_one = world.session(counselor=counselor, client=client)
    assert [c.session_id for c in services.open_sessions(client.id, clock.now())] == [
        one_to_one.id]
    db.session.scalar(select(Enrollment).where(Enrollment.client_id == client.id)) \
        .end_date = clock.now().date()
    db.session.commit()
    assert services.open_sessions(client.id, clock.now()) == []


def test_a_call_the_line_placed_takes_only_the_called_clients_pin(caller, world):
    client, pin = caller
    other = world.user(Role.CLIENT, name="Sam")
    others_pin = pins.my_dial_in(other).pin
    # Someone else answered the phone and keyed their own PIN: a wrong PIN, counted.
    assert identify(others_pin, NUMBER, only=client.id) is None
    assert _failures() == 1
    assert identify(pin, NUMBER, only=client.id) == client.id
