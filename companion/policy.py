"""May this user do this to this record? The one place that answers.

Every HTTP route and socket event asks here. Records are described by what matters to the
answer (whose record, which session), so the rules read like the table in SECURITY.md.
"""

from __future__ import annotations

import enum

from sqlalchemy import exists, or_, select

from companion.extensions import db
from companion.models import (
    Enrollment,
    Group,
    GroupMember,
    GroupRole,
    Program,
    Role,
    Session,
    User,
)


class Action(enum.StrEnum):
    # clinic administration
    INVITE = "invite"
    MANAGE_USERS = "manage_users"
    VIEW_PROGRAM = "view_program"
    # rooms and sessions
    JOIN_SESSION = "join_session"
    MODERATE_SESSION = "moderate_session"
    # a client's own clinical records (check-ins, cravings, safety plan, measures...)
    READ_CLIENT_RECORD = "read_client_record"
    WRITE_CLIENT_RECORD = "write_client_record"


def is_treating(staff: User, client_id: int) -> bool:
    """A counselor treats a client they carry, lead or co-lead a group of, or see 1:1."""
    if staff.role != Role.COUNSELOR:
        return False
    in_my_group = (
        select(GroupMember.id)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.user_id == client_id, GroupMember.role == GroupRole.CLIENT)
        .where(
            or_(
                Group.counselor_id == staff.id,
                exists().where(
                    GroupMember.group_id == Group.id,
                    GroupMember.user_id == staff.id,
                    GroupMember.role == GroupRole.COUNSELOR,
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


def session_role(user: User, session: Session) -> str | None:
    """How this user takes part in a session: 'staff', 'client', or None (not at all)."""
    if session.counselor_id == user.id:
        return "staff"
    if session.client_id is not None:
        return "client" if session.client_id == user.id else None
    if session.group_id is None:
        return None
    role = db.session.scalar(
        select(GroupMember.role).where(
            GroupMember.group_id == session.group_id, GroupMember.user_id == user.id
        )
    )
    if role is None:
        return None
    return "client" if role == GroupRole.CLIENT else "staff"


def can(user: User, action: Action, record: object = None) -> bool:
    """The answer. ``record`` is what the action is on: a Session, a Program, a client id."""
    if not user.is_active:
        return False
    match action:
        case Action.INVITE | Action.MANAGE_USERS:
            return user.role == Role.ADMIN
        case Action.VIEW_PROGRAM:
            return isinstance(record, Program) and record.clinic_id == user.clinic_id
        case Action.JOIN_SESSION:
            return isinstance(record, Session) and session_role(user, record) is not None
        case Action.MODERATE_SESSION:
            return isinstance(record, Session) and session_role(user, record) == "staff"
        case Action.READ_CLIENT_RECORD:
            # Peer supporters and admins never read charts.
            return isinstance(record, int) and (user.id == record or is_treating(user, record))
        case Action.WRITE_CLIENT_RECORD:
            return isinstance(record, int) and user.role == Role.CLIENT and user.id == record
    return False
