"""Clinical notes: the facilitating counselor writes, signs and adds to a session's note; the
client's treating counselors read their part; the clinic's admin reads notes and exports the
billing days (docs/notes.md)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from sqlalchemy import select

from companion.clinic import policy
from companion.clinic.guards import NOT_FOUND, audit_access, authorize, me
from companion.clinic.models import Program, Session
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import page
from companion.core.problems import ApiProblem, Problem
from companion.core.spec import registry
from companion.notes import billing
from companion.notes import services as notes
from companion.notes.models import ClinicalNote, NoteParticipant
from companion.notes.schemas import (
    AddendumBody,
    BillingDays,
    BillingQuery,
    ChartPage,
    ClientNotesQuery,
    NoteBody,
    NoteList,
    NoteOut,
    NotePatch,
    NotePrefill,
    NoteSettings,
    NoteSettingsBody,
)


def _session(session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None:
        raise ApiProblem(404, "Not found", NOT_FOUND)
    return session


def _writable_session(session_id: int) -> Session:
    """A session whose note the caller writes: 404 unless they may read it, 403 (an admin)
    unless they facilitate it."""
    session = _session(session_id)
    authorize(policy.Action.READ_NOTE, session, hide=True)
    authorize(policy.Action.WRITE_NOTE, session)
    return session


def _note(note_id: str, *, write: bool = False) -> ClinicalNote:
    try:
        key = str(uuid.UUID(note_id))
    except ValueError:
        raise ApiProblem(404, "Not found", NOT_FOUND) from None
    note = db.session.get(ClinicalNote, key)
    if note is None:
        raise ApiProblem(404, "Not found", NOT_FOUND)
    session = _session(note.session_id)
    authorize(policy.Action.READ_NOTE, session, hide=True)
    if write:
        authorize(policy.Action.WRITE_NOTE, session)
    return note


def _read(note: ClinicalNote) -> dict[str, Any]:
    audit_access("read", "clinical_note", note.id)
    return notes.note_json(note)


@registry.route(api, "/sessions/<int:session_id>/notes", "GET", tag="notes",
                summary="The session's note, if one was started (its counselors, admin)",
                responses={200: NoteList, 404: Problem})
def session_notes(session_id: int) -> dict[str, Any]:
    session = _session(session_id)
    authorize(policy.Action.READ_NOTE, session, hide=True)
    note = notes.note_of_session(session)
    if note is None:
        return {"items": []}
    return {"items": [_read(note)]}


@registry.route(api, "/sessions/<int:session_id>/notes/prefill", "GET", tag="notes",
                summary="The note form: the program's format and each client with the minutes "
                        "and modality the server saw",
                responses={200: NotePrefill, 403: Problem, 404: Problem})
def note_prefill(session_id: int) -> dict[str, Any]:
    session = _writable_session(session_id)
    audit_access("read", "attendance", session.id)
    return notes.prefill_json(session)


@registry.route(api, "/sessions/<int:session_id>/notes", "POST", tag="notes", body=NoteBody,
                summary="Start the session's note, a draft (its facilitating counselor; "
                        "idempotent by id)",
                responses={201: NoteOut, 200: NoteOut, 403: Problem, 404: Problem,
                           409: Problem})
def create_note(session_id: int, body: NoteBody) -> tuple[dict[str, Any], int]:
    session = _writable_session(session_id)
    stored = notes.create(me(), session, body)
    return notes.note_json(stored.note), 201 if stored.created else 200


@registry.route(api, "/notes/<note_id>", "GET", tag="notes",
                summary="A note (the session's counselors, the clinic's admin)",
                responses={200: NoteOut, 404: Problem})
def get_note(note_id: str) -> dict[str, Any]:
    return _read(_note(note_id))


@registry.route(api, "/notes/<note_id>", "PATCH", tag="notes", body=NotePatch,
                summary="Change a draft (a signed note is final: 409)",
                responses={200: NoteOut, 403: Problem, 404: Problem, 409: Problem})
def patch_note(note_id: str, body: NotePatch) -> dict[str, Any]:
    note = notes.update(me(), _note(note_id, write=True), body)
    return notes.note_json(note)


@registry.route(api, "/notes/<note_id>/sign", "POST", tag="notes",
                summary="Sign the note: final from now on, and the session's attendance "
                        "attested",
                responses={200: NoteOut, 403: Problem, 404: Problem, 409: Problem})
def sign_note(note_id: str) -> dict[str, Any]:
    note = notes.sign(me(), _note(note_id, write=True))
    return notes.note_json(note)


@registry.route(api, "/notes/<note_id>/addenda", "POST", tag="notes", body=AddendumBody,
                summary="Add a dated addendum to a signed note (idempotent by id)",
                responses={201: NoteOut, 200: NoteOut, 403: Problem, 404: Problem,
                           409: Problem})
def add_addendum(note_id: str, body: AddendumBody) -> tuple[dict[str, Any], int]:
    note = _note(note_id, write=True)
    stored = notes.add_addendum(me(), note, body)
    return notes.note_json(note), 201 if stored.created else 200


@registry.route(api, "/clients/<int:client_id>/notes", "GET", tag="notes",
                query=ClientNotesQuery,
                summary="A client's chart: each note's shared part and theirs, newest first "
                        "(counselors treating them)",
                responses={200: ChartPage, 404: Problem})
def client_notes(client_id: int, query: ClientNotesQuery) -> dict[str, Any]:
    authorize(policy.Action.READ_CLIENT_NOTES, client_id, hide=True)
    stmt = (select(NoteParticipant).join(ClinicalNote, ClinicalNote.id == NoteParticipant.note_id)
            .join(Session, Session.id == ClinicalNote.session_id)
            .where(NoteParticipant.client_id == client_id))
    if query.signed_only:
        stmt = stmt.where(ClinicalNote.signed_at.is_not(None))
    audit_access("read", "clinical_note_list", None, subject_id=client_id)
    facilitated: dict[int, bool] = {}

    def render(participant: NoteParticipant) -> dict[str, Any]:
        session_id = participant.note.session_id
        if session_id not in facilitated:
            facilitated[session_id] = policy.can(me(), policy.Action.WRITE_NOTE,
                                                 _session(session_id))
        return notes.chart_json(participant, facilitated[session_id])

    return page(stmt.order_by(Session.starts_at.desc(), NoteParticipant.id), query, render)


def _program(program_id: int) -> Program:
    program = db.session.get(Program, program_id)
    if program is None or program.clinic_id != me().clinic_id:
        raise ApiProblem(404, "Not found", "No such program.",
                         [{"field": "program_id", "message": "no such program"}])
    authorize(policy.Action.MANAGE_BILLING, program)
    return program


def _days(query: BillingQuery) -> billing.Days:
    program = _program(query.program_id)
    days = billing.billing_days(program, query.from_, query.to)
    audit_access("read", "billing_days",
                 f"{program.id}:{query.from_.isoformat()}:{query.to.isoformat()}")
    return days


@registry.route(api, "/billing/days", "GET", tag="billing", query=BillingQuery,
                summary="A program's days of service from signed notes: those it bills, and "
                        "those listed apart with the reason (the clinic's admin)",
                responses={200: BillingDays, 403: Problem, 404: Problem})
def billing_days(query: BillingQuery) -> dict[str, Any]:
    return billing.days_json(_days(query))


@registry.route(api, "/billing/days.csv", "GET", tag="billing", query=BillingQuery,
                summary="The billable days as CSV for the biller: one row per client and day",
                content_type="text/csv", responses={200: None, 403: Problem, 404: Problem})
def billing_days_csv(query: BillingQuery) -> Response:
    days = _days(query)
    filename = f"billing-{days.program.id}-{days.first.isoformat()}-{days.last.isoformat()}.csv"
    return Response(billing.days_csv(days), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@registry.route(api, "/programs/<int:program_id>/note-settings", "GET", tag="billing",
                summary="A program's note format and payer settings (the clinic's admin)",
                responses={200: NoteSettings, 403: Problem, 404: Problem})
def note_settings(program_id: int) -> dict[str, Any]:
    return billing.settings_json(_program(program_id))


@registry.route(api, "/programs/<int:program_id>/note-settings", "PUT", tag="billing",
                body=NoteSettingsBody,
                summary="Set a program's note format and payer settings (the clinic's admin)",
                responses={200: NoteSettings, 403: Problem, 404: Problem})
def put_note_settings(program_id: int, body: NoteSettingsBody) -> dict[str, Any]:
    program = billing.update_settings(me(), _program(program_id), body.note_format, body.payer)
    return billing.settings_json(program)
