"""Sessions people take part in, scheduling one by hand, and caseloads. (A group's weekly
occurrences are made in companion/clinic/occurrences.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from companion.accounts.models import Role, User
from companion.clinic import treatment
from companion.clinic.models import (
    Enrollment,
    Group,
    GroupMember,
    GroupRole,
    Program,
    Session,
    SessionKind,
)
from companion.core.errors import ServiceError
from companion.core.extensions import db


@dataclass
class Joinable:
    session: Session
    role: str  # "staff", "client" or "family"


def joinable_sessions(
    user: User, now: datetime, window: tuple[datetime, datetime] | None = None
) -> list[Joinable]:
    """Sessions this user takes part in, soonest first: those not yet over, or (with a
    window) every one starting inside it, ended ones included."""
    my_groups = select(GroupMember.group_id).where(GroupMember.user_id == user.id)
    if window is None:
        when = (Session.ends_at > now) & Session.ended_at.is_(None)
    else:
        when = (Session.starts_at >= window[0]) & (Session.starts_at < window[1])
    if user.role == Role.FAMILY:
        return _family_joinable(user, when)
    stmt = (
        select(Session)
        .where(when)
        .where(
            or_(
                Session.counselor_id == user.id,
                Session.client_id == user.id,
                Session.group_id.in_(my_groups),
            )
        )
        .order_by(Session.starts_at, Session.id)
    )
    roles = dict(
        db.session.execute(
            select(GroupMember.group_id, GroupMember.role).where(GroupMember.user_id == user.id)
        ).all()
    )
    out = []
    for session in db.session.scalars(stmt):
        if session.counselor_id == user.id:
            role = "staff"
        elif session.client_id is not None:
            role = "client"
        else:
            in_group_as = roles.get(session.group_id) if session.group_id else None
            role = "client" if in_group_as == GroupRole.CLIENT else "staff"
        out.append(Joinable(session, role))
    return out


def group_sessions(group: Group, now: datetime,
                   window: tuple[datetime, datetime] | None = None) -> list[Joinable]:
    """A group's occurrences, soonest first (for its admin and leaders): those not yet over,
    or every one starting inside the window."""
    if window is None:
        when = (Session.ends_at > now) & Session.ended_at.is_(None)
    else:
        when = (Session.starts_at >= window[0]) & (Session.starts_at < window[1])
    return [Joinable(s, "staff") for s in db.session.scalars(
        select(Session).where(Session.group_id == group.id, when)
        .order_by(Session.starts_at, Session.id))]


def family_sessions_of(client_ids: list[int], when: Any) -> list[Session]:
    """Family sessions of these clients (their 1:1s, their groups' sessions), soonest first."""
    groups = select(GroupMember.group_id).where(GroupMember.user_id.in_(client_ids),
                                                GroupMember.role == GroupRole.CLIENT)
    return list(db.session.scalars(
        select(Session).where(when, Session.family.is_(True),
                              or_(Session.client_id.in_(client_ids),
                                  Session.group_id.in_(groups)))
        .order_by(Session.starts_at, Session.id)))


def _family_joinable(guest: User, when: Any) -> list[Joinable]:
    """A family member's list: only family sessions they may join now (the same rule as the
    room: an open link to a client of it and that client's consent in force)."""
    from companion.clinic import policy

    linked = sorted(set(treatment.clients_of(guest)))
    if not linked:
        return []
    return [Joinable(s, "family") for s in family_sessions_of(linked, when)
            if policy.family_guest_of(guest, s) is not None]


class ScheduleError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def schedule_session(counselor: User, *, client: User | None, group: Group | None, title: str,
                     starts_at: datetime, minutes: int, family: bool) -> Session:
    """A counselor schedules one session: a 1:1 with a client or one of a group's (the caller
    has checked SCHEDULE_SESSION). ``family`` opens it to the clients' family members."""
    from companion.core import audit

    if group is not None:
        program_id = group.program_id
        default_title = group.name
    else:
        assert client is not None
        program = treatment.client_program(client.id)
        if program is None:
            raise ScheduleError(409, "client_id", "That client is not enrolled in a program.")
        program_id = program.id
        default_title = "Family session" if family else "Individual session"
    session = Session(
        program_id=program_id,
        kind=SessionKind.GROUP if group is not None else SessionKind.INDIVIDUAL,
        group_id=group.id if group is not None else None,
        counselor_id=counselor.id,
        client_id=client.id if client is not None else None,
        title=title.strip() or default_title,
        starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), family=family,
    )
    db.session.add(session)
    db.session.flush()
    audit.record(counselor, "create", "session", session.id,
                 subject_id=client.id if client is not None else None)
    db.session.commit()
    return session


def caseload(counselor: User) -> list[User]:
    """Clients this counselor treats, by name; a discharged client is off it."""
    if counselor.role != Role.COUNSELOR:
        return []
    led = select(Group.id).where(Group.counselor_id == counselor.id)
    co_led = select(GroupMember.group_id).where(
        GroupMember.user_id == counselor.id, GroupMember.role == GroupRole.COUNSELOR
    )
    in_groups = select(GroupMember.user_id).where(
        GroupMember.role == GroupRole.CLIENT,
        or_(GroupMember.group_id.in_(led), GroupMember.group_id.in_(co_led)),
    )
    one_to_one = select(Session.client_id).where(
        Session.counselor_id == counselor.id, Session.client_id.is_not(None)
    )
    carried = select(Enrollment.client_id).where(Enrollment.primary_counselor_id == counselor.id)
    stmt = (
        select(User)
        .where(
            User.role == Role.CLIENT,
            or_(User.id.in_(in_groups), User.id.in_(one_to_one), User.id.in_(carried)),
            ~treatment.discharged_sql(User.id),
        )
        .order_by(User.display_name, User.id)
    )
    return list(db.session.scalars(stmt))


def program_clients(program: Program) -> list[User]:
    """Clients enrolled in a program, by name."""
    stmt = (
        select(User)
        .join(Enrollment, Enrollment.client_id == User.id)
        .where(Enrollment.program_id == program.id, User.role == Role.CLIENT)
        .order_by(User.display_name, User.id)
    )
    return list(db.session.scalars(stmt))
