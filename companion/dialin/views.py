"""Dial-in's routes: a client reads the number and their PIN; their counselors and the admin
give them a new PIN."""

from __future__ import annotations

from typing import Any

from companion.clinic import policy
from companion.clinic.guards import NOT_FOUND, audit_access, authorize, me
from companion.core.http import api
from companion.core.problems import ApiProblem, Problem
from companion.core.spec import registry
from companion.dialin import pins
from companion.dialin.schemas import DialInOut


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
