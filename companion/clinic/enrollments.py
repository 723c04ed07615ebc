"""A client's place in a program: admission (with their primary counselor, phase and start
date), dated phase changes (step-down, step-up), and discharge. The caseload, alert routing and
dashboards follow from these rows at once (companion/clinic/treatment.py reads them)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from companion.accounts.models import Role, User
from companion.clinic.models import (
    DischargeReason,
    Enrollment,
    Group,
    GroupMember,
    GroupRole,
    Phase,
    PhaseChange,
    Program,
    Session,
)
from companion.clinic.programs import default_weekly_hours
from companion.clinic.retries import Retry, keep
from companion.core import audit, clock, signals
from companion.core.errors import ServiceError
from companion.core.extensions import db


class EnrollmentError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def enrollment_of_clinic(admin: User, enrollment_id: int) -> Enrollment:
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.program.clinic_id != admin.clinic_id:
        raise EnrollmentError(404, "enrollment_id", "No such enrollment in your clinic.")
    return enrollment


def enroll(admin: User, program: Program, *, client_id: int, primary_counselor_id: int,
           start_date: date, phase_id: int | None = None, birth_date: date | None = None,
           retry: Retry | None = None) -> Enrollment:
    """Admit a client to a program, recording their date of birth if given. A client already
    enrolled there keeps that enrollment (409): a second admission is a discharge and a new
    one."""
    client = db.session.get(User, client_id)
    if client is None or client.clinic_id != admin.clinic_id or client.role != Role.CLIENT:
        raise EnrollmentError(422, "client_id", "No such client in your clinic.")
    counselor = _counselor(admin, primary_counselor_id)
    phase = _phase(program, phase_id) if phase_id is not None else (
        program.phases[0] if program.phases else None)
    current = db.session.scalar(select(Enrollment).where(
        Enrollment.client_id == client.id, Enrollment.end_date.is_(None)))
    if current is not None:
        if current.program_id == program.id:
            raise EnrollmentError(409, "client_id", f"{client.display_name} is already "
                                  f"enrolled in {program.name}.")
        raise EnrollmentError(409, "client_id", f"{client.display_name} is enrolled in "
                              f"{current.program.name}: discharge or transfer them first.")
    target = phase.weekly_hours_target if phase else default_weekly_hours(
        program.level_of_care, program.adolescent)
    enrollment = Enrollment(client_id=client.id, program_id=program.id,
                            phase_id=phase.id if phase else None,
                            primary_counselor_id=counselor.id, start_date=start_date,
                            adolescent=program.adolescent, weekly_hours_target=target)
    db.session.add(enrollment)
    db.session.flush()
    if phase is not None:
        db.session.add(PhaseChange(enrollment_id=enrollment.id, phase_id=phase.id,
                                   effective_on=start_date, weekly_hours_target=target,
                                   changed_by_id=admin.id))
    client.timezone = program.timezone
    audit.record(admin, "create", "enrollment", enrollment.id, subject_id=client.id)
    if birth_date is not None:
        _record_birth_date(admin, client, birth_date)
    move_phase_groups(admin, client.id, None, phase)
    keep(retry, enrollment, "enrollment", enrollment.id, subject_id=client.id)
    db.session.commit()
    signals.client_enrolled.send(enrollment.id, by_id=admin.id)
    return enrollment


def set_birth_date(actor: User, client: User, birth_date: date | None) -> User:
    """The client's date of birth, as claims name it (companion/notes/billing.py); None
    erases a wrong one. The views authorise (policy.SET_BIRTH_DATE)."""
    _record_birth_date(actor, client, birth_date)
    db.session.commit()
    return client


def _record_birth_date(actor: User, client: User, birth_date: date | None) -> None:
    if birth_date is not None and birth_date > latest_today_anywhere():
        raise EnrollmentError(422, "birth_date", "That date of birth is in the future: check "
                              "the year.")
    if client.birth_date == birth_date:
        return  # sent again: nothing changes, nothing to audit
    client.birth_date = birth_date
    audit.record(actor, "update", "birth_date", client.id, subject_id=client.id)


def set_primary_counselor(admin: User, enrollment: Enrollment, counselor_id: int) -> Enrollment:
    _open(enrollment)
    enrollment.primary_counselor_id = _counselor(admin, counselor_id).id
    audit.record(admin, "update", "enrollment", enrollment.id,
                 subject_id=enrollment.client_id)
    db.session.commit()
    return enrollment


def change_phase(actor: User, enrollment: Enrollment, phase_id: int,
                 effective_on: date, retry: Retry | None = None) -> Enrollment:
    """Step-down or step-up, dated: the weekly hours target follows the phase, and the client
    leaves the groups only the old phase names and joins the new phase's, from now. A change
    takes effect when it is recorded, so it is dated today or earlier: nothing here would
    carry out a change dated ahead (record it on its day)."""
    _open(enrollment)
    phase = _phase(enrollment.program, phase_id)
    if effective_on < enrollment.start_date:
        raise EnrollmentError(422, "effective_on", "That day is before the client's admission.")
    if effective_on > latest_today(enrollment.program):
        raise EnrollmentError(422, "effective_on", "That day is still to come: record a phase "
                              "change on or after its day, since it takes effect at once.")
    last = enrollment.phase_changes[-1] if enrollment.phase_changes else None
    if last is not None and effective_on < last.effective_on:
        raise EnrollmentError(422, "effective_on", "That day is before the client's last "
                              f"phase change ({last.effective_on.isoformat()}).")
    if enrollment.phase_id == phase.id:
        return enrollment  # already there: pressing twice changes nothing
    left = move_phase_groups(actor, enrollment.client_id, enrollment.phase, phase)
    enrollment.phase_id = phase.id
    enrollment.weekly_hours_target = phase.weekly_hours_target
    db.session.add(PhaseChange(enrollment_id=enrollment.id, phase_id=phase.id,
                               effective_on=effective_on,
                               weekly_hours_target=phase.weekly_hours_target,
                               changed_by_id=actor.id))
    audit.record(actor, "update", "enrollment", enrollment.id,
                 subject_id=enrollment.client_id)
    keep(retry, enrollment, "enrollment", enrollment.id, subject_id=enrollment.client_id)
    db.session.commit()
    db.session.expire(enrollment, ["phase_changes"])
    if left:
        signals.room_access_changed.send(enrollment.client_id)
    return enrollment


def latest_today_anywhere() -> date:
    """Today in the time zone furthest ahead (UTC+14): a later day is to come everywhere."""
    return clock.now().astimezone(ZoneInfo("Pacific/Kiritimati")).date()


def latest_today(program: Program) -> date:
    """The latest date that is today somewhere that matters: in the program's zone (where its
    staff date things) or in UTC (the server's dates, as a discharge's check uses). A day after
    this one is still to come for everybody."""
    now = clock.now()
    return max(now.date(), now.astimezone(ZoneInfo(program.timezone)).date())


def move_phase_groups(actor: User, client_id: int, old: Phase | None,
                      new: Phase | None) -> bool:
    """The client leaves the groups the old phase names and the new one does not, and joins
    the new phase's groups they are not in yet (archived ones name no phase). Groups they were
    put in by hand, and groups both phases name, stay. Returns whether they left any, so the
    caller tells the rooms after its commit. Audited, in the caller's transaction."""
    keep = set(new.group_ids) if new is not None else set()
    leaving = (set(old.group_ids) if old is not None else set()) - keep
    left = False
    if leaving:
        for member in db.session.scalars(select(GroupMember).where(
                GroupMember.user_id == client_id, GroupMember.role == GroupRole.CLIENT,
                GroupMember.group_id.in_(leaving))):
            db.session.delete(member)
            audit.record(actor, "delete", "group_member", member.id, subject_id=client_id)
            left = True
    if keep:
        already = set(db.session.scalars(select(GroupMember.group_id).where(
            GroupMember.user_id == client_id, GroupMember.group_id.in_(keep))))
        for group in db.session.scalars(select(Group).where(
                Group.id.in_(keep - already), Group.archived_at.is_(None)).order_by(Group.id)):
            member = GroupMember(group_id=group.id, user_id=client_id, role=GroupRole.CLIENT)
            db.session.add(member)
            db.session.flush()
            audit.record(actor, "create", "group_member", member.id, subject_id=client_id)
    return left


