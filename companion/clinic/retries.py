"""Writes a phone or a flaky link may send twice carry a client-made id (a UUID) and are stored
once: admissions, phase changes, discharges, cancelling a session, adding a group member.

The first request under an id does its write, and its service keeps the answer under the id in
the write's own transaction (``keep``, just before the service commits): the write and its
answer commit together or not at all. A retry with the same request gets that first answer
again, status and JSON, without writing; the same id with another request (another body,
another target, another person) is refused with 409. Two copies of one request racing each
other: the loser's write fails (the id's primary key, or the rule the winner's write now
breaks), it is rolled back and answered with the winner's answer. A refused request keeps
nothing, so it may be corrected and sent again under the same id.

Answers may quote a client's record, so they are kept a few days only (``forget_old``, a job):
long enough for any retry, and a retry after that meets the write's own rules (an admission
sent again is "already enrolled").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import User
from companion.clinic.models import RetriedWrite
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db

KEEP_ANSWERS = timedelta(days=7)
Answer = tuple[dict[str, Any], int]


class RetryError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


@dataclass(frozen=True)
class Retry:
    """One write as asked: its client-made id (None: sent without one, nothing is kept), who
    asked, a hash of what was asked, and how its answer is made from the record it wrote."""

    key: str | None
    actor_id: int
    request_hash: str
    status: int
    render: Callable[[Any], dict[str, Any]]


def asked(actor: User, body: BaseModel, action: str, status: int,
          render: Callable[[Any], dict[str, Any]]) -> Retry:
    """The write ``body`` asks for; ``action`` names it and its target ("discharge 12"), so
    one id sent to another record is another request. The body's ``id`` is the key."""
    key: UUID | None = getattr(body, "id", None)
    asked_for = {"action": action, "body": body.model_dump(mode="json", exclude={"id"})}
    digest = hashlib.sha256(json.dumps(asked_for, sort_keys=True, separators=(",", ":"))
                            .encode()).hexdigest()
    return Retry(str(key) if key is not None else None, actor.id, digest, status, render)


def once(retry: Retry, write: Callable[[], Any]) -> Answer:
    """The answer to this write: the first one if the id was answered already, else ``write``
    runs (its service calls ``keep``) and the record it returns is rendered."""
    first = _first_answer(retry)
    if first is not None:
        return first
    try:
        record = write()
    except (IntegrityError, ServiceError):
        db.session.rollback()
        first = _first_answer(retry)  # a copy of this request, racing it, won
        if first is None:
            raise
        return first
    return retry.render(record), retry.status


def keep(retry: Retry | None, record: Any, record_type: str, record_id: object,
         subject_id: int | None = None) -> None:
    """In the write's transaction, before its commit: the answer to it, kept under its id.
    The flush makes a racing copy's insert fail on the id's primary key."""
    if retry is None or retry.key is None:
        return
    db.session.flush()
    db.session.expire(record)  # rendered from the rows as written, relationships and all
    db.session.add(RetriedWrite(
        id=retry.key, actor_id=retry.actor_id, request_hash=retry.request_hash,
        record_type=record_type, record_id=str(record_id), subject_id=subject_id,
        status=retry.status, answer=retry.render(record), created_at=clock.now()))
    db.session.flush()


def forget_old(now: datetime) -> int:
    """Answers older than KEEP_ANSWERS go (the periodic job); returns how many."""
    gone: Any = db.session.execute(delete(RetriedWrite).where(
        RetriedWrite.created_at < now - KEEP_ANSWERS))
    db.session.commit()
    return max(gone.rowcount or 0, 0)


def _first_answer(retry: Retry) -> Answer | None:
    if retry.key is None:
        return None
    kept = db.session.get(RetriedWrite, retry.key)
    if kept is None:
        return None
    if (kept.actor_id, kept.request_hash) != (retry.actor_id, retry.request_hash):
        # Whoever used it and for what stays unsaid: a reused or guessed id is simply refused.
        raise RetryError(409, "id", "This id was already used for another request: send a new "
                         "request with a new id.")
    actor = db.session.get(User, retry.actor_id)
    audit.record(actor, "replay", kept.record_type, kept.record_id, subject_id=kept.subject_id)
    db.session.commit()
    return kept.answer, kept.status
