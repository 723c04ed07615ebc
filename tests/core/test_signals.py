"""Side effects across domains follow the service, not the view: a login ended or a consent
revoked by a service called directly (as a CLI command or a job would) reaches live sockets at
once."""

from __future__ import annotations

from companion.accounts import services as accounts
from companion.accounts.models import LoginSession, Role
from companion.careteam import consents
from companion.core import origin
from companion.core.extensions import db
from companion.rooms.models import ParticipantState, RoomParticipant
from tests.rooms.test_family_sessions import _admitted_guest, _staff_in, fam  # noqa: F401
from tests.rooms.test_rooms import room  # noqa: F401


def test_a_login_ended_by_the_service_disconnects_its_sockets(room):  # noqa: F811
    alex = room["person"](room["clients"][0])
    sam = room["person"](room["clients"][1])
    login = db.session.query(LoginSession).filter_by(
        user_id=room["clients"][0].id, ended_at=None).one()
    accounts.end_login_session(login, "logout")
    assert not alex.sio.is_connected()
    assert sam.sio.is_connected()


def test_a_second_factor_reset_outside_any_view_disconnects_the_staff_member(room):  # noqa: F811
    counselor = room["person"](room["counselor"])
    assert counselor.sio.is_connected()
    with origin.acting_from(origin.CLI):
        issued = accounts.reset_second_factor(None, room["counselor"], "http://127.0.0.1")
    assert issued.url.startswith("http://127.0.0.1/invite#token=")
    assert not counselor.sio.is_connected()


def test_a_consent_revoked_outside_any_view_takes_the_guest_out_of_the_room(fam):  # noqa: F811
    session = fam["family_one"]
    counselor = _staff_in(fam, session)
    guest = _admitted_guest(fam, session, counselor)
    consents.revoke(fam["casey"], fam["consent"])
    assert not guest.sio.is_connected()
    assert counselor.sio.is_connected()
    member = db.session.query(RoomParticipant).filter_by(
        session_id=session.id, user_id=fam["guest"].id).one()
    assert member.state == ParticipantState.REMOVED


def test_a_family_link_ended_outside_any_view_takes_the_guest_out(fam):  # noqa: F811
    session = fam["family_group"]
    counselor = _staff_in(fam, session)
    guest = _admitted_guest(fam, session, counselor)
    consents.end_family_link(fam["casey"], fam["link"])
    assert not guest.sio.is_connected()
    assert fam["guest"].role == Role.FAMILY
