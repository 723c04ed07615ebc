"""A client's own phone number, for a counselor's call out of the room (docs/dial-in.md,
"Calling a client"): written on the client's record page by the admin or a counselor who treats
them, kept sealed, read back by the same people, every read and write audited.

A number is stored in E.164 ("+15555550123"), what trunks dial. A US number may be written as
people write it ("(555) 555-0123", "555-555-0123", "1 555 555 0123"); any other country's needs
its "+" and country code.
"""

from __future__ import annotations

import base64
import logging
import re

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from companion.accounts.models import User
from companion.clinic.models import Enrollment
from companion.core import audit, clock
from companion.core.extensions import db
from companion.dialin.models import ClientPhone
from companion.dialin.pins import DialInError, derived_key

log = logging.getLogger(__name__)

SEAL_LABEL = b"companion client phone v1"
# What may separate digits as people write a number; anything else is not a number.
_SEPARATORS = re.compile(r"[\s().\-]")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_WRITE_IT = ("Write the phone number with its area code, such as (555) 555-0123, or with + "
             "and the country code for a number outside the US.")


def normalized(written: str) -> str:
    """The number as trunks dial it (E.164), or DialInError with the sentence to show."""
    digits = _SEPARATORS.sub("", written or "")
    if not digits:
        raise DialInError(422, "number", "Write the client's phone number. " + _WRITE_IT)
    if digits.isdigit() and len(digits) == 10 and digits[0] not in "01":
        digits = "+1" + digits  # a US number without its country code
    elif digits.isdigit() and len(digits) == 11 and digits[0] == "1":
        digits = "+" + digits
    if not _E164.match(digits) or (digits.startswith("+1") and len(digits) != 12):
        raise DialInError(422, "number", f"“{written.strip()[:40]}” is not a phone number we "
                          "can call. " + _WRITE_IT)
    return digits


def shown(number: str) -> str:
    """E.164 as a person reads it: "+1 (555) 555-0123" for the US, else as stored."""
    if number.startswith("+1") and len(number) == 12:
        return f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derived_key(SEAL_LABEL)))


def number_of(client_id: int) -> str | None:
    """The client's number (E.164), or None: none on file, or sealed under another secret."""
    row = db.session.scalar(select(ClientPhone).where(ClientPhone.user_id == client_id))
    if row is None:
        return None
    try:
        return _fernet().decrypt(row.number_sealed.encode()).decode()
    except InvalidToken:
        log.warning("a client's phone number cannot be decrypted (was SECRET_KEY changed?)")
        return None


def has_number(client_ids: list[int]) -> set[int]:
    """Which of these clients have a number on file (nothing is unsealed)."""
    if not client_ids:
        return set()
    return set(db.session.scalars(select(ClientPhone.user_id).where(
        ClientPhone.user_id.in_(client_ids))))


def read_number(actor: User, enrollment: Enrollment) -> str | None:
    """The number on the client's record page (E.164), audited as a read of it."""
    number = number_of(enrollment.client_id)
    audit.record(actor, "read", "client_phone", enrollment.client_id,
                 subject_id=enrollment.client_id)
    db.session.commit()
    return number


def write_number(actor: User, enrollment: Enrollment, written: str | None) -> str | None:
    """Set the client's number (or clear it with None or ""); returns it as stored. Bad input
    changes nothing."""
    number = normalized(written) if written is not None and written.strip() else None
    row = db.session.scalar(select(ClientPhone).where(
        ClientPhone.user_id == enrollment.client_id))
    if number is None:
        if row is not None:
            db.session.delete(row)
            audit.record(actor, "delete", "client_phone", enrollment.client_id,
                         subject_id=enrollment.client_id)
        db.session.commit()
        return None
    if row is None:
        row = ClientPhone(user_id=enrollment.client_id)
        db.session.add(row)
    row.number_sealed = _fernet().encrypt(number.encode()).decode()
    row.updated_by_id, row.updated_at = actor.id, clock.now()
    audit.record(actor, "update", "client_phone", enrollment.client_id,
                 subject_id=enrollment.client_id)
    db.session.commit()
    return number
