"""Writing a session's clinical note, signing it (which attests the session's attendance) and
adding dated addenda after; the rules of docs/notes.md in one place.

A write is checked whole before anything is stored: a refusal names the field and leaves the
note as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import Role, User
from companion.clinic.models import ROOM_OPENS_BEFORE, Program, Session, SessionKind
from companion.clinic.treatment import session_clients
from companion.core import audit, clock, signals
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.notes.models import (
    AUDIO_ONLY,
    FORMAT_PARTS,
    TELEHEALTH,
    Attendance,
    AudioOnlyReason,
    ClientLocation,
    ClinicalNote,
    NoteAddendum,
    NoteFormat,
    NoteModality,
    NoteParticipant,
)
from companion.notes.schemas import AddendumBody, NoteBody, NotePatch, ParticipantBody
from companion.rooms import attendance
from companion.rooms.models import Modality
from companion.selfcare.services import body_hash

# A note signed this long after the session ended is a late entry, and says so (with its date).
LATE_AFTER = timedelta(hours=72)
# Prefill: arriving this long after the start is late, leaving this long before the end early.
TARDY = timedelta(minutes=10)
# What a participant's own times may span around the session (a hybrid group runs over).
TIMES_SLACK = timedelta(hours=12)

FORMAT_NAMES = {NoteFormat.DAP: "DAP", NoteFormat.BIRP: "BIRP", NoteFormat.SOAP: "SOAP"}
# The room's modality as a note's (chat alone is no billable modality: the counselor says). A
# caller on the phone bills as audio-only (modifier 93 by default) under its own name.
SEEN_MODALITY = {Modality.VIDEO: NoteModality.VIDEO, Modality.AUDIO: NoteModality.AUDIO_ONLY,
                 Modality.PHONE: NoteModality.PHONE}
# Why not video, as the prefill proposes it for the counselor to confirm: someone who called in
# had no video (a phone line carries none); in the app without video, only the counselor knows.
SEEN_REASON = {Modality.PHONE: AudioOnlyReason.NO_VIDEO_CAPABILITY}


class NoteError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


def session_end(session: Session) -> datetime:
    """When the session ended: ended by staff, or its scheduled end (whichever came first)."""
    return min(session.ended_at or session.ends_at, session.ends_at)


def has_ended(session: Session) -> bool:
    return session.state(clock.now()) == "ended"


def program_format(session: Session) -> NoteFormat:
    program = db.session.get(Program, session.program_id)
    return NoteFormat(program.note_format if program is not None else NoteFormat.DAP)


def _length_minutes(session: Session) -> int:
    return int((session.ends_at - session.starts_at).total_seconds() // 60)


def clients_of_session(session: Session) -> dict[int, User]:
    """The clients a note may name: the 1:1's client or the group's client members, and any
    client the server saw in the room (someone who has left the group since)."""
    ids = set(session_clients(session))
    ids |= {row.client.id for row in attendance.session_attendance(session)}
    if not ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(ids), User.role == Role.CLIENT))
    return {u.id: u for u in users}


def note_of_session(session: Session) -> ClinicalNote | None:
    return db.session.scalar(select(ClinicalNote).where(ClinicalNote.session_id == session.id))


# --- the prefill --------------------------------------------------------------------------


@dataclass
class PrefillRow:
    client: User
    attendance: Attendance
    minutes: int
    modality: NoteModality | None
    seen_modality: Modality | None
    started_at: datetime | None
    ended_at: datetime | None
    audio_only_reason: AudioOnlyReason | None = None


def prefill(session: Session) -> list[PrefillRow]:
    """Each client of the session with what the server saw: minutes present (reconnects merged,
    as attendance reports count them), arrival and departure, the modality of most of the time.
    A client never seen is absent; in-person attendance is the counselor's to enter."""
    seen = {row.client.id: row.stretch for row in attendance.session_attendance(session)}
    end = session_end(session)
    rows = []
    for client in sorted(clients_of_session(session).values(),
                         key=lambda u: (u.display_name.lower(), u.id)):
        stretch = seen.get(client.id)
        if stretch is None or stretch.minutes == 0:
            rows.append(PrefillRow(client, Attendance.ABSENT, 0, None, None, None, None))
            continue
        if stretch.start > session.starts_at + TARDY:
            how = Attendance.LATE
        elif stretch.stop < end - TARDY:
            how = Attendance.LEFT_EARLY
        else:
            how = Attendance.PRESENT
        rows.append(PrefillRow(client, how, min(stretch.minutes, _length_minutes(session)),
                               SEEN_MODALITY.get(stretch.modality), stretch.modality,
                               stretch.start, stretch.stop, SEEN_REASON.get(stretch.modality)))
    return rows


