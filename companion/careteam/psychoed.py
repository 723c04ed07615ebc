"""Psychoeducation: short modules (companion/content/psychoed.json) a counselor assigns and a
client marks done."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import User
from companion.careteam.models import PsychoedAssignment
from companion.core import audit, clock
from companion.core.extensions import db

CONTENT = Path(__file__).resolve().parent.parent / "content" / "psychoed.json"


@functools.cache
def modules() -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(CONTENT.read_text(encoding="utf-8"))
    return list(data["modules"])


def module(code: str) -> dict[str, Any] | None:
    return next((m for m in modules() if m["code"] == code), None)


def assignment_json(a: PsychoedAssignment) -> dict[str, Any]:
    spec = module(a.module) or {"title": a.module, "minutes": None, "audience": "client"}
    by = db.session.get(User, a.assigned_by_id)
    return {
        "id": a.id, "client_id": a.client_id, "module": a.module, "title": spec["title"],
        "minutes": spec["minutes"], "note": a.note,
        "assigned_by": by.display_name if by else None,
        "assigned_at": a.assigned_at.isoformat(),
        "completed_at": a.completed_at.isoformat() if a.completed_at else None,
    }


def assign(counselor: User, client_id: int, code: str,
           note: str) -> tuple[PsychoedAssignment, bool]:
    """Assign a module (assigning it again answers with the assignment already made)."""
    existing = _find(client_id, code)
    if existing is not None:
        return existing, False
    made = PsychoedAssignment(client_id=client_id, module=code, assigned_by_id=counselor.id,
                              assigned_at=clock.now(), note=note.strip())
    try:
        db.session.add(made)
        db.session.flush()
        audit.record(counselor, "create", "psychoed_assignment", made.id, subject_id=client_id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = _find(client_id, code)
        if winner is None:
            raise
        return winner, False
    return made, True


def _find(client_id: int, code: str) -> PsychoedAssignment | None:
    return db.session.scalar(select(PsychoedAssignment).where(
        PsychoedAssignment.client_id == client_id, PsychoedAssignment.module == code))


def complete(client: User, assignment: PsychoedAssignment) -> PsychoedAssignment:
    """Mark done (once: the first time stands)."""
    if assignment.completed_at is None:
        assignment.completed_at = clock.now()
        audit.record(client, "complete", "psychoed_assignment", assignment.id,
                     subject_id=client.id)
        db.session.commit()
    return assignment


def assignments(client_id: int) -> Any:
    return select(PsychoedAssignment).where(PsychoedAssignment.client_id == client_id).order_by(
        PsychoedAssignment.assigned_at.desc(), PsychoedAssignment.id.desc())
