"""Admission: bringing a person into the clinic by invitation, and a client into a program.

Accounts (companion.accounts) make the account from an invitation; the clinic says which
program an invitation may name and what an accepted one makes of the person: their time zone is
the program's, and a client is enrolled in its first phase with the weekly hours their level of
care asks for (docs/domain.md).
"""

from __future__ import annotations

from sqlalchemy import select

from companion.accounts import services as accounts
from companion.accounts.models import Invitation, Role, User
from companion.clinic import enrollments
from companion.clinic.models import (
    ADOLESCENT_WEEKLY_HOURS,
    ADULT_WEEKLY_HOURS,
    Enrollment,
    Program,
)
from companion.core import clock, signals
from companion.core.extensions import db


def invite(inviter: User, email: str, role: Role, base_url: str, display_name: str = "",
           program_id: int | None = None, adolescent: bool = False,
           sees_clinic_accounts: bool = False) -> accounts.IssuedInvitation:
    """Invite someone to the inviter's clinic, a client into one of its programs."""
    if program_id is not None:
        program = db.session.get(Program, program_id)
        if program is None or program.clinic_id != inviter.clinic_id:
            raise accounts.AccountError(422, "program_id", "No such program in your clinic.")
    return accounts.invite(inviter, email, role, base_url, display_name=display_name,
                           program_id=program_id, adolescent=adolescent,
                           sees_clinic_accounts=sees_clinic_accounts)


def accept(token: str, password: str, display_name: str,
           otp: str | None = None) -> User:
    """The invitee's account, admitted to the program the invitation named."""
    user = accounts.accept_invitation(token, password, display_name, otp=otp, admit=_admit)
    enrollment_id = db.session.scalar(select(Enrollment.id).where(
        Enrollment.client_id == user.id, Enrollment.end_date.is_(None)))
    if enrollment_id is not None:  # committed with the account: the others may hear of it
        signals.client_enrolled.send(enrollment_id, by_id=user.id)
    return user


def _admit(user: User, invitation: Invitation) -> None:
    program = db.session.get(Program, invitation.program_id) if invitation.program_id else None
    if program is None:
        return
    user.timezone = program.timezone
    if invitation.role != Role.CLIENT:
        return
    first = program.phases[0] if program.phases else None
    db.session.add(Enrollment(
        client_id=user.id, program_id=program.id,
        phase_id=first.id if first else None, primary_counselor_id=None,
        start_date=clock.now().date(), adolescent=invitation.adolescent,
        weekly_hours_target=ADOLESCENT_WEEKLY_HOURS if invitation.adolescent
        else ADULT_WEEKLY_HOURS))
    # The groups the first phase names, from the first day (audited as the client's own act:
    # accepting the invitation is what puts them there).
    enrollments.move_phase_groups(user, user.id, None, first)
