"""Dial-in turned on for the test world's program, for tests of any domain."""

from __future__ import annotations

from typing import Any

from flask import current_app

from companion.clinic.models import Program
from companion.core.extensions import db

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