# --- checking what was written --------------------------------------------------------------


def _check_parts(parts: dict[str, str] | None, fmt: NoteFormat, field: str) -> None:
    allowed = FORMAT_PARTS[fmt]
    for name in parts or {}:
        if name not in allowed:
            raise NoteError(422, f"{field}.{name}",
                            f"{FORMAT_NAMES[fmt]} has no part '{name}': its parts are "
                            f"{', '.join(allowed)}.")


def _check_participants(session: Session, fmt: NoteFormat,
                        participants: list[ParticipantBody]) -> None:
    allowed = clients_of_session(session)
    length = _length_minutes(session)
    seen: set[int] = set()
    for i, p in enumerate(participants):
        at = f"participants.{i}"
        if p.client_id not in allowed:
            raise NoteError(422, f"{at}.client_id", "Not a client of this session.")
        if p.client_id in seen:
            raise NoteError(422, f"{at}.client_id", "This client is listed twice.")
        seen.add(p.client_id)
        _check_parts(p.sections, fmt, f"{at}.sections")
        if p.minutes > length:
            raise NoteError(422, f"{at}.minutes",
                            f"At most {length} minutes: the session's length.")
        if p.attendance == Attendance.ABSENT and p.minutes != 0:
            raise NoteError(422, f"{at}.minutes", "An absent client has 0 minutes.")
        if p.attendance != Attendance.ABSENT and p.minutes == 0:
            raise NoteError(422, f"{at}.minutes",
                            "A client who attended has at least 1 minute (or is absent).")
        if p.audio_only_reason is not None and p.modality not in AUDIO_ONLY:
            raise NoteError(422, f"{at}.audio_only_reason",
                            "Only for a client who took part audio-only or by phone.")
        if p.location is not None and p.modality == NoteModality.IN_PERSON:
            raise NoteError(422, f"{at}.location",
                            "In person: the client was at the program, not elsewhere.")
        _check_times(session, p, at)


def _check_times(session: Session, p: ParticipantBody, at: str) -> None:
    if (p.started_at is None) != (p.ended_at is None):
        field = "ended_at" if p.ended_at is None else "started_at"
        raise NoteError(422, f"{at}.{field}", "Give both times, when the client joined and left, "
                                              "or neither.")
    if p.started_at is None or p.ended_at is None:
        return
    if p.ended_at <= p.started_at:
        raise NoteError(422, f"{at}.ended_at", "The client left after they joined.")
    if p.started_at < session.starts_at - ROOM_OPENS_BEFORE:
        raise NoteError(422, f"{at}.started_at", "Before the session's room opened.")
    if p.ended_at > session.ends_at + TIMES_SLACK:
        raise NoteError(422, f"{at}.ended_at", "Long after the session's end.")


def _check(session: Session, fmt: NoteFormat, shared: dict[str, str] | None,
           participants: list[ParticipantBody], format_given: bool) -> None:
    if format_given and fmt != program_format(session):
        program = program_format(session)
        raise NoteError(422, "format", f"This program writes its notes as "
                                       f"{FORMAT_NAMES[program]} ({program.value}).")
    if session.kind == SessionKind.INDIVIDUAL and shared is not None:
        raise NoteError(422, "shared", "A 1:1 note has no shared part: write it in the "
                                       "client's sections.")
    _check_parts(shared, fmt, "shared")
    _check_participants(session, fmt, participants)


