"""The days a program bills, from signed notes only: one row per client and day of service.

HCPCS H0015 (an alcohol and/or drug intensive outpatient day) is billed per day of at least
three hours; a day short of the code's minimum is listed apart with the reason, never billed.
Place of service follows the modality and where the client was (CMS: 02 telehealth other than
in the client's home, 10 telehealth in the home, 11 office); the modifier per modality is the
program's payer configuration (95 audio-video, 93 audio-only by default), not code.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from companion.accounts.models import User
from companion.clinic.models import Program, Session
from companion.core import audit
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.core.spreadsheet_csv import csv_text
from companion.notes.models import (
    Attendance,
    ClientLocation,
    ClinicalNote,
    NoteModality,
    NoteParticipant,
)
from companion.notes.schemas import PayerSettings

MAX_RANGE_DAYS = 366
CSV_HEADER = ["date", "client_id", "client_name", "birth_date", "service_code", "minutes",
              "modality", "place_of_service", "modifier", "signed_by", "note_id"]
# On a day of several modalities, the one of most minutes names the claim; ties in this order.
MODALITY_ORDER = [NoteModality.IN_PERSON, NoteModality.VIDEO, NoteModality.AUDIO_ONLY,
                  NoteModality.PHONE]


class BillingError(ServiceError):
    """Refused by billing (companion.core.errors.ServiceError)."""


def payer_settings(program: Program) -> PayerSettings:
    """The program's payer settings, defaults where it chose nothing."""
    return PayerSettings.model_validate(program.payer_settings or {})


def place_of_service(modality: NoteModality, location: ClientLocation | None) -> str:
    if modality == NoteModality.IN_PERSON:
        return "11"
    return "10" if location == ClientLocation.HOME else "02"


@dataclass
class _Part:
    minutes: int
    modality: NoteModality
    location: ClientLocation | None


@dataclass
class _ClientDay:
    client: User
    day: date
    signed: list[_Part] = field(default_factory=list)
    signers: set[str] = field(default_factory=set)
    note_ids: set[str] = field(default_factory=set)
    pending_minutes: int = 0
    pending_note_ids: set[str] = field(default_factory=set)

    @property
    def minutes(self) -> int:
        return sum(p.minutes for p in self.signed)


@dataclass
class BilledDay:
    day: date
    client: User
    minutes: int
    modality: NoteModality
    place_of_service: str
    modifier: str
    signed_by: list[str]
    note_ids: list[str]


@dataclass
class UnbilledDay:
    day: date
    client: User
    minutes: int
    reason: str
    detail: str
    note_ids: list[str]


@dataclass
class Days:
    program: Program
    first: date
    last: date
    settings: PayerSettings
    billable: list[BilledDay]
    not_billed: list[UnbilledDay]


def check_range(first: date, last: date) -> None:
    if last < first:
        raise BillingError(422, "to", "The last day comes on or after the first.")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise BillingError(422, "to", f"At most {MAX_RANGE_DAYS} days at a time.")


def billing_days(program: Program, first: date, last: date) -> Days:
    """Per client and day of service (the session's start in the program's zone): the minutes
    of signed notes, billed when they reach the code's minimum, else listed apart."""
    check_range(first, last)
    settings = payer_settings(program)
    zone = ZoneInfo(program.timezone)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    rows = db.session.execute(
        select(NoteParticipant, ClinicalNote, Session)
        .join(ClinicalNote, ClinicalNote.id == NoteParticipant.note_id)
        .join(Session, Session.id == ClinicalNote.session_id)
        .where(Session.program_id == program.id, Session.starts_at >= start,
               Session.starts_at < end, NoteParticipant.attendance != Attendance.ABSENT)
    ).all()
    people = _users({p.client_id for p, _, _ in rows} | {n.signed_by_id for _, n, _ in rows
                                                        if n.signed_by_id is not None})
    days: dict[tuple[int, date], _ClientDay] = {}
    for participant, note, session in rows:
        day = session.starts_at.astimezone(zone).date()
        entry = days.setdefault((participant.client_id, day),
                                _ClientDay(people[participant.client_id], day))
        if note.signed_at is None:
            entry.pending_minutes += participant.minutes
            entry.pending_note_ids.add(note.id)
        elif participant.modality is not None:
            entry.signed.append(_Part(participant.minutes, participant.modality,
                                      participant.location))
            assert note.signed_by_id is not None  # set with signed_at
            entry.signers.add(people[note.signed_by_id].display_name)
            entry.note_ids.add(note.id)
    billable, not_billed = [], []
    for entry in sorted(days.values(), key=lambda e: (e.day, e.client.display_name.lower(),
                                                      e.client.id)):
        if entry.signed and entry.minutes >= settings.minimum_minutes:
            billable.append(_billed(entry, settings))
        else:
            not_billed.append(_unbilled(entry, settings))
    return Days(program, first, last, settings, billable, not_billed)


