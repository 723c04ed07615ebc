"""Clients' dial-in PINs: made when a client is enrolled in a program that offers dial-in (or at
their first look), shown to them again, renewed by their counselors or the admin.

Keys: every key here is derived by HKDF from ``SECRET_KEY`` with a label of its own (as the
second factor's are, companion/accounts/mfa.py), so a copy of the database gives neither the
PINs nor the callers' numbers. Changing ``SECRET_KEY`` makes every PIN unusable: each client
gets a new one the next time they look (their home screen shows it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import Role, User
from companion.clinic.models import Enrollment, Program
from companion.core import audit
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.dialin.availability import dial_in_number, offers_dial_in
from companion.dialin.models import DialInPin

log = logging.getLogger(__name__)

# Eight digits, not the six the issue allows at least: a PIN is the caller's only secret, and
# one number serves every client of the server. With a thousand clients and the global limit of
# companion/dialin/services.py (60 failed tries an hour), a guesser finds someone about once in
# 70 days rather than twice a day with six.
PIN_DIGITS = 8
# The first key of a call, if 2, chooses Spanish (the welcome says so): no PIN starts with it,
# so a caller who keys their PIN at once is never taken for one who asked for Spanish.
FIRST_DIGITS = "013456789"
# A fresh PIN that is someone else's already is drawn again; this many draws all taken means
# something is wrong (nearly every PIN in use), not bad luck.
DRAWS = 20

LOOKUP_LABEL = b"companion dial-in pin lookup v1"
SEAL_LABEL = b"companion dial-in pin seal v1"
CALLER_LABEL = b"companion dial-in caller v1"


class DialInError(ServiceError):
    """Refused by dial-in (companion.core.errors.ServiceError)."""


@dataclass(frozen=True)
class DialIn:
    """What a client needs to join by phone: the number to call and their PIN."""

    number: str
    pin: str
    pin_id: int


@lru_cache(maxsize=8)
def _derived(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        secret.encode())


def derived_key(label: bytes) -> bytes:
    """A key of its own for one use (``label``), from the app's secret."""
    return _derived(str(current_app.config["SECRET_KEY"]), label)


def pin_lookup(pin: str) -> str:
    return hmac.new(derived_key(LOOKUP_LABEL), pin.encode(), hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derived_key(SEAL_LABEL)))


def _unseal(sealed: str) -> str | None:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        log.warning("a dial-in PIN cannot be decrypted (was SECRET_KEY changed?): "
                    "a new one is made")
        return None


def new_pin() -> str:
    """A PIN drawn at random (``secrets``), never starting with 2."""
    return secrets.choice(FIRST_DIGITS) + "".join(
        secrets.choice("0123456789") for _ in range(PIN_DIGITS - 1))


def active_enrollment(client_id: int) -> Enrollment | None:
    """The client's open enrolment (a client is in one program at a time)."""
    return db.session.scalar(select(Enrollment).where(
        Enrollment.client_id == client_id, Enrollment.end_date.is_(None))
        .order_by(Enrollment.start_date.desc(), Enrollment.id.desc()).limit(1))


def client_enrollment(clinic_id: int, user_id: int) -> Enrollment | None:
    """A client of this clinic, by their open enrolment; None for anyone else."""
    user = db.session.get(User, user_id)
    if user is None or user.clinic_id != clinic_id or user.role != Role.CLIENT:
        return None
    return active_enrollment(user.id)


# --- reading and making ---------------------------------------------------------------------


def my_dial_in(client: User) -> DialIn:
    """The number and the client's own PIN, made now if they have none yet (a program that
    turned dial-in on after they were enrolled). A 404 with the reason otherwise."""
    if client.role != Role.CLIENT:
        raise DialInError(404, "dial_in", "Joining sessions by phone is for clients: your "
                          "account has no dial-in PIN.")
    enrollment = active_enrollment(client.id)
    if enrollment is None:
        raise DialInError(404, "dial_in", "You are not enrolled in a program now, so you have "
                          "no dial-in PIN.")
    _require_dial_in(enrollment.program, 404, "dial_in")
    pin, row, made = _pin_for(client.id, enrollment.program_id)
    if made:
        audit.record(client, "create", "dial_in_pin", row.id, subject_id=client.id)
    db.session.commit()
    return DialIn(_number(), pin, row.id)


def reset_pin(actor: User, enrollment: Enrollment) -> DialIn:
    """A new PIN for the client of this enrolment (their old one stops working at once)."""
    _require_dial_in(enrollment.program, 409, "user_id")
    row = _row(enrollment.client_id)
    pin, row = _store_new(enrollment.client_id, enrollment.program_id, row)
    audit.record(actor, "update", "dial_in_pin", row.id, subject_id=enrollment.client_id)
    db.session.commit()
    return DialIn(_number(), pin, row.id)


def pin_for_enrolment(enrollment_id: int, by_id: int | None) -> None:
    """A client was enrolled: their PIN, if the program offers dial-in (kept, with its
    program updated, if they had one)."""
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None or not offers_dial_in(enrollment.program):
        return
    _, row, made = _pin_for(enrollment.client_id, enrollment.program_id)
    if made:
        by = db.session.get(User, by_id) if by_id is not None else None
        audit.record(by, "create", "dial_in_pin", row.id, subject_id=enrollment.client_id)
    db.session.commit()


def _number() -> str:
    number = dial_in_number()
    assert number is not None  # _require_dial_in checked it
    return number


def _require_dial_in(program: Program, status: int, field: str) -> None:
    """A client reading theirs gets a 404 (there is nothing to read); staff renewing one, a
    409 (the client is there, the program is not set up for it)."""
    if dial_in_number() is None:
        raise DialInError(status, field, "This clinic does not offer joining sessions by phone.")
    if not offers_dial_in(program):
        raise DialInError(status, field, f"{program.name} does not offer joining sessions by "
                          "phone: its admin turns dial-in on in the program's settings.")


def _row(user_id: int) -> DialInPin | None:
    return db.session.scalar(select(DialInPin).where(DialInPin.user_id == user_id))


def _pin_for(user_id: int, program_id: int) -> tuple[str, DialInPin, bool]:
    """(PIN, its row, whether it was made now): the stored one if it can be read."""
    row = _row(user_id)
    pin = _unseal(row.pin_sealed) if row is not None else None
    if row is not None and pin is not None:
        row.program_id = program_id
        return pin, row, False
    pin, row = _store_new(user_id, program_id, row)
    return pin, row, True


def _store_new(user_id: int, program_id: int, row: DialInPin | None) -> tuple[str, DialInPin]:
    """A fresh PIN into ``row`` (or a new row), drawn again while it is someone else's. Two
    requests making the first PIN of one client at once: the second finds the first's."""
    for _ in range(DRAWS):
        pin = new_pin()
        lookup = pin_lookup(pin)
        if db.session.scalar(select(DialInPin.id).where(DialInPin.pin_lookup == lookup)):
            continue
        target = row or DialInPin(user_id=user_id)
        target.program_id = program_id
        target.pin_lookup = lookup
        target.pin_sealed = _fernet().encrypt(pin.encode()).decode()
        try:
            with db.session.begin_nested():
                db.session.add(target)
        except IntegrityError:
            # Taken in the meantime: the PIN by another client, or this client's first PIN
            # by a request of theirs that came first (theirs stands).
            first = _row(user_id) if row is None else None
            if first is not None and (theirs := _unseal(first.pin_sealed)) is not None:
                return theirs, first
            continue
        return pin, target
    raise DialInError(503, "pin", "No free dial-in PIN could be drawn; try again in a moment.")
