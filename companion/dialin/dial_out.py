"""Calling a client out of the room ("call Sam's phone", docs/dial-in.md, "Calling a client"):
a counselor of a live session asks for a call to one of its clients whose app will not connect;
the line places it, and whoever answers keys the client's PIN before anything is heard of the
session. Once it is keyed, the client is let into the room, as admitted by the counselor who
asked for the call (if they are still in the room; else they wait at the door like anyone).

The web side asks (``request_call``), lists (``room_phones``) and cancels (``cancel_call``);
the line claims requested calls (``claim_next``), writes each step back (``set_state``) and
asks whether one was cancelled (``state_of``). Each step reaches the room's counselors as a
``phone_call`` event; a person reads it as a sentence (``describe``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from companion.accounts.models import User
from companion.clinic import policy, treatment
from companion.clinic.models import Program, Session
from companion.core import audit, clock
from companion.core.events import counselors_room, publish
from companion.core.extensions import db
from companion.dialin import (
    event_payloads,  # noqa: F401 - registers phone_call's payload
    phones,
)
from companion.dialin.availability import offers_dial_in
from companion.dialin.models import UNDER_WAY, CallState, PhoneCall
from companion.dialin.pins import DialInError
from companion.rooms import phone
from companion.rooms.models import ParticipantState, RoomParticipant

# A call the line has not taken this long after it was asked for is given up: the line is not
# running or not registered, and the counselor is told so rather than left waiting.
LINE_TAKES_WITHIN = timedelta(seconds=30)
# The room lists this many of the session's latest calls.
SHOWN_CALLS = 10


def line_configured() -> bool:
    """Whether this server runs a dial-in line that can place calls (COMPANION_SIP_REGISTRAR)."""
    return bool(current_app.config.get("SIP_LINE"))


def calling_offered(program: Program | None) -> bool:
    """Counselors of this program may call clients' phones: the program allows it, offers
    dial-in (the PIN confirms who answered), and the server has a line."""
    return (program is not None and program.outbound_calls_allowed and offers_dial_in(program)
            and line_configured())


@dataclass(frozen=True)
class RoomPhones:
    """What a room's counselor sees of phones: whom they can call now, and the calls made."""

    callable: list[User]  # the session's clients with a number, not in the room nor removed
    calls: list[PhoneCall]  # latest first


def _require_caller(actor: User, session: Session) -> None:
    """A counselor of the session (never a peer supporter: a number is the client's record)
    in a program that offers calling; a 404 for everyone else, as for a room they are not in."""
    if actor.role.value != "counselor" or policy.session_role(actor, session) != "staff":
        raise DialInError(404, "session_id", "No such session.")
    program = db.session.get(Program, session.program_id)
    if not calling_offered(program):
        name = program.name if program else "This program"
        raise DialInError(404, "session_id", f"{name} does not let counselors call clients' "
                          "phones: its admin turns outbound calls on in the program's settings.")


def room_phones(actor: User, session: Session) -> RoomPhones:
    _require_caller(actor, session)
    clients = treatment.session_clients(session)
    with_number = phones.has_number(clients)
    inside = phone.present_ids(session)
    removed = set(db.session.scalars(select(RoomParticipant.user_id).where(
        RoomParticipant.session_id == session.id,
        RoomParticipant.state == ParticipantState.REMOVED)))
    callable_ids = [c for c in clients if c in with_number and c not in inside | removed]
    people = [db.session.get(User, c) for c in callable_ids]
    calls = list(db.session.scalars(select(PhoneCall).where(PhoneCall.session_id == session.id)
                                    .order_by(PhoneCall.id.desc()).limit(SHOWN_CALLS)))
    expire_untaken(calls)
    db.session.commit()
    return RoomPhones(sorted((p for p in people if p is not None and p.active),
                             key=lambda p: p.display_name), calls)


def request_call(actor: User, session: Session, user_id: int) -> PhoneCall:
    """Ask the line to call this client of the session. Refused, with the sentence to show:
    the room is not open, the client is no client of it, was removed, is in the room already,
    has no number on file, or a call to them is under way."""
    _require_caller(actor, session)
    client = db.session.get(User, user_id)
    if client is None or user_id not in treatment.session_clients(session):
        raise DialInError(422, "user_id", "Only a client of this session can be called from "
                              "its room.")
    name = client.display_name
    if session.state(clock.now()) not in ("open", "in_progress"):
        raise DialInError(409, "session_id", f"The room is not open, so {name} cannot be "
                          "called into it.")
    standing = db.session.scalar(select(RoomParticipant.state).where(
        RoomParticipant.session_id == session.id, RoomParticipant.user_id == client.id))
    if standing == ParticipantState.REMOVED:
        raise DialInError(409, "user_id", f"{name} was removed from this session.")
    if client.id in phone.present_ids(session):
        raise DialInError(409, "user_id", f"{name} is in the room already.")
    if client.id not in phones.has_number([client.id]):
        raise DialInError(409, "user_id", f"{name} has no phone number on file: add it on "
                          f"{name}'s record page.")
    under_way = db.session.scalars(select(PhoneCall).where(
        PhoneCall.session_id == session.id, PhoneCall.user_id == client.id,
        PhoneCall.state.in_(UNDER_WAY))).all()
    expire_untaken(list(under_way))
    if any(call.state in UNDER_WAY for call in under_way):
        raise DialInError(409, "user_id", f"A call to {name}'s phone is under way already.")
    call = PhoneCall(session_id=session.id, user_id=client.id, requested_by_id=actor.id,
                     state=CallState.REQUESTED, created_at=clock.now(), updated_at=clock.now())
    db.session.add(call)
    db.session.flush()
    audit.record(actor, "create", "phone_call", call.id, subject_id=client.id)
    _publish(call)
    db.session.commit()
    return call


