"""Whether dial-in is on: the server has a number (``COMPANION_SIP_NUMBER``) and the program
turned it on (its admin, ``PATCH /programs/{id}``). Either one off, and no client of it gets a
PIN, is identified on a call, or sees the number."""

from __future__ import annotations

from flask import current_app

from companion.clinic.models import Program


def dial_in_number() -> str | None:
    """The number clients call, as they see it; None when this server offers no dial-in."""
    return str(current_app.config.get("SIP_NUMBER") or "") or None


def offers_dial_in(program: Program | None) -> bool:
    return program is not None and program.dial_in_enabled and dial_in_number() is not None
