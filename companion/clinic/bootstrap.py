"""Setting up a new clinic in a production database (no demo data there)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from companion.accounts import mfa
from companion.accounts.models import Clinic, Invitation, Role
from companion.accounts.services import normalise_email, token_hash
from companion.clinic.models import ADULT_WEEKLY_HOURS, Phase, Program
from companion.core import clock
from companion.core.extensions import db


def first_admin(
    clinic_name: str, email: str, base_url: str
) -> tuple[str, mfa.Enrolment]:
    """Create a clinic with one program; return its first admin's invitation link and the
    second factor they enrol when they accept it."""
    secret = mfa.new_secret()
    clinic = Clinic(name=clinic_name)
    db.session.add(clinic)
    # A first program to rename or replace (its admin sets its zone and phases).
    db.session.add(Program(clinic=clinic, name="IOP", phases=[
        Phase(name="Intensive outpatient", position=0, weekly_hours_target=ADULT_WEEKLY_HOURS)]))
    db.session.flush()
    token = secrets.token_urlsafe(32)
    db.session.add(
        Invitation(
            clinic_id=clinic.id, email=normalise_email(email), role=Role.ADMIN,
            token_hash=token_hash(token), invited_by_id=None,
            created_at=clock.now(), expires_at=clock.now() + timedelta(days=7),
            totp_secret=mfa.seal(secret),
        )
    )
    db.session.commit()
    return f"{base_url.rstrip('/')}/invite#token={token}", mfa.enrolment(
        secret, normalise_email(email)
    )
