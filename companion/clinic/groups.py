"""A program's groups: their kind, facilitators, members and weekly schedule. The clinic's admin
makes and changes them (the views authorise); every change to who is in a group or when it
meets takes effect from now on, never on past sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import delete, select

from companion.accounts.models import Role, User
from companion.clinic import occurrences
from companion.clinic.models import (
    Enrollment,
    Group,
    GroupKind,
    GroupMember,
    GroupRole,
    GroupSchedule,
    PhaseGroup,
    Program,
    Session,
)
from companion.clinic.retries import Retry, keep
from companion.core import audit, clock, signals
from companion.core.errors import ServiceError
from companion.core.extensions import db

MAX_MINUTES = 8 * 60  # no single group session runs longer than a working day's half


class GroupError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


@dataclass(frozen=True)
class Slot:
    """One weekly meeting: weekday 0 (Monday) to 6, a local start time, a length."""

    weekday: int
    start: time
    duration_minutes: int


# A person's role in their clinic decides how they sit in a group.
MEMBER_ROLES = {Role.CLIENT: GroupRole.CLIENT, Role.PEER_SUPPORTER: GroupRole.PEER_SUPPORTER,
                Role.COUNSELOR: GroupRole.COUNSELOR}


def group_of_clinic(admin: User, group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or group.program.clinic_id != admin.clinic_id:
        raise GroupError(404, "group_id", "No such group in your clinic.")
    return group


def create_group(admin: User, program: Program, *, name: str, kind: GroupKind,
                 counselor_id: int, co_facilitator_ids: list[int], peer_supporter_ids: list[int],
                 schedule: list[Slot], starts_on: date, ends_on: date | None) -> Group:
    lead = _staff(admin, counselor_id, Role.COUNSELOR, "counselor_id")
    group = Group(program_id=program.id, name=_name(name), kind=kind, counselor_id=lead.id)
    _set_dates(group, starts_on, ends_on)
    db.session.add(group)
    db.session.flush()
    _set_facilitators(admin, group, co_facilitator_ids, peer_supporter_ids)
    _set_schedule(group, schedule)
    audit.record(admin, "create", "group", group.id)
    db.session.flush()
    db.session.refresh(group)
    occurrences.generate(group, clock.now())
    db.session.commit()
    return group


def update_group(admin: User, group: Group, *, name: str | None = None,
                 kind: GroupKind | None = None, counselor_id: int | None = None,
                 co_facilitator_ids: list[int] | None = None,
                 peer_supporter_ids: list[int] | None = None,
                 schedule: list[Slot] | None = None, starts_on: date | None = None,
                 ends_on: date | None = None, clear_ends_on: bool = False) -> Group:
    """Only what is given changes. A new schedule, lead or dates replan future occurrences."""
    if group.archived_at is not None:
        raise GroupError(409, "group_id", "That group is archived; it no longer changes.")
    replan = False
    if name is not None:
        group.name = _name(name)
    if kind is not None:
        group.kind = kind
    if counselor_id is not None and counselor_id != group.counselor_id:
        group.counselor_id = _staff(admin, counselor_id, Role.COUNSELOR, "counselor_id").id
        replan = True
    if co_facilitator_ids is not None or peer_supporter_ids is not None:
        _set_facilitators(admin, group, co_facilitator_ids, peer_supporter_ids)
    if starts_on is not None or ends_on is not None or clear_ends_on:
        _set_dates(group, starts_on or group.starts_on or clock.now().date(),
                   None if clear_ends_on else (ends_on or group.ends_on))
        replan = True
    if schedule is not None:
        _set_schedule(group, schedule)
        replan = True
    audit.record(admin, "update", "group", group.id)
    db.session.flush()
    if replan:
        occurrences.replan(group, clock.now())
    db.session.commit()
    return group


def archive_group(admin: User, group: Group) -> Group:
    """The group ends: its sessions still to come are cancelled (members see why); the past
    stays in the record."""
    if group.archived_at is not None:
        return group
    now = clock.now()
    group.archived_at = now
    for session in db.session.scalars(select(Session).where(
            Session.group_id == group.id, Session.starts_at > now,
            Session.cancelled_at.is_(None))):
        session.cancelled_at = now
        session.cancel_reason = "This group has ended."
    # No phase puts clients in it any more; its members stay until it is over.
    db.session.execute(delete(PhaseGroup).where(PhaseGroup.group_id == group.id)
                       .execution_options(synchronize_session=False))
    audit.record(admin, "archive", "group", group.id)
    db.session.commit()
    return group


def add_member(admin: User, group: Group, user_id: int,
               retry: Retry | None = None) -> GroupMember:
    """A client (enrolled in the group's program), a peer supporter or a co-facilitating
    counselor of the clinic joins the group; adding someone already in it changes nothing.
    A retried request's answer is the group's (what the view returns)."""
    if group.archived_at is not None:
        raise GroupError(409, "group_id", "That group is archived; it takes no new members.")
    person = db.session.get(User, user_id)
    if person is None or person.clinic_id != admin.clinic_id or person.role not in MEMBER_ROLES:
        raise GroupError(422, "user_id", "No such client, peer supporter or counselor in "
                         "your clinic.")
    if not person.active:
        raise GroupError(422, "user_id", f"{person.display_name}'s account is deactivated.")
    if person.role == Role.CLIENT and _active_enrollment(person.id, group.program_id) is None:
        raise GroupError(409, "user_id", f"{person.display_name} is not enrolled in "
                         f"{group.program.name}: enroll them first.")
    if person.id == group.counselor_id:
        raise GroupError(409, "user_id", f"{person.display_name} already leads this group.")
    member = db.session.scalar(select(GroupMember).where(
        GroupMember.group_id == group.id, GroupMember.user_id == person.id))
    if member is None:
        member = GroupMember(group_id=group.id, user_id=person.id, role=MEMBER_ROLES[person.role])
        db.session.add(member)
        db.session.flush()
        subject_id = person.id if person.role == Role.CLIENT else None
        audit.record(admin, "create", "group_member", member.id, subject_id=subject_id)
        keep(retry, group, "group_member", member.id, subject_id=subject_id)
        db.session.commit()
    return member


def remove_member(admin: User, group: Group, user_id: int) -> None:
    """Out of the group from now: out of its rooms at once, off its future sessions."""
    member = db.session.scalar(select(GroupMember).where(
        GroupMember.group_id == group.id, GroupMember.user_id == user_id))
    if member is None:
        raise GroupError(404, "user_id", "That person is not a member of this group.")
    client = member.role == GroupRole.CLIENT
    db.session.delete(member)
    audit.record(admin, "delete", "group_member", member.id,
                 subject_id=user_id if client else None)
    db.session.commit()
    signals.room_access_changed.send(user_id)


def _active_enrollment(client_id: int, program_id: int) -> Enrollment | None:
    return db.session.scalar(select(Enrollment).where(
        Enrollment.client_id == client_id, Enrollment.program_id == program_id,
        Enrollment.end_date.is_(None)))


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise GroupError(422, "name", "Give the group a name.")
    return name


def _set_dates(group: Group, starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise GroupError(422, "ends_on", "The last day is before the first day.")
    group.starts_on, group.ends_on = starts_on, ends_on


def _staff(admin: User, user_id: int, role: Role, field: str) -> User:
    person = db.session.get(User, user_id)
    if person is None or person.clinic_id != admin.clinic_id or person.role != role \
            or not person.active:
        what = "counselor" if role == Role.COUNSELOR else "peer supporter"
        raise GroupError(422, field, f"No such {what} in your clinic.")
    return person


def _set_facilitators(admin: User, group: Group, co_facilitator_ids: list[int] | None,
                      peer_supporter_ids: list[int] | None) -> None:
    """Replace the co-facilitating counselors and/or the peer supporters given."""
    for ids, role, field in ((co_facilitator_ids, Role.COUNSELOR, "co_facilitator_ids"),
                             (peer_supporter_ids, Role.PEER_SUPPORTER, "peer_supporter_ids")):
        if ids is None:
            continue
        wanted = {_staff(admin, i, role, field).id for i in ids} - {group.counselor_id}
        as_role = MEMBER_ROLES[role]
        current = {m.user_id: m for m in group.members if m.role == as_role}
        for user_id, member in current.items():
            if user_id not in wanted:
                db.session.delete(member)
        for user_id in wanted - set(current):
            db.session.add(GroupMember(group_id=group.id, user_id=user_id, role=as_role))
    db.session.flush()
    db.session.expire(group, ["members"])


def _set_schedule(group: Group, slots: list[Slot]) -> None:
    if not slots:
        raise GroupError(422, "schedule", "Give the group at least one weekly time.")
    seen = set()
    for i, slot in enumerate(slots):
        if not 15 <= slot.duration_minutes <= MAX_MINUTES:
            raise GroupError(422, f"schedule.{i}.duration_minutes",
                             "A session lasts from 15 minutes to 8 hours.")
        if (slot.weekday, slot.start) in seen:
            raise GroupError(422, f"schedule.{i}", "That day and time is listed twice.")
        seen.add((slot.weekday, slot.start))
    for old in list(group.schedule):
        db.session.delete(old)
    db.session.flush()
    for slot in slots:
        db.session.add(GroupSchedule(group_id=group.id, weekday=slot.weekday,
                                     start_time=slot.start,
                                     duration_minutes=slot.duration_minutes))
    db.session.flush()
    db.session.expire(group, ["schedule"])
