"""Staff's second factor: TOTP codes (RFC 6238: 30-s steps, 6 digits, SHA-1, as every
authenticator app reads them), their secrets sealed at rest, and the enrolment QR code.

The secret is encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived by HKDF from
``MFA_KEY`` (``COMPANION_MFA_KEY``), or from ``SECRET_KEY`` when that is not set: a copy of the
database alone does not give anyone the codes. Changing the key makes every stored secret
unreadable, so staff then enrol again (``companion mfa-reset EMAIL``); set ``COMPANION_MFA_KEY``
on its own to rotate ``SECRET_KEY`` freely.
"""

from __future__ import annotations

import base64
import hmac
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import or_, update

from companion.accounts.models import Role, User
from companion.core import clock
from companion.core.extensions import db

log = logging.getLogger(__name__)

ISSUER = "Companion"
STEP_SECONDS = 30
DIGITS = 6
# The step before and the step after the server's are accepted too: phone clocks drift.
WINDOW = 1
STAFF_ROLES = frozenset({Role.COUNSELOR, Role.PEER_SUPPORTER, Role.ADMIN})


def required_for(role: Role) -> bool:
    """Staff log in with a second factor; clients and family guests do not."""
    return role in STAFF_ROLES


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32()


@lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"companion totp secrets v1"
    ).derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _key() -> str:
    return str(current_app.config.get("MFA_KEY") or current_app.config["SECRET_KEY"])


def seal(secret: str) -> str:
    """The secret as stored: encrypted and authenticated."""
    return _fernet(_key()).encrypt(secret.encode()).decode()


def unseal(sealed: str | None) -> str | None:
    """The stored secret in clear, or None (none stored, or the key changed since)."""
    if not sealed:
        return None
    try:
        return _fernet(_key()).decrypt(sealed.encode()).decode()
    except InvalidToken:
        log.warning("a stored TOTP secret cannot be decrypted: was the key changed?")
        return None


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_for(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, after_step: int | None = None) -> int | None:
    """The step near now whose code this is, if it is later than ``after_step``; else None."""
    # "123 456" as some apps show it, and the digits of any script as a phone keyboard types
    # them (Arabic-Indic, fullwidth); what is still not six ASCII digits is no code.
    typed = "".join(code.split())
    code = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in typed)
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    now = step_at(clock.now())
    found = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        # Every step is compared (in constant time), so the answer's timing says nothing.
        if hmac.compare_digest(code_for(secret, step), code) and found is None:
            found = step
    if found is None or (after_step is not None and found <= after_step):
        return None
    return found


def use_login_code(user: User, code: str) -> bool:
    """True if ``code`` is the user's current code and was not used before (then it is spent)."""
    secret = unseal(user.totp_secret)
    if secret is None:
        return False
    step = matching_step(secret, code, user.totp_last_step)
    if step is None:
        return False
    # One conditional UPDATE: of two logins racing with the same code, one wins.
    spent = db.session.execute(
        update(User)
        .where(User.id == user.id)
        .where(or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        return False
    user.totp_last_step = step
    return True


def otpauth_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=ISSUER
    )


@dataclass
class Enrolment:
    """What an authenticator app needs: shown on the invitation page, never after enrolment."""

    secret: str
    otpauth_uri: str
    qr_svg: str

    def as_json(self) -> dict[str, str]:
        return {"secret": self.secret, "otpauth_uri": self.otpauth_uri, "qr_svg": self.qr_svg}


def enrolment(secret: str, account: str) -> Enrolment:
    uri = otpauth_uri(secret, account)
    # A standalone SVG document (served as an image, so it can never run script).
    qr = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    if not qr.startswith("<svg "):  # pragma: no cover - segno's format changed
        raise RuntimeError("unexpected QR code output")
    qr = qr.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=qr)
