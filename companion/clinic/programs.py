"""A clinic's programs: their zone, level of care, phases (each with its weekly hours target)
and the days they are closed. Written by the clinic's admin only (the views authorise)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from companion.accounts.models import Role, User
from companion.clinic import occurrences
from companion.clinic.models import (
    ADOLESCENT_WEEKLY_HOURS,
    ADULT_WEEKLY_HOURS,
    ClosedDay,
    Group,
    LevelOfCare,
    Phase,
    PhaseGroup,
    Program,
)
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db

# Continuing care (OP) asks for less than an IOP: typically one or two groups a week.
OP_WEEKLY_HOURS = 2


class ProgramError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


@dataclass(frozen=True)
class PhasePlan:
    name: str
    weekly_hours_target: int | None = None
    description: str = ""
    # The groups a client in the phase attends; None keeps a kept phase's (a new one: none).
    group_ids: tuple[int, ...] | None = None


def default_weekly_hours(level: LevelOfCare, adolescent: bool) -> int:
    """ASAM 2.1: adults 9 hours a week, adolescents 6 (docs/domain.md); OP less."""
    if level == LevelOfCare.OP:
        return OP_WEEKLY_HOURS
    return ADOLESCENT_WEEKLY_HOURS if adolescent else ADULT_WEEKLY_HOURS


def program_of_clinic(admin: User, program_id: int) -> Program:
    """The program if it is of the admin's clinic; one 404 otherwise."""
    program = db.session.get(Program, program_id)
    if program is None or program.clinic_id != admin.clinic_id:
        raise ProgramError(404, "program_id", "No such program in your clinic.")
    return program


def create_program(admin: User, *, name: str, timezone: str, level_of_care: LevelOfCare,
                   adolescent: bool = False, phases: list[PhasePlan] | None = None) -> Program:
    program = Program(clinic_id=admin.clinic_id, name=_name(name), timezone=timezone,
                      level_of_care=level_of_care, adolescent=adolescent)
    db.session.add(program)
    db.session.flush()
    _set_phases(program, phases or [PhasePlan("Intensive outpatient")])
    audit.record(admin, "create", "program", program.id)
    db.session.commit()
    return program


def update_program(admin: User, program: Program, *, name: str | None = None,
                   timezone: str | None = None, level_of_care: LevelOfCare | None = None,
                   adolescent: bool | None = None,
                   phases: list[PhasePlan] | None = None, dial_in_enabled: bool | None = None,
                   outbound_calls_allowed: bool | None = None) -> Program:
    """Changes apply from now: a new zone moves future occurrences to the same local times."""
    if dial_in_enabled and not current_app.config.get("SIP_NUMBER"):
        raise ProgramError(409, "dial_in_enabled", "This server has no dial-in number yet: "
                           "whoever runs it sets COMPANION_SIP_NUMBER first (docs/dial-in.md).")
    if dial_in_enabled is not None:
        program.dial_in_enabled = dial_in_enabled
    if outbound_calls_allowed is not None:
        program.outbound_calls_allowed = outbound_calls_allowed
    if name is not None:
        program.name = _name(name)
    if level_of_care is not None:
        program.level_of_care = level_of_care
    if adolescent is not None:
        program.adolescent = adolescent
    if phases is not None:
        _set_phases(program, phases)
    rezoned = timezone is not None and timezone != program.timezone
    if timezone is not None:
        program.timezone = timezone
    audit.record(admin, "update", "program", program.id)
    db.session.flush()
    if rezoned:
        for group in program_groups(program):
            occurrences.replan(group, clock.now())
    db.session.commit()
    return program


def program_groups(program: Program) -> list[Group]:
    return list(db.session.scalars(select(Group).where(
        Group.program_id == program.id, Group.archived_at.is_(None)).order_by(Group.id)))


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ProgramError(422, "name", "Give the program a name.")
    return name