def _check_complete(session: Session, note: ClinicalNote) -> None:
    """What signing needs: every part written, and each attending client's telehealth record."""
    parts = FORMAT_PARTS[note.format]
    if session.kind != SessionKind.INDIVIDUAL:
        for part in parts:
            if not (note.shared or {}).get(part, "").strip():
                raise NoteError(422, f"shared.{part}",
                                f"Write the shared part's {part} before signing.")
    for i, p in enumerate(note.participants):
        at = f"participants.{i}"
        if p.attendance == Attendance.ABSENT:
            continue
        for part in parts:
            if not str(p.sections.get(part, "")).strip():
                raise NoteError(422, f"{at}.sections.{part}",
                                f"Write this client's {part} before signing.")
        if p.modality is None:
            raise NoteError(422, f"{at}.modality", "Say how this client took part.")
        if p.modality in TELEHEALTH:
            if p.location is None:
                raise NoteError(422, f"{at}.location",
                                "Telehealth: say where the client was (home or elsewhere).")
            if not (p.identity_checked or "").strip():
                raise NoteError(422, f"{at}.identity_checked",
                                "Telehealth: say how the client's identity was confirmed.")
        if p.modality in AUDIO_ONLY and p.audio_only_reason is None:
            raise NoteError(422, f"{at}.audio_only_reason",
                            "Audio-only: say why (no video capability, or declined video).")


def _refuse_unless_ended(session: Session, doing: str) -> None:
    if session.cancelled_at is not None:
        raise NoteError(409, "session_id", "The session was cancelled: it has no note.")
    if not has_ended(session):
        raise NoteError(409, "session_id", f"The session has not ended yet: {doing} after it.")


def _refuse_if_signed(note: ClinicalNote) -> None:
    if note.signed_at is not None:
        raise NoteError(409, "id", "This note is signed and final: add an addendum instead.",
                        code="note_signed")


# --- storing --------------------------------------------------------------------------------


def _participant_rows(participants: list[ParticipantBody]) -> list[NoteParticipant]:
    return [
        NoteParticipant(
            position=i, client_id=p.client_id, attendance=Attendance(p.attendance),
            minutes=p.minutes, modality=NoteModality(p.modality) if p.modality else None,
            location=ClientLocation(p.location) if p.location else None,
            identity_checked=(p.identity_checked or "").strip() or None,
            audio_only_reason=AudioOnlyReason(p.audio_only_reason)
            if p.audio_only_reason else None,
            started_at=p.started_at, ended_at=p.ended_at, sections=dict(p.sections),
        )
        for i, p in enumerate(participants)
    ]


@dataclass
class Stored:
    note: ClinicalNote
    created: bool


def create(counselor: User, session: Session, body: NoteBody) -> Stored:
    """Start the session's note (a draft), once per id: a retry answers the stored note."""
    digest = body_hash(body)
    existing = db.session.get(ClinicalNote, str(body.id))
    if existing is not None:
        return _replay(session, existing, digest)
    _refuse_unless_ended(session, "write its note")
    other = note_of_session(session)
    if other is not None:
        raise NoteError(409, "id", "This session already has a note: open it and edit it.",
                        code="note_exists")
    fmt = NoteFormat(body.format)
    _check(session, fmt, body.shared, body.participants, format_given=True)
    now = clock.now()
    note = ClinicalNote(
        id=str(body.id), session_id=session.id, format=fmt, author_id=counselor.id,
        shared=dict(body.shared) if body.shared is not None else None,
        created_at=now, updated_at=now, body_hash=digest,
        participants=_participant_rows(body.participants),
    )
    try:
        db.session.add(note)
        db.session.flush()
        audit.record(counselor, "create", "clinical_note", note.id)
        db.session.commit()
    except IntegrityError:
        # The same id from a retry racing this one, or another note of the session.
        db.session.rollback()
        winner = db.session.get(ClinicalNote, str(body.id))
        if winner is None:
            raise NoteError(409, "id", "This session already has a note: open it and edit it.",
                            code="note_exists") from None
        return _replay(session, winner, digest)
    return Stored(note, True)


def _replay(session: Session, existing: ClinicalNote, digest: str) -> Stored:
    if existing.session_id != session.id or existing.body_hash != digest:
        raise NoteError(409, "id", "A different note was already stored under this id.")
    return Stored(existing, False)


