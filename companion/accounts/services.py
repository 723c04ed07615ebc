"""Passwords, login sessions and invitations: how people get in and out."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import current_app
from sqlalchemy import select

from companion.accounts import mfa
from companion.accounts.models import Invitation, LoginSession, Role, User
from companion.core import audit, clock, inputs, mail, signals
from companion.core.errors import ServiceError
from companion.core.extensions import db

log = logging.getLogger(__name__)
_hasher = PasswordHasher()  # argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile)
# Verified against when the address is unknown, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2id parameters (the test suite uses cheap ones: hundreds of logins)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
_COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "content" / "common-passwords.txt"
_common_passwords: frozenset[str] | None = None


class AccountError(ServiceError):
    """A request about an account that cannot be done; ``field`` names the culprit."""


class WrongPassword(AccountError):
    """The password of an existing account did not match: a guess, counted like a failed
    login."""

    def __init__(self) -> None:
        super().__init__(422, "password", "That is not the password of this account.")


def user_json(user: User) -> dict[str, Any]:
    """A person as other screens name them (core/schemas.py's UserOut)."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role.value,
    }


def check_display_name(name: str) -> None:
    """Every name an account gets passes here (invitations, family invitations, accepting)."""
    if not inputs.name_is_plain(name):
        raise AccountError(422, "display_name", inputs.NAME_REFUSED)


def update_profile(user: User, *, display_name: str | None = None,
                   timezone: str | None = None) -> User:
    """A person changes what others call them or the zone their times are in (their own
    profile; nobody else's)."""
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name:
            raise AccountError(422, "display_name", "Enter the name others should see.")
        check_display_name(display_name)
        user.display_name = display_name
    if timezone is not None:
        user.timezone = timezone
    audit.record(user, "update", "profile", user.id, subject_id=user.id)
    db.session.commit()
    return user


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _is_common(password: str) -> bool:
    global _common_passwords
    if _common_passwords is None:
        lines = _COMMON_PASSWORDS_FILE.read_text().splitlines()
        _common_passwords = frozenset(line.strip().lower() for line in lines if line.strip())
    return password.lower() in _common_passwords


def check_password_rules(password: str) -> None:
    """ASVS V6: length, not composition; refuse the passwords attackers try first."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(422, "password", f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(422, "password", f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if _is_common(password):
        raise AccountError(422, "password", "This password is too common; choose another.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(email: str, password: str) -> User | None:
    """The user whose address and password these are, or None (same cost either way)."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


# --- login sessions -------------------------------------------------------------------------


def start_login_session(user: User) -> LoginSession:
    """A fresh server-side session (a new id at every login)."""
    login = LoginSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=clock.now(),
        last_seen_at=clock.now(),
    )
    db.session.add(login)
    audit.record(user, "login", "user", user.id, subject_id=user.id)
    db.session.commit()
    return login


# last_seen_at is written at most this often, not on every request.
_TOUCH_EVERY = timedelta(seconds=30)


def resume_login_session(token: str) -> LoginSession | None:
    """The live session for this token, or None if it ended or timed out (then it is ended)."""
    login = db.session.get(LoginSession, token)
    if login is None or login.ended_at is not None or not login.user.active:
        return None
    now = clock.now()
    idle = timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"])
    absolute = timedelta(hours=current_app.config["ABSOLUTE_TIMEOUT_HOURS"])
    if now - login.last_seen_at > idle:
        end_login_session(login, "idle")
        return None
    if now - login.created_at > absolute:
        end_login_session(login, "expired")
        return None
    if now - login.last_seen_at > _TOUCH_EVERY:
        login.last_seen_at = now
        db.session.commit()
    return login


def end_login_session(login: LoginSession, reason: str) -> None:
    """End it on the server: the cookie that named it no longer works."""
    if login.ended_at is None:
        login.ended_at = clock.now()
        login.end_reason = reason
        db.session.commit()
        signals.login_ended.send(login.id)


# --- invitations ------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class IssuedInvitation:
    invitation: Invitation
    url: str
    emailed: bool