def _set_phases(program: Program, plans: list[PhasePlan]) -> None:
    """Phases in the order given. A phase keeps its row (and the clients in it) when its name
    stays; a phase that clients are in cannot be dropped."""
    if not plans:
        raise ProgramError(422, "phases", "A program has at least one phase.")
    names = [p.name.strip() for p in plans]
    if any(not n for n in names):
        raise ProgramError(422, "phases", "Every phase needs a name.")
    if len(set(names)) != len(names):
        raise ProgramError(422, "phases", "Two phases have the same name.")
    existing = {phase.name: phase for phase in program.phases}
    default = default_weekly_hours(program.level_of_care, program.adolescent)
    kept = []
    for position, (plan, name) in enumerate(zip(plans, names, strict=True)):
        phase = existing.pop(name, None) or Phase(program_id=program.id, name=name)
        phase.position = position
        phase.description = plan.description
        phase.weekly_hours_target = plan.weekly_hours_target or default
        db.session.add(phase)
        if plan.group_ids is not None:
            _set_phase_groups(program, phase, plan.group_ids, f"phases.{position}.group_ids")
        kept.append(phase)
    for dropped in existing.values():
        if _phase_in_use(dropped):
            raise ProgramError(409, "phases", f"Clients are in the phase \"{dropped.name}\": "
                               "move them to another phase before removing it.")
        db.session.delete(dropped)
    db.session.flush()
    db.session.expire(program, ["phases"])


def _set_phase_groups(program: Program, phase: Phase, group_ids: tuple[int, ...],
                      field: str) -> None:
    """The phase names these groups from now on. Clients already in the phase keep the
    groups they are in: naming acts on admissions and phase changes (enrollments.py)."""
    wanted = list(dict.fromkeys(group_ids))
    found = {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_(wanted)))}
    for group_id in wanted:
        group = found.get(group_id)
        if group is None or group.program_id != program.id:
            raise ProgramError(422, field, f"No such group in {program.name}: a phase names "
                               "groups of its own program.")
        if group.archived_at is not None:
            raise ProgramError(422, field, f"The group \"{group.name}\" is archived: it "
                               "takes no new members.")
    for link in list(phase.group_links):
        if link.group_id not in wanted:
            phase.group_links.remove(link)
    named = {link.group_id for link in phase.group_links}
    phase.group_links.extend(PhaseGroup(group_id=g) for g in wanted if g not in named)


def _phase_in_use(phase: Phase) -> bool:
    from companion.clinic.models import Enrollment, PhaseChange

    return db.session.scalar(select(Enrollment.id).where(Enrollment.phase_id == phase.id)
                             .limit(1)) is not None or db.session.scalar(
        select(PhaseChange.id).where(PhaseChange.phase_id == phase.id).limit(1)) is not None


def add_closed_day(admin: User, program: Program, day: date, reason: str) -> ClosedDay:
    """The program is closed that day: its occurrences are cancelled with the reason, and
    none is made for it later."""
    reason = reason.strip()
    if not reason:
        raise ProgramError(422, "reason", "Say why the program is closed (members see it).")
    if day < clock.now().date():
        raise ProgramError(422, "day", "That day is past: closing it would rewrite the record.")
    closed = db.session.scalar(select(ClosedDay).where(ClosedDay.program_id == program.id,
                                                       ClosedDay.day == day))
    if closed is None:
        closed = ClosedDay(program_id=program.id, day=day, reason=reason)
        db.session.add(closed)
    else:
        closed.reason = reason
    db.session.flush()
    audit.record(admin, "create", "closed_day", closed.id)
    occurrences.cancel_closed_day(program, closed)
    db.session.commit()
    return closed


def set_on_call(admin: User, program: Program, user_ids: list[int]) -> list[User]:
    """Who receives the program's escalated alerts: counselors and admins of its clinic."""
    staff = list(db.session.scalars(select(User).where(
        User.id.in_(user_ids), User.clinic_id == admin.clinic_id,
        User.role.in_([Role.COUNSELOR, Role.ADMIN]))))
    if len(staff) != len(set(user_ids)):
        raise ProgramError(422, "user_ids", "Only counselors and admins of this clinic.")
    program.on_call_ids = sorted({u.id for u in staff})
    audit.record(admin, "update", "program_on_call", program.id)
    db.session.commit()
    return staff