def cancel_call(actor: User, session: Session, call_id: int) -> PhoneCall:
    """Stop a call before the client is in the room (the line hangs up within a second); a
    call that ended already is left as it ended."""
    _require_caller(actor, session)
    call = db.session.get(PhoneCall, call_id)
    if call is None or call.session_id != session.id:
        raise DialInError(404, "call_id", "No such call.")
    if call.state in UNDER_WAY and call.state != CallState.IN_ROOM:
        _move(call, CallState.CANCELLED)
        audit.record(actor, "update", "phone_call", call.id, subject_id=call.user_id)
    db.session.commit()
    return call


def expire_untaken(calls: list[PhoneCall]) -> None:
    """Requested calls the line never took (LINE_TAKES_WITHIN) end as "line_down"."""
    cutoff = clock.now() - LINE_TAKES_WITHIN
    for call in calls:
        if call.state == CallState.REQUESTED and call.created_at < cutoff:
            _move(call, CallState.LINE_DOWN)


# --- the line's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A call the line is to place: the number stays in the line's memory, never logged."""

    call_id: int
    session_id: int
    user_id: int
    requested_by_id: int
    number: str


def claim_next() -> Claimed | None:
    """The oldest call asked for and not taken yet, now the line's ("dialing"); None if there
    is none. One conditional update takes it, so two lines never place one call twice."""
    waiting = list(db.session.scalars(select(PhoneCall).where(
        PhoneCall.state == CallState.REQUESTED).order_by(PhoneCall.id).limit(5)))
    expire_untaken(waiting)
    db.session.commit()
    for call in waiting:
        if call.state != CallState.REQUESTED:
            continue
        taken = db.session.execute(update(PhoneCall).where(
            PhoneCall.id == call.id, PhoneCall.state == CallState.REQUESTED)
            .values(state=CallState.DIALING, updated_at=clock.now()))
        db.session.commit()
        if getattr(taken, "rowcount", 0) != 1:  # another line took it first
            continue
        db.session.refresh(call)
        number = phones.number_of(call.user_id)
        if number is None:  # removed from the record since: nothing to call
            set_state(call.id, CallState.FAILED)
            continue
        _publish(call)
        db.session.commit()
        return Claimed(call.id, call.session_id, call.user_id, call.requested_by_id, number)
    return None


def set_state(call_id: int, state: CallState) -> None:
    """A step of a call the line placed; a cancelled call stays cancelled."""
    call = db.session.get(PhoneCall, call_id)
    if call is not None and call.state != CallState.CANCELLED and call.state != state:
        _move(call, state)
    db.session.commit()


def state_of(call_id: int) -> CallState | None:
    state = db.session.scalar(select(PhoneCall.state).where(PhoneCall.id == call_id))
    db.session.commit()  # (on SQLite an open read would hold the write lock)
    return state


# --- what staff read ------------------------------------------------------------------------


def _move(call: PhoneCall, state: CallState) -> None:
    call.state, call.updated_at = state, clock.now()
    _publish(call)


def _publish(call: PhoneCall) -> None:
    # To the session's counselors, who alone may call (its peer supporters hear nothing of it).
    publish([counselors_room(call.session_id)], "phone_call", call_json(call))


def call_json(call: PhoneCall) -> dict[str, object]:
    client = db.session.get(User, call.user_id)
    name = client.display_name if client else "the client"
    return {"session_id": call.session_id, "id": call.id, "user_id": call.user_id,
            "state": call.state.value, "under_way": call.state in UNDER_WAY,
            "text": describe(call.state, name)}


def describe(state: CallState, name: str) -> str:
    """The call as the counselor reads it in the room."""
    return {
        CallState.REQUESTED: f"Calling {name}'s phone…",
        CallState.DIALING: f"Calling {name}'s phone…",
        CallState.RINGING: f"{name}'s phone is ringing.",
        CallState.ANSWERED: f"{name}'s phone was answered: waiting for {name}'s PIN.",
        CallState.IN_ROOM: f"{name} joined by phone.",
        CallState.ENDED: f"The call to {name}'s phone has ended.",
        CallState.BUSY: f"{name}'s phone was busy. Try again in a few minutes.",
        CallState.NO_ANSWER: f"{name}'s phone was not answered.",
        CallState.WRONG_PIN: f"Whoever answered {name}'s phone did not key {name}'s PIN, so "
                             "the call was ended.",
        CallState.FAILED: f"The call to {name}'s phone did not go through. Check the number "
                          f"on {name}'s record page, or try again later.",
        CallState.LINE_DOWN: "The phone line did not take the call: ask the clinic's IT "
                             "person to check the dial-in line.",
        CallState.CANCELLED: f"The call to {name}'s phone was cancelled.",
    }[state]