def update(counselor: User, note: ClinicalNote, body: NotePatch
           ) -> ClinicalNote:
    """Replace a draft's format, shared part or participants (those given); a signed note is
    final (409)."""
    _refuse_if_signed(note)
    session = _session(note)
    given = body.model_fields_set
    fmt = NoteFormat(body.format) if "format" in given and body.format else note.format
    shared = (dict(body.shared) if body.shared is not None else None) if "shared" in given \
        else note.shared
    if "participants" in given and body.participants is not None:
        participants = body.participants
    else:
        participants = [_as_body(p) for p in note.participants]
    _check(session, fmt, shared, participants,
           format_given="format" in given and body.format is not None)
    note.format = fmt
    note.shared = shared
    if "participants" in given and body.participants is not None:
        note.participants.clear()
        db.session.flush()  # the old rows go before the new ones take their (note, client)
        note.participants.extend(_participant_rows(body.participants))
    note.updated_at = clock.now()
    audit.record(counselor, "update", "clinical_note", note.id)
    db.session.commit()
    return note


def _as_body(p: NoteParticipant) -> ParticipantBody:
    return ParticipantBody(
        client_id=p.client_id, attendance=p.attendance.value, minutes=p.minutes,
        modality=p.modality.value if p.modality else None, sections=dict(p.sections),
        location=p.location.value if p.location else None, identity_checked=p.identity_checked,
        audio_only_reason=p.audio_only_reason.value if p.audio_only_reason else None,
        started_at=p.started_at, ended_at=p.ended_at,
    )


def _session(note: ClinicalNote) -> Session:
    session = db.session.get(Session, note.session_id)
    assert session is not None  # a foreign key
    return session


def sign(counselor: User, note: ClinicalNote) -> ClinicalNote:
    """Sign the note: it is final from now on, and the session's attendance is attested (the
    signature the program bills from). Signing a signed note again changes nothing."""
    if note.signed_at is not None:
        return note
    session = _session(note)
    _refuse_unless_ended(session, "sign its note")
    _check_complete(session, note)
    now = clock.now()
    note.signed_at = now
    note.signed_by_id = counselor.id
    note.late_entry = now - session_end(session) > LATE_AFTER
    note.updated_at = now
    audit.record(counselor, "sign", "clinical_note", note.id)
    attendance.record_attestation(session, counselor)
    db.session.commit()
    signals.session_attested.send(session.id, counselor_id=counselor.id)
    return note


@dataclass
class StoredAddendum:
    addendum: NoteAddendum
    created: bool


