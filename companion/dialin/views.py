"""Dial-in's routes: a client reads the number and their PIN; their counselors and the admin
give them a new PIN and keep their phone number; a session's counselor calls that number into
the room."""

from __future__ import annotations

from typing import Any

from companion.clinic import policy
from companion.clinic.guards import NOT_FOUND, audit_access, authorize, me
from companion.clinic.models import Enrollment, Session
from companion.core.extensions import db
from companion.core.http import api
from companion.core.problems import ApiProblem, Problem
from companion.core.spec import registry
from companion.dialin import dial_out, phones, pins
from companion.dialin.schemas import (
    CallBody,
    DialInOut,
    PhoneCallOut,
    PhoneNumberBody,
    PhoneNumberOut,
    RoomPhonesOut,
)


def _json(details: pins.DialIn) -> dict[str, Any]:
    return {"number": details.number, "pin": details.pin}


@registry.route(api, "/me/dial-in", "GET", tag="dial-in",
                summary="How I join a session by phone: the number to call and my PIN",
                responses={200: DialInOut, 404: Problem})
def my_dial_in() -> dict[str, Any]:
    details = pins.my_dial_in(me())
    audit_access("read", "dial_in_pin", details.pin_id, subject_id=me().id)
    return _json(details)


@registry.route(api, "/users/<int:user_id>/dial-in-pin", "POST", tag="dial-in",
                summary="Give a client a new dial-in PIN (the admin, or a counselor who treats "
                        "them): the old one stops working at once",
                responses={200: DialInOut, 404: Problem, 409: Problem})
def reset_dial_in_pin(user_id: int) -> dict[str, Any]:
    enrollment = pins.client_enrollment(me().clinic_id, user_id)
    if enrollment is None:  # the same answer as for a client who is not the caller's
        raise ApiProblem(404, "Not found", NOT_FOUND)
    authorize(policy.Action.RESET_DIAL_IN_PIN, enrollment, hide=True)
    return _json(pins.reset_pin(me(), enrollment))


# --- a client's own number, and calling it from a session's room ------------------------------


def _client(user_id: int, action: policy.Action) -> Enrollment:
    enrollment = pins.client_enrollment(me().clinic_id, user_id)
    if enrollment is None:  # the same answer as for a client who is not the caller's
        raise ApiProblem(404, "Not found", NOT_FOUND)
    authorize(action, enrollment, hide=True)
    return enrollment


def _number_json(client_id: int, number: str | None) -> dict[str, Any]:
    return PhoneNumberOut(client_id=client_id, number=number,
                          shown=phones.shown(number) if number else None).model_dump()


@registry.route(api, "/users/<int:user_id>/phone-number", "GET", tag="dial-in",
                summary="A client's own phone number, for calling them into a session (the "
                        "admin, or a counselor who treats them)",
                responses={200: PhoneNumberOut, 404: Problem})
def read_phone_number(user_id: int) -> dict[str, Any]:
    enrollment = _client(user_id, policy.Action.CLIENT_PHONE)
    return _number_json(user_id, phones.read_number(me(), enrollment))


@registry.route(api, "/users/<int:user_id>/phone-number", "PUT", tag="dial-in",
                body=PhoneNumberBody,
                summary="Write or erase a client's phone number (the admin, or a counselor who "
                        "treats them)",
                responses={200: PhoneNumberOut, 404: Problem, 422: Problem})
def write_phone_number(user_id: int, body: PhoneNumberBody) -> dict[str, Any]:
    enrollment = _client(user_id, policy.Action.CLIENT_PHONE)
    return _number_json(user_id, phones.write_number(me(), enrollment, body.number))


def _session(session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None:
        raise ApiProblem(404, "Not found", NOT_FOUND)
    return session


@registry.route(api, "/sessions/<int:session_id>/phone-calls", "GET", tag="dial-in",
                summary="Whom a session's counselor can call into its room now, and the calls "
                        "made (its counselors, when the program allows outbound calls)",
                responses={200: RoomPhonesOut, 404: Problem})
def room_phones(session_id: int) -> dict[str, Any]:
    found = dial_out.room_phones(me(), _session(session_id))
    return {"callable": [{"user_id": p.id, "display_name": p.display_name}
                         for p in found.callable],
            "calls": [dial_out.call_json(c) for c in found.calls]}


@registry.route(api, "/sessions/<int:session_id>/phone-calls", "POST", tag="dial-in",
                body=CallBody,
                summary="Call a client's phone into the session (the line dials; whoever "
                        "answers keys the client's PIN)",
                responses={201: PhoneCallOut, 404: Problem, 409: Problem, 422: Problem})
def call_client(session_id: int, body: CallBody) -> tuple[dict[str, Any], int]:
    call = dial_out.request_call(me(), _session(session_id), body.user_id)
    return dial_out.call_json(call), 201


@registry.route(api, "/sessions/<int:session_id>/phone-calls/<int:call_id>/cancel", "POST",
                tag="dial-in",
                summary="Cancel a call before the client is in the room (the line hangs up)",
                responses={200: PhoneCallOut, 404: Problem})
def cancel_call(session_id: int, call_id: int) -> dict[str, Any]:
    return dial_out.call_json(dial_out.cancel_call(me(), _session(session_id), call_id))