def discharge(admin: User, enrollment: Enrollment, *, discharged_on: date,
              reason: DischargeReason, summary: str,
              retry: Retry | None = None) -> Enrollment:
    """Dated, with a TEDS reason and a summary for the chart. From then the client is in no
    group of the program and no room (live sockets leave at once), their 1:1s still to come are
    cancelled, and they are off the caseload; their own self-care, safety plan, meetings,
    crisis help and record stay theirs."""
    if enrollment.end_date is not None:
        if (enrollment.end_date, enrollment.discharge_reason) == (discharged_on, reason):
            return enrollment  # the same discharge sent twice
        raise EnrollmentError(409, "enrollment_id", "That client was already discharged on "
                              f"{enrollment.end_date.isoformat()}.")
    if discharged_on < enrollment.start_date:
        raise EnrollmentError(422, "discharged_on", "The discharge date is before the "
                              f"admission ({enrollment.start_date.isoformat()}).")
    if discharged_on > clock.now().date():
        raise EnrollmentError(422, "discharged_on", "A discharge is recorded on or after its "
                              "day, not ahead of it.")
    summary = summary.strip()
    if not summary:
        raise EnrollmentError(422, "summary", "Write the discharge summary: it goes into the "
                              "client's chart.")
    enrollment.end_date = discharged_on
    enrollment.discharge_reason = reason
    enrollment.discharge_summary = summary
    client_id = enrollment.client_id
    program_groups = select(Group.id).where(Group.program_id == enrollment.program_id)
    db.session.execute(delete(GroupMember).where(
        GroupMember.user_id == client_id, GroupMember.role == GroupRole.CLIENT,
        GroupMember.group_id.in_(program_groups)).execution_options(synchronize_session=False))
    now = clock.now()
    for session in db.session.scalars(select(Session).where(
            Session.client_id == client_id, Session.starts_at > now,
            Session.cancelled_at.is_(None))):
        session.cancelled_at = now
        session.cancel_reason = "The client was discharged from the program."
    audit.record(admin, "discharge", "enrollment", enrollment.id, subject_id=client_id)
    keep(retry, enrollment, "enrollment", enrollment.id, subject_id=client_id)
    db.session.commit()
    signals.room_access_changed.send(client_id)
    return enrollment


def _open(enrollment: Enrollment) -> None:
    if enrollment.end_date is not None:
        raise EnrollmentError(409, "enrollment_id", "That client was discharged; their "
                              "enrollment no longer changes.")


def _counselor(admin: User, user_id: int) -> User:
    person = db.session.get(User, user_id)
    if person is None or person.clinic_id != admin.clinic_id or person.role != Role.COUNSELOR \
            or not person.active:
        raise EnrollmentError(422, "primary_counselor_id", "No such counselor in your clinic.")
    return person


def _phase(program: Program, phase_id: int) -> Phase:
    phase = db.session.get(Phase, phase_id)
    if phase is None or phase.program_id != program.id:
        raise EnrollmentError(422, "phase_id", f"No such phase in {program.name}.")
    return phase