def add_addendum(counselor: User, note: ClinicalNote, body: AddendumBody
                 ) -> StoredAddendum:
    """A dated addition to a signed note by its author (a draft is edited instead); once per
    id."""
    digest = body_hash(body)
    existing = db.session.get(NoteAddendum, str(body.id))
    if existing is not None:
        return _replay_addendum(counselor, note, existing, digest)
    if note.signed_at is None:
        raise NoteError(409, "id", "This note is a draft: edit it; addenda follow a signature.",
                        code="note_draft")
    addendum = NoteAddendum(id=str(body.id), note_id=note.id, author_id=counselor.id,
                            text=body.text, created_at=clock.now(), body_hash=digest)
    try:
        db.session.add(addendum)
        db.session.flush()
        audit.record(counselor, "create", "note_addendum", addendum.id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = db.session.get(NoteAddendum, str(body.id))
        if winner is None:
            raise
        return _replay_addendum(counselor, note, winner, digest)
    db.session.refresh(note)
    return StoredAddendum(addendum, True)


def _replay_addendum(counselor: User, note: ClinicalNote, existing: NoteAddendum,
                     digest: str) -> StoredAddendum:
    if (existing.note_id != note.id or existing.author_id != counselor.id
            or existing.body_hash != digest):
        raise NoteError(409, "id", "A different addendum was already stored under this id.")
    return StoredAddendum(existing, False)


# --- the name warning -----------------------------------------------------------------------


def _names_in(text: str, names: dict[int, str]) -> list[str]:
    found = []
    for name in sorted(set(names.values())):
        if name.strip() and re.search(rf"(?<!\w){re.escape(name.strip())}(?!\w)", text,
                                      re.IGNORECASE):
            found.append(name.strip())
    return found


def warnings(note: ClinicalNote) -> list[dict[str, str]]:
    """Parts that name a client of the session where that client's chart is not the only one
    they go into: the shared part (every participant's chart) naming any client, a client's
    own part naming another client. The counselor sees them and rewrites; nothing is refused,
    since a name can also be an ordinary word."""
    session = _session(note)
    clients = {cid: u.display_name for cid, u in clients_of_session(session).items()}
    out = []
    for part, text in (note.shared or {}).items():
        for name in _names_in(text, clients):
            out.append({"field": f"shared.{part}", "message": (
                f"Names {name}: the shared part goes into every participant's chart, so it "
                "must not name or identify other clients.")})
    for i, p in enumerate(note.participants):
        others = {cid: n for cid, n in clients.items()
                  if cid != p.client_id and n.strip().lower() != _name(clients, p).lower()}
        for part, text in p.sections.items():
            for name in _names_in(str(text), others):
                out.append({"field": f"participants.{i}.sections.{part}", "message": (
                    f"Names {name}: this part goes into {_name(clients, p)}'s chart, where "
                    "other clients must not be named.")})
    return out


def _name(clients: dict[int, str], p: NoteParticipant) -> str:
    return clients.get(p.client_id, "this client").strip()


# --- answers --------------------------------------------------------------------------------


def _person(user_id: int | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return {"id": user_id, "display_name": user.display_name if user else ""}


def session_json(session: Session) -> dict[str, Any]:
    return {"id": session.id, "program_id": session.program_id, "kind": session.kind.value,
            "title": session.title, "starts_at": session.starts_at.isoformat(),
            "ends_at": session.ends_at.isoformat(), "ended": has_ended(session)}


def participant_json(p: NoteParticipant) -> dict[str, Any]:
    return {
        "client": _person(p.client_id), "attendance": p.attendance.value, "minutes": p.minutes,
        "modality": p.modality.value if p.modality else None,
        "location": p.location.value if p.location else None,
        "identity_checked": p.identity_checked,
        "audio_only_reason": p.audio_only_reason.value if p.audio_only_reason else None,
        "started_at": p.started_at.isoformat() if p.started_at else None,
        "ended_at": p.ended_at.isoformat() if p.ended_at else None,
        "sections": dict(p.sections),
    }


def addendum_json(a: NoteAddendum) -> dict[str, Any]:
    return {"id": a.id, "author": _person(a.author_id), "text": a.text,
            "created_at": a.created_at.isoformat(), "late_entry": True}


def _signature_json(note: ClinicalNote) -> dict[str, Any]:
    return {
        "status": "signed" if note.signed_at else "draft",
        "signed_by": _person(note.signed_by_id),
        "signed_at": note.signed_at.isoformat() if note.signed_at else None,
        "late_entry": note.late_entry,
        "addenda": [addendum_json(a) for a in note.addenda],
    }


def note_json(note: ClinicalNote) -> dict[str, Any]:
    return {
        "id": note.id, "session": session_json(_session(note)), "format": note.format.value,
        "parts": list(FORMAT_PARTS[note.format]), "author": _person(note.author_id),
        "shared": note.shared, "participants": [participant_json(p) for p in note.participants],
        **_signature_json(note), "warnings": warnings(note),
        "created_at": note.created_at.isoformat(), "updated_at": note.updated_at.isoformat(),
    }


def chart_json(p: NoteParticipant, facilitator: bool) -> dict[str, Any]:
    """One client's part of a note, with the shared part: what their chart holds."""
    note = p.note
    return {
        "note_id": note.id, "session": session_json(_session(note)),
        "format": note.format.value, "parts": list(FORMAT_PARTS[note.format]),
        "shared": note.shared, "participant": participant_json(p), **_signature_json(note),
        "facilitator": facilitator,
    }


def prefill_json(session: Session) -> dict[str, Any]:
    fmt = program_format(session)
    note = note_of_session(session)
    return {
        "session": session_json(session), "format": fmt.value, "parts": list(FORMAT_PARTS[fmt]),
        "shared_part": session.kind != SessionKind.INDIVIDUAL,
        "note_id": note.id if note else None,
        "participants": [
            {"client": {"id": r.client.id, "display_name": r.client.display_name},
             "attendance": r.attendance.value, "minutes": r.minutes,
             "modality": r.modality.value if r.modality else None,
             "seen_modality": r.seen_modality.value if r.seen_modality else None,
             "started_at": r.started_at.isoformat() if r.started_at else None,
             "ended_at": r.ended_at.isoformat() if r.ended_at else None,
             "audio_only_reason": r.audio_only_reason.value if r.audio_only_reason else None}
            for r in prefill(session)
        ],
    }