def invite(
    inviter: User,
    email: str,
    role: Role,
    base_url: str,
    display_name: str = "",
    program_id: int | None = None,
    adolescent: bool = False,
    sees_clinic_accounts: bool = False,
) -> IssuedInvitation:
    """Invite someone to the inviter's clinic; the link is mailed, or shown when no mail is set.

    Whether the address already has an account (a patient, in any clinic) is itself protected
    (42 CFR Part 2): the inviter gets the same answer either way, and the owner of an existing
    account gets a notice instead of the link. Only an inviter who may list the clinic's
    accounts (``sees_clinic_accounts``) is told about an account of their own clinic.
    """
    check_display_name(display_name)
    email = normalise_email(email)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None and sees_clinic_accounts and existing.clinic_id == inviter.clinic_id:
        raise AccountError(409, "email", "This address already has an account in your clinic.")
    if role == Role.CLIENT and program_id is None:
        raise AccountError(422, "program_id", "A client is invited into a program.")
    # Whether the program is one of the inviter's clinic is the clinic's check (admissions.py).
    token = secrets.token_urlsafe(32)
    now = clock.now()
    invitation = Invitation(
        clinic_id=inviter.clinic_id,
        program_id=program_id,
        email=email,
        role=role,
        display_name=display_name.strip(),
        adolescent=adolescent,
        token_hash=token_hash(token),
        invited_by_id=inviter.id,
        created_at=now,
        expires_at=now + timedelta(days=current_app.config["INVITATION_DAYS"]),
        # Staff enrol their second factor on the invitation page, with this secret.
        totp_secret=mfa.seal(mfa.new_secret()) if mfa.required_for(role) else None,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(inviter, "create", "invitation", invitation.id)
    db.session.commit()
    # The token travels in the fragment, which browsers never send to a server or its logs.
    url = f"{base_url.rstrip('/')}/invite#token={token}"
    if existing is not None:
        emailed = _send_existing_account_notice(invitation, url, base_url)
    else:
        emailed = _send_invitation(invitation, url)
    return IssuedInvitation(invitation, url, emailed)


def _no_mail_server(invitation: Invitation, url: str) -> bool:
    """Embedded default: no mail server. The link goes to the server's console (no address,
    no name: the link alone says nothing about who it is for); True if that is the case."""
    if current_app.config["MAIL_URL"]:
        return False
    log.warning("No mail server set: invitation %s link: %s", invitation.id, url)
    return True


def _send_existing_account_notice(invitation: Invitation, url: str, base_url: str) -> bool:
    """The address has an account: its owner hears of the invitation, and gets no link (an
    account per address; the inviter's answer was the same as for a new address)."""
    if _no_mail_server(invitation, url):
        return False
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = invitation.email
    message["Subject"] = "Your invitation to Companion"
    message.set_content(
        "Someone invited this address to Companion, but it already has a Companion account, "
        "so nothing was changed.\n\n"
        f"Sign in as usual at {base_url.rstrip('/')}/ . If you did not expect this message, "
        "you can ignore it.\n"
    )
    _send(message)
    return True


def _send_invitation(invitation: Invitation, url: str) -> bool:
    if _no_mail_server(invitation, url):
        return False
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = invitation.email
    days = current_app.config["INVITATION_DAYS"]
    if invitation.purpose == "mfa_reset":
        message["Subject"] = "Set up your Companion sign-in code again"
        message.set_content(
            "Your program admin reset the second factor of your Companion account.\n\n"
            f"Open this link to set up your authenticator app again (valid {days} days):\n"
            f"{url}\n"
        )
    else:
        message["Subject"] = "Your invitation to Companion"
        message.set_content(
            "You have been invited to Companion.\n\n"
            f"Open this link to set your password (valid {days} days):\n{url}\n"
        )
    _send(message)
    return True


def _send(message: EmailMessage) -> None:
    mail.send(message, current_app.config["MAIL_URL"])


def invited_email(token: str) -> str:
    """The address of the invitation with this token ("" when there is none)."""
    email = db.session.scalar(select(Invitation.email).where(
        Invitation.token_hash == token_hash(token)))
    return email or ""


def find_invitation(token: str) -> Invitation:
    """The pending invitation for this token; any other kind is refused the same way."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == token_hash(token))
    )
    if invitation is None or invitation.state(clock.now()) != "pending":
        raise AccountError(404, "token", "This invitation link is not valid any more.")
    return invitation


# What the clinic does with an account an invitation has just made (a client's enrolment), in the
# account's own transaction: an account is never committed without it.
Admit = Callable[[User, Invitation], None]


def accept_invitation(
    token: str, password: str, display_name: str, otp: str | None = None,
    admit: Admit | None = None,
) -> User:
    """Create the invitee's account from a pending invitation (``admit`` adds what the clinic
    keeps of it); staff only once they type a code of the secret the invitation page showed."""
    invitation = find_invitation(token)
    if invitation.purpose == "mfa_reset":
        return _enrol_again(invitation, password, otp)
    if db.session.scalar(select(User.id).where(User.email == invitation.email)) is not None:
        # Invited while it had an account (the inviter was not told), or accepted twice.
        raise AccountError(
            409, "email", "This address already has a Companion account, so this invitation "
            "cannot make another. Sign in with that account, or ask for an invitation to a "
            "different address.")
    check_password_rules(password)
    name = display_name.strip() or invitation.display_name
    if not name:
        raise AccountError(422, "display_name", "Tell us what to call you.")
    check_display_name(name)
    secret, step = _enrolment_code(invitation, otp)
    user = User(
        clinic_id=invitation.clinic_id,
        email=invitation.email,
        display_name=name,
        role=invitation.role,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    if admit is not None:
        admit(user, invitation)
    invitation.accepted_at = clock.now()
    invitation.user_id = user.id
    audit.record(user, "accept", "invitation", invitation.id, subject_id=user.id)
    if secret is not None:
        _enrol(user, invitation, secret, step)
    db.session.commit()
    return user


# --- the second factor (staff) -----------------------------------------------------------------

BAD_ENROLMENT_CODE = (
    "That code does not match. Add the key to your authenticator app, then type the 6-digit "
    "code it shows now."
)


def invitation_enrolment(invitation: Invitation) -> mfa.Enrolment | None:
    """What a staff invitee's authenticator app needs (None for clients and family)."""
    if not mfa.required_for(invitation.role):
        return None
    secret = mfa.unseal(invitation.totp_secret)
    if secret is None:
        # Invited before second factors existed (or the key changed): a secret now.
        secret = mfa.new_secret()
        invitation.totp_secret = mfa.seal(secret)
        db.session.commit()
    return mfa.enrolment(secret, invitation.email)


