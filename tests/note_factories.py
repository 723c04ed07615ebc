"""Sessions that ended, what the server saw of them, and clinical notes, for tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from companion.accounts.models import User
from companion.clinic.models import Group, Session, SessionKind
from companion.core import clock
from companion.core.extensions import db
from companion.notes.models import (
    FORMAT_PARTS,
    Attendance,
    ClientLocation,
    ClinicalNote,
    NoteFormat,
    NoteModality,
    NoteParticipant,
)
from companion.rooms.models import AttendanceInterval, Modality


def ended_session(world: Any, group: Group | None = None, *, counselor: User | None = None,
                  client: User | None = None, start: datetime | None = None,
                  hours: float = 3, program_id: int | None = None) -> Session:
    """A session that is over: by default it started four hours ago and ran three."""
    start = start or clock.now() - timedelta(hours=4)
    lead = counselor or (group.counselor if group else None)
    assert lead is not None
    session = Session(
        program_id=program_id or world.program.id,
        kind=SessionKind.GROUP if group else SessionKind.INDIVIDUAL,
        group_id=group.id if group else None, counselor_id=lead.id,
        client_id=client.id if client else None, title=group.name if group else "1:1",
        starts_at=start, ends_at=start + timedelta(hours=hours))
    db.session.add(session)
    db.session.commit()
    return session


def present(session: Session, user: User, minutes: float | None = None, *,
            after: float = 0, modality: Modality = Modality.VIDEO) -> None:
    """The server saw ``user`` in the room from ``after`` minutes in, for ``minutes``."""
    start = session.starts_at + timedelta(minutes=after)
    end = start + timedelta(minutes=minutes) if minutes is not None else session.ends_at
    db.session.add(AttendanceInterval(
        session_id=session.id, user_id=user.id, started_at=start, ended_at=end,
        modality=modality, connection_id=f"c-{user.id}-{uuid.uuid4().hex[:6]}"))
    db.session.commit()


def sections(fmt: str = "dap", text: str = "Engaged; practised urge surfing") -> dict[str, str]:
    return {part: f"{part.title()}: {text}" for part in FORMAT_PARTS[NoteFormat(fmt)]}


def participant(client: User, *, attendance: str = "present", minutes: int = 180,
                modality: str = "video", location: str | None = "home",
                identity_checked: str | None = "Known to me on video",
                audio_only_reason: str | None = None, fmt: str = "dap",
                **more: Any) -> dict[str, Any]:
    """A participant's part, complete enough to sign."""
    if modality == "in_person":
        location = None
    if modality in ("audio_only", "phone") and audio_only_reason is None:
        audio_only_reason = "no_video_capability"
    body = {"client_id": client.id, "attendance": attendance, "minutes": minutes,
            "modality": modality, "sections": sections(fmt), "location": location,
            "identity_checked": identity_checked, "audio_only_reason": audio_only_reason}
    return {**body, **more}


def note_body(participants: list[dict[str, Any]], *, fmt: str = "dap",
              shared: dict[str, str] | None | bool = True) -> dict[str, Any]:
    """A whole note: ``shared=True`` writes every part of the shared section."""
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "format": fmt, "participants": participants}
    if shared is True:
        body["shared"] = sections(fmt, "Topic: high-risk situations; skills practice")
    elif shared:
        body["shared"] = shared
    return body


def stored_note(session: Session, author: User, clients: list[User], *, signed: bool = False,
                minutes: int = 180) -> ClinicalNote:
    """A complete note written straight to the database (signed when asked)."""
    now = clock.now()
    note = ClinicalNote(
        id=str(uuid.uuid4()), session_id=session.id, format=NoteFormat.DAP,
        author_id=author.id, created_at=now, updated_at=now, body_hash="0" * 64,
        shared=sections() if session.kind == SessionKind.GROUP else None,
        participants=[
            NoteParticipant(position=i, client_id=c.id, attendance=Attendance.PRESENT,
                            minutes=minutes, modality=NoteModality.VIDEO,
                            location=ClientLocation.HOME, identity_checked="Known on video",
                            sections=sections())
            for i, c in enumerate(clients)],
    )
    db.session.add(note)
    db.session.flush()
    if signed:  # a draft's rows first: the database refuses rows added to a signed note
        note.signed_at = now
        note.signed_by_id = author.id
    db.session.commit()
    return note


def matrix_notes(made: dict[str, User], others: dict[str, User]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per counselor: an ended session of their group without a note, one with a complete
    draft, one with a signed note."""

    def records(counselor: User, client: User) -> dict[str, Any]:
        group = db.session.query(Group).filter_by(counselor_id=counselor.id).one()
        sessions = [ended_session(None, group, program_id=group.program_id) for _ in range(3)]
        draft = stored_note(sessions[1], counselor, [client])
        signed = stored_note(sessions[2], counselor, [client], signed=True)
        return {"session": sessions[0].id, "note": draft.id, "signed_note": signed.id,
                "program": group.program_id}

    return (records(made["counselor"], made["client"]),
            records(others["counselor"], others["client"]))
