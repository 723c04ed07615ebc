"""May this user do this to this record? The one place that answers.

Every HTTP route and socket event asks here. Records are described by what matters to the
answer (whose record, which session), so the rules read like the table in docs/security.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, case, cast, exists, literal_column, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from companion.accounts.models import FAMILY_SESSIONS, Consent, FamilyLink, Invitation, Role, User
from companion.clinic.models import Enrollment, Group, GroupMember, GroupRole, Program, Session
from companion.clinic.treatment import (
    active_consent,
    clients_of,
    discharged_sql,
    is_discharged,
    is_treating,
    session_clients,
)
from companion.core.extensions import db


class Action(enum.StrEnum):
    # clinic administration
    INVITE = "invite"
    MANAGE_USERS = "manage_users"
    VIEW_PROGRAM = "view_program"
    # a clinic's own setup: programs, groups, their schedules and members, admissions and
    # discharges (the clinic's admin)
    MANAGE_PROGRAM = "manage_program"
    # a group's page: its admin, and the counselors who lead it
    VIEW_GROUP = "view_group"
    # a client's step-down or step-up, and their discharge: the admin, or a counselor who
    # treats them
    CHANGE_ENROLLMENT = "change_enrollment"
    # a client's date of birth (claims name it): the clinic's admin, or a counselor who
    # treats them; record: the client's id
    SET_BIRTH_DATE = "set_birth_date"
    # a client's phone dial-in PIN renewed (companion/dialin): the same people, the admin or a
    # counselor who treats them
    RESET_DIAL_IN_PIN = "reset_dial_in_pin"
    # a client's own phone number, for a counselor's call out of the room: read and written by
    # the same people
    CLIENT_PHONE = "client_phone"
    # one occurrence cancelled or moved: the counselors who lead it, or the clinic's admin
    RESCHEDULE_SESSION = "reschedule_session"
    # rooms and sessions
    JOIN_SESSION = "join_session"
    MODERATE_SESSION = "moderate_session"
    # a counselor schedules a 1:1 with a client they treat, or a session of a group they lead
    SCHEDULE_SESSION = "schedule_session"
    # attendance is a clinical record: the session's counselors (and the clinic's admin, who
    # bills from it) see it; peer supporters moderate rooms but never see it
    VIEW_ATTENDANCE = "view_attendance"
    # measures (PHQ-9, GAD-7, BAM): a counselor schedules them for a client they treat
    SCHEDULE_MEASURE = "schedule_measure"
    ATTEST_ATTENDANCE = "attest_attendance"
    # a client's own clinical records (check-ins, cravings, safety plan, measures...)
    READ_CLIENT_RECORD = "read_client_record"
    WRITE_CLIENT_RECORD = "write_client_record"
    # the Stanley-Brown safety plan is written by the client with their counselor
    WRITE_SAFETY_PLAN = "write_safety_plan"
    # risk alerts: seen and acknowledged by the staff treating the client
    ACK_ALERT = "ack_alert"
    # mutual-support meetings: admins keep the directory; counselors suggest meetings
    MANAGE_MEETINGS = "manage_meetings"
    VIEW_MEETING = "view_meeting"
    RECOMMEND_MEETING = "recommend_meeting"
    # care team (issue 7, docs/care-team.md): rewards, test results, psychoeducation, consents
    MANAGE_REWARDS = "manage_rewards"  # a program's contingency-management settings
    ENTER_TEST_RESULT = "enter_test_result"
    ASSIGN_PSYCHOED = "assign_psychoed"
    # a family member reading one consented category of a client's information
    READ_DISCLOSED = "read_disclosed"
    # the client's own record, whole (right of access)
    EXPORT_OWN_RECORD = "export_own_record"
    # clinical notes (issue 15, docs/notes.md): the session's facilitating counselors write,
    # sign and add to its note; they and the clinic's admin (who bills from it) read it; a
    # counselor treating a client reads that client's part of each note (their chart). Peer
    # supporters, clients and family members never see a note.
    WRITE_NOTE = "write_note"
    READ_NOTE = "read_note"
    READ_CLIENT_NOTES = "read_client_notes"
    # a program's billing: the days it claims and its payer settings (the clinic's admins)
    MANAGE_BILLING = "manage_billing"


# Family members are guests (Role.FAMILY): only these actions are ever open to them. Joining
# is only for family sessions, with the client's consent in force (session_role); they never
# moderate, see attendance or read a chart. They look meetings up (Al-Anon, Nar-Anon: meetings
# for families), as anyone of the clinic may.
FAMILY_ACTIONS = frozenset({Action.READ_DISCLOSED, Action.JOIN_SESSION, Action.VIEW_MEETING})


@dataclass(frozen=True)
class ClinicRecord:
    """A record the whole clinic shares (a meeting of its directory), by its clinic."""

    clinic_id: int


@dataclass(frozen=True)
class Disclosure:
    """A category of a client's information (CONSENT_CATEGORIES), as a disclosure's record."""

    client_id: int
    category: str


def session_role(user: User, session: Session) -> str | None:
    """How this user takes part in a session: 'staff', 'client', 'family' (a guest a client of
    it invited, to a family session, with consent), or None (not at all). Nobody takes part
    in a cancelled session; a discharged client in none of their 1:1s (and, out of their
    groups, in no group's)."""
    if session.cancelled_at is not None:
        return None
    return _standing(user, session)


def _standing(user: User, session: Session) -> str | None:
    """session_role as if the session were on: whoever leads a cancelled session still
    leads it (and may move it or see its attendance)."""
    if user.role == Role.FAMILY:
        return "family" if family_guest_of(user, session) is not None else None
    if session.counselor_id == user.id:
        return "staff"
    if session.client_id is not None:
        return "client" if session.client_id == user.id and not is_discharged(user.id) else None
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


def family_guest_of(guest: User, session: Session) -> int | None:
    """The client on whose consent this family member may join this session, if any.

    Right now, all of: the session is a family session; the guest has an open FamilyLink to a
    client of it; that client's consent covering family sessions names the guest and is in
    force (not revoked, not expired). Asked on every room event but chat (which asks the same
    in SQL: ``may_join_sql``), and for every connected guest by the enforcer every two
    seconds; a revocation or an ended link expels the guest at once.
    """
    if guest.role != Role.FAMILY or not guest.active or not session.family:
        return None

    linked = set(clients_of(guest))
    for client_id in session_clients(session):
        if client_id in linked and active_consent(client_id, guest.id,
                                                  FAMILY_SESSIONS) is not None:
            return client_id
    return None


# may_join_sql's LIKE pattern, written into the statement rather than bound: SQLite prepares a
# statement whose LIKE pattern is a parameter again at every execution (its LIKE optimisation),
# which cost the chat statement ten times its time. A constant: no input ever reaches it.
_FAMILY_SESSIONS_PATTERN: ColumnElement[str] = literal_column(f"""'%"{FAMILY_SESSIONS}"%'""")


def may_join_sql(user_id: ColumnElement[int], now: ColumnElement[datetime]
                 ) -> ColumnElement[bool]:
    """``can(user, JOIN_SESSION, session)`` as SQL, for a statement on the session's row.

    The chat path numbers a message with one UPDATE of the session's row (companion/services/
    rooms.py); this is part of its WHERE, so the right to the room is checked at the moment
    the message is stored, in the statement itself, by whatever process sends it. It must say
    what ``session_role`` says (tests/test_room_standing.py compares the two).
    """
    # Each subquery is correlated to the session's row explicitly: nested two deep, SQLAlchemy
    # would otherwise add care_session to its FROM (any session would do).
    member = exists().where(GroupMember.group_id == Session.group_id,
                            GroupMember.user_id == user_id).correlate(Session)
    as_member = or_(Session.counselor_id == user_id,
                    and_(Session.client_id == user_id, ~discharged_sql(user_id)),
                    and_(Session.client_id.is_(None), member))
    # family_guest_of: a link still open to a client of the session, whose consent in force
    # names the guest and covers family sessions. Categories are a JSON list of the fixed
    # identifiers of CONSENT_CATEGORIES: the quoted name matches that element and no other.
    group_client = aliased(GroupMember)
    client_of_session = or_(
        FamilyLink.client_id == Session.client_id,
        and_(Session.client_id.is_(None), exists().where(
            group_client.group_id == Session.group_id,
            group_client.user_id == FamilyLink.client_id,
            group_client.role == GroupRole.CLIENT).correlate(Session, FamilyLink)),
    )
    consented = (
        select(FamilyLink.id)
        .join(Invitation, Invitation.id == FamilyLink.invitation_id)
        .join(Consent, and_(Consent.client_id == FamilyLink.client_id,
                            Consent.recipient_user_id == user_id))
        .where(Invitation.user_id == user_id, FamilyLink.ended_at.is_(None),
               Consent.revoked_at.is_(None), Consent.expires_at > now,
               cast(Consent.categories, String).like(_FAMILY_SESSIONS_PATTERN),
               client_of_session)
        .correlate(Session)
    )
    as_guest = and_(Session.family.is_(true()), exists(consented))
    # CASE rather than OR: its branches are evaluated lazily, so only a family member's chat
    # looks at links and consents.
    return and_(Session.cancelled_at.is_(None), exists().where(
        User.id == user_id, User.active.is_(true()),
        case((User.role == Role.FAMILY, as_guest), else_=as_member)).correlate(Session))


def can(user: User, action: Action, record: object = None) -> bool:
    """The answer. ``record`` is what the action is on: a Session, a Program, a client id."""
    if not user.is_active:
        return False
    if user.role == Role.FAMILY and action not in FAMILY_ACTIONS:
        return False  # a guest never sees a chart; rooms: family sessions only
    match action:
        case Action.INVITE | Action.MANAGE_USERS:
            return user.role == Role.ADMIN
        case Action.VIEW_PROGRAM:
            return isinstance(record, Program) and record.clinic_id == user.clinic_id
        case Action.MANAGE_PROGRAM:
            return (user.role == Role.ADMIN and isinstance(record, Program)
                    and record.clinic_id == user.clinic_id)
        case Action.VIEW_GROUP:
            if not isinstance(record, Group) or record.program.clinic_id != user.clinic_id:
                return False
            return user.role == Role.ADMIN or (user.role == Role.COUNSELOR
                                               and _leads_group(user, record))
        case Action.CHANGE_ENROLLMENT | Action.RESET_DIAL_IN_PIN | Action.CLIENT_PHONE:
            if not isinstance(record, Enrollment) or record.program.clinic_id != user.clinic_id:
                return False
            return user.role == Role.ADMIN or is_treating(user, record.client_id)
        case Action.SET_BIRTH_DATE:
            if not isinstance(record, int):
                return False
            if user.role == Role.ADMIN:
                client = db.session.get(User, record)
                return (client is not None and client.role == Role.CLIENT
                        and client.clinic_id == user.clinic_id)
            return is_treating(user, record)
        case Action.RESCHEDULE_SESSION:
            return isinstance(record, Session) and (
                _leads(user, record) or (user.role == Role.ADMIN and _in_clinic(user, record)))
        case Action.JOIN_SESSION:
            return isinstance(record, Session) and session_role(user, record) is not None
        case Action.MODERATE_SESSION:
            return isinstance(record, Session) and session_role(user, record) == "staff"
        case Action.SCHEDULE_SESSION:
            if isinstance(record, Group):
                return user.role == Role.COUNSELOR and _leads_group(user, record)
            return isinstance(record, int) and is_treating(user, record)
        case Action.VIEW_ATTENDANCE:
            if isinstance(record, Program):  # a week's report for a whole program
                return record.clinic_id == user.clinic_id and user.role in (
                    Role.ADMIN, Role.COUNSELOR)
            return isinstance(record, Session) and (
                _leads(user, record) or (user.role == Role.ADMIN and _in_clinic(user, record)))
        case Action.SCHEDULE_MEASURE:
            return isinstance(record, int) and is_treating(user, record)
        case Action.ATTEST_ATTENDANCE:
            return isinstance(record, Session) and _leads(user, record)
        case Action.READ_CLIENT_RECORD:
            # Peer supporters and admins never read charts.
            return isinstance(record, int) and (user.id == record or is_treating(user, record))
        case Action.WRITE_CLIENT_RECORD:
            return isinstance(record, int) and user.role == Role.CLIENT and user.id == record
        case Action.WRITE_SAFETY_PLAN:
            return isinstance(record, int) and (
                (user.role == Role.CLIENT and user.id == record) or is_treating(user, record)
            )
        case Action.ACK_ALERT:
            return isinstance(record, int) and is_treating(user, record)
        case Action.MANAGE_MEETINGS:
            return user.role == Role.ADMIN
        case Action.VIEW_MEETING:
            # The directory is the clinic's: everyone of the clinic may look a meeting up.
            return isinstance(record, ClinicRecord) and record.clinic_id == user.clinic_id
        case Action.RECOMMEND_MEETING:
            return isinstance(record, int) and is_treating(user, record)
        case Action.MANAGE_REWARDS:
            return (isinstance(record, Program) and user.role == Role.ADMIN
                    and record.clinic_id == user.clinic_id)
        case Action.ENTER_TEST_RESULT | Action.ASSIGN_PSYCHOED:
            return isinstance(record, int) and is_treating(user, record)
        case Action.READ_DISCLOSED:
            # Only with the client's consent in force at this moment (42 CFR §2.31), and while
            # the client still has this person as family (ending the link ends it all).

            return (isinstance(record, Disclosure) and user.role == Role.FAMILY
                    and active_consent(record.client_id, user.id, record.category) is not None
                    and record.client_id in clients_of(user))
        case Action.EXPORT_OWN_RECORD:
            return user.role == Role.CLIENT and record == user.id
        case Action.WRITE_NOTE:
            return isinstance(record, Session) and _leads(user, record)
        case Action.READ_NOTE:
            return isinstance(record, Session) and (
                _leads(user, record) or (user.role == Role.ADMIN and _in_clinic(user, record)))
        case Action.READ_CLIENT_NOTES:
            return isinstance(record, int) and is_treating(user, record)
        case Action.MANAGE_BILLING:
            return (isinstance(record, Program) and user.role == Role.ADMIN
                    and record.clinic_id == user.clinic_id)
    return False


def _leads(user: User, session: Session) -> bool:
    """The session's counselor, or a counselor co-leading its group."""
    return user.role == Role.COUNSELOR and _standing(user, session) == "staff"


def _leads_group(user: User, group: Group) -> bool:
    """The group's lead counselor or a co-leading counselor."""
    if group.counselor_id == user.id:
        return True
    return db.session.scalar(
        select(GroupMember.role).where(GroupMember.group_id == group.id,
                                       GroupMember.user_id == user.id)) == GroupRole.COUNSELOR


def _in_clinic(user: User, session: Session) -> bool:
    program = db.session.get(Program, session.program_id)
    return program is not None and program.clinic_id == user.clinic_id