def _enrolment_code(invitation: Invitation, otp: str | None) -> tuple[str | None, int | None]:
    """The invitation's secret and the step of the code typed, for a staff invitation."""
    if not mfa.required_for(invitation.role):
        return None, None
    secret = mfa.unseal(invitation.totp_secret)
    if secret is None:
        raise AccountError(
            404, "token", "This invitation link is not valid any more. Ask for a new one.")
    step = mfa.matching_step(secret, otp or "")
    if step is None:
        raise AccountError(422, "otp", BAD_ENROLMENT_CODE)
    return secret, step


def _enrol(
    user: User, invitation: Invitation, secret: str, step: int | None
) -> None:
    user.totp_secret = mfa.seal(secret)
    user.totp_last_step = step  # the code typed to enrol cannot log in as well
    invitation.totp_secret = None  # one sealed copy, the user's
    audit.record(user, "mfa_enrol", "user", user.id, subject_id=user.id)


def _enrol_again(invitation: Invitation, password: str, otp: str | None) -> User:
    """After an admin's reset: the staff member proves their password and enrols a new secret."""
    user = db.session.get(User, invitation.user_id)
    if user is None or not user.active:
        raise AccountError(404, "token", "This invitation link is not valid any more.")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise WrongPassword from None
    secret, step = _enrolment_code(invitation, otp)
    assert secret is not None  # reset links are only issued to staff
    invitation.accepted_at = clock.now()
    _enrol(user, invitation, secret, step)
    db.session.commit()
    return user


def reset_second_factor(
    admin: User | None, user: User, base_url: str
) -> IssuedInvitation:
    """Forget a staff member's second factor, log them out everywhere and issue a link to
    enrol a new one."""
    if not mfa.required_for(user.role):
        raise AccountError(409, "user_id", "Only staff accounts have a second factor.")
    now = clock.now()
    user.totp_secret = None
    user.totp_last_step = None
    earlier = db.session.scalars(
        select(Invitation).where(
            Invitation.user_id == user.id, Invitation.purpose == "mfa_reset",
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
        )
    )
    for old in earlier:
        old.revoked_at = now
        old.totp_secret = None
    live = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
    ).all()
    for login in live:
        login.ended_at = now
        login.end_reason = "mfa_reset"
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        clinic_id=user.clinic_id, email=user.email, role=user.role,
        display_name=user.display_name, purpose="mfa_reset", user_id=user.id,
        totp_secret=mfa.seal(mfa.new_secret()), token_hash=token_hash(token),
        invited_by_id=admin.id if admin else None, created_at=now,
        expires_at=now + timedelta(days=current_app.config["INVITATION_DAYS"]),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(admin, "mfa_reset", "user", user.id, subject_id=user.id)
    db.session.commit()
    for login in live:
        signals.login_ended.send(login.id)
    url = f"{base_url.rstrip('/')}/invite#token={token}"
    emailed = _send_invitation(invitation, url)
    return IssuedInvitation(invitation, url, emailed)