def _users(ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _billed(entry: _ClientDay, settings: PayerSettings) -> BilledDay:
    by_modality: dict[NoteModality, int] = defaultdict(int)
    for part in entry.signed:
        by_modality[part.modality] += part.minutes
    modality = max(MODALITY_ORDER,
                   key=lambda m: (by_modality.get(m, 0), -MODALITY_ORDER.index(m)))
    # Where the client was for that modality's longest stretch.
    location = max((p for p in entry.signed if p.modality == modality),
                   key=lambda p: p.minutes).location
    return BilledDay(entry.day, entry.client, entry.minutes, modality,
                     place_of_service(modality, location),
                     getattr(settings.modifiers, modality.value), sorted(entry.signers),
                     sorted(entry.note_ids))


def _unbilled(entry: _ClientDay, settings: PayerSettings) -> UnbilledDay:
    minimum = settings.minimum_minutes
    if entry.pending_minutes:
        detail = (f"A note of {entry.pending_minutes} minutes is not signed yet; signed "
                  f"notes hold {entry.minutes} of the {minimum} minutes "
                  f"{settings.service_code} needs.")
        return UnbilledDay(entry.day, entry.client, entry.minutes, "note_not_signed", detail,
                           sorted(entry.note_ids | entry.pending_note_ids))
    detail = (f"{entry.minutes} minutes, under the {minimum} minutes {settings.service_code} "
              "needs: not billed under it.")
    return UnbilledDay(entry.day, entry.client, entry.minutes, "short_day", detail,
                       sorted(entry.note_ids))


def _client_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "display_name": user.display_name,
            "birth_date": user.birth_date.isoformat() if user.birth_date else None}


def days_json(days: Days) -> dict[str, Any]:
    return {
        "program_id": days.program.id, "from": days.first.isoformat(),
        "to": days.last.isoformat(), "service_code": days.settings.service_code,
        "minimum_minutes": days.settings.minimum_minutes,
        "billable": [
            {"date": d.day.isoformat(), "client": _client_json(d.client),
             "service_code": days.settings.service_code, "minutes": d.minutes,
             "modality": d.modality.value, "place_of_service": d.place_of_service,
             "modifier": d.modifier, "signed_by": d.signed_by, "note_ids": d.note_ids}
            for d in days.billable
        ],
        "not_billed": [
            {"date": d.day.isoformat(), "client": _client_json(d.client), "minutes": d.minutes,
             "reason": d.reason, "detail": d.detail, "note_ids": d.note_ids}
            for d in days.not_billed
        ],
    }


def days_csv(days: Days) -> str:
    """The biller's file: billable days only, every cell safe to open in a spreadsheet."""
    return csv_text(CSV_HEADER, [
        [d.day.isoformat(), d.client.id, d.client.display_name,
         d.client.birth_date.isoformat() if d.client.birth_date else "",
         days.settings.service_code, d.minutes, d.modality.value, d.place_of_service,
         d.modifier, "; ".join(d.signed_by), "; ".join(d.note_ids)]
        for d in days.billable
    ])


def update_settings(admin: User, program: Program, note_format: str | None,
                    payer: PayerSettings | None) -> Program:
    """Set the program's note format (for notes started from now on) and payer settings."""
    if note_format is not None:
        program.note_format = note_format
    if payer is not None:
        program.payer_settings = payer.model_dump()
    audit.record(admin, "update", "note_settings", program.id)
    db.session.commit()
    return program


def settings_json(program: Program) -> dict[str, Any]:
    return {"program_id": program.id, "note_format": program.note_format,
            "payer": payer_settings(program).model_dump()}
