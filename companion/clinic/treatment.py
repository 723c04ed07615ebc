"""Who treats whom, and whom a client has let see what: the relations every rule is built on.

One module answers them for the policy (may this person do this?) and for the services (whom to
alert, whose attendance to credit), so the two never disagree. Queries only: no rule, no write.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.sql.elements import ColumnElement

from companion.accounts.models import Consent, FamilyLink, Invitation, Role, User
from companion.clinic.models import Enrollment, Group, GroupMember, GroupRole, Program, Session
from companion.core import clock
from companion.core.extensions import db


def clients_of(family_user: User) -> list[int]:
    """The clients who invited this family member (links still open)."""
    return list(db.session.scalars(
        select(FamilyLink.client_id).join(Invitation, Invitation.id == FamilyLink.invitation_id)
        .where(Invitation.user_id == family_user.id, FamilyLink.ended_at.is_(None))))


def active_consent(client_id: int, recipient_user_id: int, category: str,
                   now: datetime | None = None) -> Consent | None:
    """The consent in force now that lets this person see this category, if any."""
    now = now or clock.now()
    candidates = db.session.scalars(select(Consent).where(
        Consent.client_id == client_id, Consent.recipient_user_id == recipient_user_id,
        Consent.revoked_at.is_(None), Consent.expires_at > now).order_by(Consent.id))
    return next((c for c in candidates if category in c.categories), None)


def client_program(client_id: int) -> Program | None:
    """The program of the client's current enrollment."""
    enrollment = db.session.scalar(
        select(Enrollment).where(Enrollment.client_id == client_id, Enrollment.end_date.is_(None))
        .order_by(Enrollment.start_date.desc(), Enrollment.id.desc()).limit(1))
    return enrollment.program if enrollment else None


def discharged_sql(client_id: ColumnElement[int] | InstrumentedAttribute[int] | int
                   ) -> ColumnElement[bool]:
    """The client was discharged and is enrolled nowhere now. A client who was never enrolled
    (an account made before programs were) is not discharged."""
    ended = exists().where(Enrollment.client_id == client_id, Enrollment.end_date.is_not(None))
    open_ = exists().where(Enrollment.client_id == client_id, Enrollment.end_date.is_(None))
    return and_(ended, ~open_)


def is_discharged(client_id: int) -> bool:
    return bool(db.session.scalar(select(discharged_sql(client_id))))


def session_clients(session: Session) -> list[int]:
    """The clients expected in a session: the 1:1's client, or the group's client members."""
    if session.client_id is not None:
        return [session.client_id]
    if session.group_id is None:
        return []
    return list(db.session.scalars(select(GroupMember.user_id).where(
        GroupMember.group_id == session.group_id, GroupMember.role == GroupRole.CLIENT)))


def is_treating(staff: User, client_id: int) -> bool:
    """A counselor treats a client they carry, lead or co-lead a group of, or see 1:1."""
    if staff.role != Role.COUNSELOR:
        return False
    # The co-lead's membership row is a second GroupMember: aliased, so the inner EXISTS
    # correlates to this group only (unaliased, SQLAlchemy correlates every FROM away).
    co_lead = aliased(GroupMember)
    in_my_group = (
        select(GroupMember.id)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.user_id == client_id, GroupMember.role == GroupRole.CLIENT)
        .where(
            or_(
                Group.counselor_id == staff.id,
                exists().where(
                    co_lead.group_id == Group.id,
                    co_lead.user_id == staff.id,
                    co_lead.role == GroupRole.COUNSELOR,
                ),
            )
        )
    )
    carried = select(Enrollment.id).where(
        Enrollment.client_id == client_id, Enrollment.primary_counselor_id == staff.id
    )
    one_to_one = select(Session.id).where(
        Session.client_id == client_id, Session.counselor_id == staff.id
    )
    return bool(
        db.session.scalar(
            select(exists(in_my_group) | exists(carried) | exists(one_to_one))
        )
    )


def treating_counselor_ids(client_id: int) -> set[int]:
    """Every counselor who treats this client (the inverse of ``is_treating``): lead and co-lead
    of their groups, counselor of their 1:1 sessions, their primary counselor."""
    my_groups = select(GroupMember.group_id).where(
        GroupMember.user_id == client_id, GroupMember.role == GroupRole.CLIENT
    )
    leads = select(Group.counselor_id).where(Group.id.in_(my_groups))
    co_leads = select(GroupMember.user_id).where(
        GroupMember.group_id.in_(my_groups), GroupMember.role == GroupRole.COUNSELOR
    )
    one_to_one = select(Session.counselor_id).where(Session.client_id == client_id)
    carried = select(Enrollment.primary_counselor_id).where(
        Enrollment.client_id == client_id, Enrollment.primary_counselor_id.is_not(None)
    )
    candidates = leads.union(co_leads, one_to_one, carried).subquery()
    ids = db.session.scalars(
        select(User.id).where(
            User.id.in_(select(candidates.c[0])), User.role == Role.COUNSELOR, User.active
        )
    )
    return set(ids)
