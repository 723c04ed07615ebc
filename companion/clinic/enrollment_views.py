"""Admissions, phase changes and discharges: the clinic's admin enrolls a client with their
primary counselor; the admin or a counselor who treats the client moves them between phases
and discharges them."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import select

from companion.accounts.models import Role, User
from companion.clinic import enrollments as service
from companion.clinic import policy, retries
from companion.clinic.guards import authorize, me
from companion.clinic.models import Enrollment, Program
from companion.clinic.programs import program_of_clinic
from companion.clinic.schemas import (
    BirthDateBody,
    BirthDateOut,
    DischargeBody,
    EnrollmentBody,
    EnrollmentOut,
    EnrollmentPage,
    EnrollmentPatch,
    PersonOut,
    PhaseChangeBody,
    PhaseChangeOut,
    PhaseOut,
)
from companion.clinic.treatment import is_treating
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import ApiProblem, Problem
from companion.core.schemas import RecordId
from companion.core.spec import registry


def enrollment_json(e: Enrollment) -> dict[str, Any]:
    counselor = db.session.get(User, e.primary_counselor_id) if e.primary_counselor_id else None
    return EnrollmentOut(
        id=e.id, client=PersonOut.model_validate(e.client), birth_date=e.client.birth_date,
        program_id=e.program_id,
        primary_counselor=PersonOut.model_validate(counselor) if counselor else None,
        phase=PhaseOut.model_validate(e.phase) if e.phase else None, start_date=e.start_date,
        weekly_hours_target=e.weekly_hours_target, active=e.active, discharged_on=e.end_date,
        discharge_reason=e.discharge_reason, discharge_summary=e.discharge_summary,
        phase_history=[PhaseChangeOut.model_validate(c) for c in e.phase_changes],
    ).model_dump(mode="json")


def _changeable(enrollment_id: int) -> Enrollment:
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None or not policy.can(me(), policy.Action.CHANGE_ENROLLMENT, enrollment):
        raise ApiProblem(404, "Not found", "No such enrollment, or not one you may change.")
    return enrollment


class EnrollmentQuery(PageQuery):
    program_id: RecordId | None = None
    client_id: RecordId | None = None
    active: bool | None = Field(None, description="true: current only; false: discharged only")


@registry.route(api, "/enrollments", "GET", tag="enrollments", query=EnrollmentQuery,
                summary="Enrollments of my clinic (admin), or of clients I treat (counselor)",
                responses={200: EnrollmentPage, 403: Problem})
def list_enrollments(query: EnrollmentQuery) -> dict[str, Any]:
    user = me()
    if user.role not in (Role.ADMIN, Role.COUNSELOR):
        raise ApiProblem(403, "Not allowed", "Your role does not allow this.")
    stmt = (select(Enrollment).join(Program, Program.id == Enrollment.program_id)
            .where(Program.clinic_id == user.clinic_id)
            .order_by(Enrollment.start_date.desc(), Enrollment.id.desc()))
    if query.program_id is not None:
        stmt = stmt.where(Enrollment.program_id == query.program_id)
    if query.client_id is not None:
        if user.role == Role.COUNSELOR and not is_treating(user, query.client_id):
            raise ApiProblem(403, "Not allowed", "That client is not one you treat.")
        stmt = stmt.where(Enrollment.client_id == query.client_id)
    elif user.role == Role.COUNSELOR:
        stmt = stmt.where(Enrollment.primary_counselor_id == user.id)
    if query.active is not None:
        stmt = stmt.where(Enrollment.end_date.is_(None) if query.active
                          else Enrollment.end_date.is_not(None))
    return page(stmt, query, enrollment_json)


@registry.route(api, "/enrollments", "POST", tag="enrollments", body=EnrollmentBody,
                summary="Admit a client to a program with their primary counselor (admin)",
                responses={201: EnrollmentOut, 403: Problem, 404: Problem, 409: Problem})
def create_enrollment(body: EnrollmentBody) -> tuple[dict[str, Any], int]:
    program = program_of_clinic(me(), body.program_id)
    authorize(policy.Action.MANAGE_PROGRAM, program)
    retry = retries.asked(me(), body, "enroll", 201, enrollment_json)
    return retries.once(retry, lambda: service.enroll(
        me(), program, client_id=body.client_id, primary_counselor_id=body.primary_counselor_id,
        start_date=body.start_date, phase_id=body.phase_id, birth_date=body.birth_date,
        retry=retry))


@registry.route(api, "/enrollments/<int:enrollment_id>", "PATCH", tag="enrollments",
                body=EnrollmentPatch, summary="Name another primary counselor (admin)",
                responses={200: EnrollmentOut, 403: Problem, 404: Problem, 409: Problem})
def update_enrollment(enrollment_id: int, body: EnrollmentPatch) -> dict[str, Any]:
    enrollment = _changeable(enrollment_id)
    authorize(policy.Action.MANAGE_PROGRAM, enrollment.program)
    return enrollment_json(service.set_primary_counselor(
        me(), enrollment, body.primary_counselor_id))


@registry.route(api, "/enrollments/<int:enrollment_id>/phase", "POST", tag="enrollments",
                body=PhaseChangeBody, summary="Move a client to another phase, from a date",
                responses={200: EnrollmentOut, 404: Problem, 409: Problem})
def change_phase(enrollment_id: int, body: PhaseChangeBody) -> tuple[dict[str, Any], int]:
    enrollment = _changeable(enrollment_id)
    retry = retries.asked(me(), body, f"change the phase of enrollment {enrollment.id}", 200,
                          enrollment_json)
    return retries.once(retry, lambda: service.change_phase(
        me(), enrollment, body.phase_id, body.effective_on, retry=retry))


@registry.route(api, "/enrollments/<int:enrollment_id>/discharge", "POST", tag="enrollments",
                body=DischargeBody,
                summary="Discharge a client: dated, with a reason and a summary",
                responses={200: EnrollmentOut, 404: Problem, 409: Problem})
def discharge(enrollment_id: int, body: DischargeBody) -> tuple[dict[str, Any], int]:
    enrollment = _changeable(enrollment_id)
    retry = retries.asked(me(), body, f"discharge enrollment {enrollment.id}", 200,
                          enrollment_json)
    return retries.once(retry, lambda: service.discharge(
        me(), enrollment, discharged_on=body.discharged_on, reason=body.reason,
        summary=body.summary, retry=retry))


@registry.route(api, "/clients/<int:client_id>/birth-date", "PUT", tag="enrollments",
                body=BirthDateBody,
                summary="Record a client's date of birth (admin, or a counselor who treats them)",
                responses={200: BirthDateOut, 403: Problem, 404: Problem})
def set_birth_date(client_id: int, body: BirthDateBody) -> dict[str, Any]:
    if me().role not in (Role.ADMIN, Role.COUNSELOR):
        raise ApiProblem(403, "Not allowed", "Your role does not allow this.")
    client = db.session.get(User, client_id)
    if client is None or not policy.can(me(), policy.Action.SET_BIRTH_DATE, client_id):
        raise ApiProblem(404, "Not found", "No such client, or not one you may change.")
    return BirthDateOut(client_id=client.id, birth_date=service.set_birth_date(
        me(), client, body.birth_date).birth_date).model_dump(mode="json")
