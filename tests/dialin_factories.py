"""Dial-in (and calling clients) turned on for the test world's program, for tests of any domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from companion.accounts.models import User
from companion.clinic.models import Group, Program, Session, SessionKind
from companion.core.extensions import db
from companion.dialin import phones, pins
from companion.dialin.models import CallState, PhoneCall

NUMBER = "+1 555 0100"


def dial_in_on(program: Program, number: str = NUMBER) -> None:
    """The server has a number and the program offers dial-in."""
    current_app.config["SIP_NUMBER"] = number
    program.dial_in_enabled = True
    db.session.commit()


def matrix_dial_in(made: dict[str, Any], others: dict[str, Any]) -> tuple[dict, dict]:
    """The authorisation matrix: dial-in on for the program both clients are enrolled in."""
    for program in db.session.query(Program):
        dial_in_on(program)
    return {}, {}


def calling_on(program: Program, number: str = NUMBER) -> None:
    """Dial-in on, counselors of the program may call clients, and the server has a line."""
    dial_in_on(program, number)
    current_app.config["SIP_LINE"] = True
    program.outbound_calls_allowed = True
    db.session.commit()


def live_session(counselor: User) -> Session:
    """A session of the counselor's group, on now."""
    group = db.session.query(Group).filter_by(counselor_id=counselor.id).one()
    now = datetime.now(UTC)
    session = Session(program_id=group.program_id, kind=SessionKind.GROUP, group_id=group.id,
                      counselor_id=counselor.id, title=group.name,
                      starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1))
    db.session.add(session)
    db.session.commit()
    return session


def phone_of(client: User, number: str = "+15555550123") -> None:
    """The client's phone number on file, as their counselor writes it."""
    enrollment = pins.active_enrollment(client.id)
    assert enrollment is not None
    phones.write_number(client, enrollment, number)


def matrix_dial_out(made: dict[str, Any], others: dict[str, Any]) -> tuple[dict, dict]:
    """Calling on for every program; a live session of each counselor's group, its client's
    number on file, and an earlier call that was not answered (to cancel: it stays as it
    ended)."""
    for program in db.session.query(Program):
        calling_on(program)
    values = []
    for people in (made, others):
        session = live_session(people["counselor"])
        phone_of(people["client"])
        call = PhoneCall(session_id=session.id, user_id=people["client"].id,
                         requested_by_id=people["counselor"].id, state=CallState.NO_ANSWER)
        db.session.add(call)
        db.session.commit()
        values.append({"session": session.id, "call": call.id})
    return values[0], values[1]
